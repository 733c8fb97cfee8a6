"""Limits on what one content file may hold: no editor's article comes near them, and past them
the Markdown renderer takes minutes (nested brackets: its link patterns look for a match from
every '[') or exhausts Python's stack (lists nested hundreds deep). Checked before rendering, so
such a file is an error at its line, never a hang."""

from __future__ import annotations

import re

MAX_NESTING = 32  # lists and block quotes inside each other
MAX_BRACKETS = 256  # '[' in one paragraph (links and images take two each)
MAX_TOPICS = 20  # topics of one item: each is a page, and every listing shows the topics
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s")
_QUOTE = re.compile(r"^\s*((?:>\s?)+)")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def body_problem(body: str) -> tuple[int, str, str] | None:
    """(line within the body, what is wrong, how to fix it) for the first limit a Markdown body
    passes, or None."""
    fenced = False
    brackets, block_start = 0, 0
    for number, line in enumerate(body.split("\n")):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        if not line.strip():
            brackets, block_start = 0, number + 1
            continue
        quote = _QUOTE.match(line)
        depth = quote.group(1).count(">") if quote else 0
        item = _LIST.match(line)
        if item:
            depth += len(item.group(1).expandtabs(4)) // 4 + 1
        if depth > MAX_NESTING:
            return (number, f"lists or quotes nested more than {MAX_NESTING} levels deep",
                    "flatten the list: no reader follows that many levels")
        brackets += line.count("[")
        if brackets > MAX_BRACKETS:
            return (block_start, f"a paragraph with more than {MAX_BRACKETS} '[' characters",
                    "split the paragraph, or put the text in a code block (```) if it is code")
    return None


def control_character(text: str) -> str | None:
    """The first control character, lone surrogate or non-character in a text, as U+XXXX."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None
