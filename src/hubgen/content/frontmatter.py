"""Front matter: a content file split into its YAML 1.2 header and its Markdown body, with the
line of every key kept for messages.

Front matter is YAML 1.2 (ruamel.yaml), not PyYAML's YAML 1.1: `NO` stays the text "NO", `12:30`
stays a text, and a value of the wrong type is an error naming its line, never a silent change.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from frontmatter.default_handlers import YAMLHandler
from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.scalarbool import ScalarBoolean

from hubgen.errors import Problems
from hubgen.sources import MAX_TEXT_BYTES, HubFiles, Refused


class _Constructor(RoundTripConstructor):
    """Dates stay text here and are parsed by the validator, which can name the line."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_str)


class _SafeConstructor(SafeConstructor):
    """The same for the fast loader: dates stay text."""


_SafeConstructor.add_constructor("tag:yaml.org,2002:timestamp",
                                 _SafeConstructor.construct_yaml_str)

_LOADERS = threading.local()  # a YAML object is not safe to share between threads


def _loader(typ: str, constructor: type[SafeConstructor]) -> YAML:
    """One YAML object per thread and type: a YAML object is not safe to share between threads.
    Both types read YAML 1.2 unless a file says otherwise, and refuse duplicate keys."""
    loader = getattr(_LOADERS, typ, None)
    if loader is None:
        loader = YAML(typ=typ)
        loader.Constructor = constructor
        loader.allow_duplicate_keys = False
        setattr(_LOADERS, typ, loader)
    return cast(YAML, loader)


def _yaml() -> YAML:
    """The round-trip loader: each key's line, and a `%YAML 1.1` directive heeded."""
    return _loader("rt", _Constructor)


def _fast_yaml() -> YAML:
    """The same YAML 1.2 reading through libyaml's C parser (ruamel.yaml.clib) where installed,
    several times faster: the line of each key comes from the parsed nodes."""
    return _loader("safe", _SafeConstructor)


MAX_VALUES = 10_000  # values in one file's front matter once aliases are expanded
MAX_DEPTH = 20  # lists and mappings inside each other


class TooComplex(Exception):
    """Front matter beyond what any editor writes: aliases that expand without end (a "billion
    laughs"), or lists nested hundreds deep. Refused before anything is expanded."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def check_limits(root: Node | None) -> None:
    """Refuse a composed document whose values, with every alias expanded, number more than
    MAX_VALUES, that nests deeper than MAX_DEPTH, or whose alias refers to its own container.
    Aliases share their node, so sizes are counted once per node, never expanded."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, finished = stack.pop()
        line = node.start_mark.line + 1
        if finished:
            open_nodes.discard(id(node))
            size = sizes[id(node)] = 1 + sum(sizes[id(c)] for c in _children(node))
            if size > MAX_VALUES:
                raise TooComplex(line, f"the front matter grows to more than {MAX_VALUES:,} "
                                 "values once its aliases (*name) are expanded")
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise TooComplex(line, "an alias (*name) refers to the list or mapping it is in")
        if depth > MAX_DEPTH:
            raise TooComplex(line, f"lists or mappings nested more than {MAX_DEPTH} levels deep")
        open_nodes.add(id(node))
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node)
                     if id(child) not in sizes)


def _deepest_line(fm: str) -> int:
    """The line where nesting first passes MAX_DEPTH (by brackets and indentation), for a
    document too deep even to be composed."""
    flow = 0
    for number, text in enumerate(fm.split("\n"), start=1):
        flow += sum(text.count(c) for c in "[{") - sum(text.count(c) for c in "]}")
        indent = (len(text) - len(text.lstrip(" -"))) // 2
        if flow > MAX_DEPTH or indent > MAX_DEPTH:
            return number
    return 1


def _compose(loader: YAML, fm: str) -> Node | None:
    try:
        node = loader.compose(fm)
    except RecursionError:
        raise TooComplex(_deepest_line(fm),
                         f"lists or mappings nested more than {MAX_DEPTH} levels deep") from None
    check_limits(node)
    return cast("Node | None", node)


def load_front_matter(fm: str) -> tuple[Any, dict[str, int]]:
    """Front matter as plain data, and each top-level key's line (1 = the first line after the
    opening '---'). Raises ruamel's YAMLError, with the line, on invalid YAML, and TooComplex
    before expanding what no editor writes."""
    if not fm.lstrip().startswith("%"):  # no %YAML directive, which only the round trip heeds
        loader = _fast_yaml()
        try:
            node = _compose(loader, fm)
            # Keys merged in (<<) have no line of their own: the round trip sorts those out.
            plain = isinstance(node, MappingNode) and \
                not any(key.tag.endswith(":merge") for key, _ in node.value)
            data = loader.constructor.construct_document(node) if node is not None else None
        except YAMLError:  # the round trip says what is wrong, in its own (clearer) words
            node = None
        else:
            if not isinstance(node, MappingNode):
                return data, {}
            if plain and isinstance(data, dict) and len(data) == len(node.value):
                return ({str(k): _plain(v) for k, v in data.items()},
                        {str(key): key_node.start_mark.line + 1
                         for key, (key_node, _) in zip(data, node.value, strict=True)})
    loader = _yaml()
    node = _compose(loader, fm)
    data = loader.constructor.construct_document(node) if node is not None else None
    if not isinstance(data, dict):
        return data, {}
    found = data.lc.data  # type: ignore[attr-defined]  # a key merged in (<<) has no line
    return ({str(k): _plain(v) for k, v in data.items()},
            {str(k): found[k][0] + 1 for k in data if k in found})


# python-frontmatter finds and splits off the front matter; load_front_matter reads it.
HANDLER = YAMLHandler()


@dataclass(frozen=True)
class Source:
    """A content file split into front matter and body, with line numbers kept."""

    path: Path
    meta: dict[str, Any]
    lines: dict[str, int]  # key -> line in the file
    body: str
    body_line: int


def read_source(files: HubFiles, path: Path, problems: Problems) -> Source | None:
    """Read one content file through the hub's gate and split it; on any problem record it and
    return None."""
    raw = read_refusing(files, path, problems)
    return None if raw is None else parse_source(path, raw, problems)


def read_refusing(files: HubFiles, path: Path, problems: Problems,
                  limit: int | None = MAX_TEXT_BYTES) -> bytes | None:
    """A file's bytes, or None with the reason recorded when the build may not read it."""
    try:
        return files.read(path, limit)
    except Refused as refused:
        problems.error(path, refused.reason, hint=refused.hint)
        return None


def parse_source(path: Path, raw: bytes, problems: Problems) -> Source | None:
    """Split one file's bytes; on any problem record it and return None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.error(path, f"not UTF-8 text (byte {exc.start})", line,
                       "save the file as UTF-8 in your editor")
        return None
    # Windows (CR LF) and old Mac (CR) line endings both read as LF.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not HANDLER.detect(text):
        problems.error(path, "no front matter", 1,
                       "the file must start with a line '---', then title, personas and phase, "
                       "then another '---'")
        return None
    try:
        fm, body = HANDLER.split(text)
    except ValueError:
        problems.error(path, "front matter is not closed", 1,
                       "add a line '---' after the last front matter key")
        return None
    try:
        data, lines = load_front_matter(fm)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = (exc.problem or "invalid YAML").strip()
        problems.error(path, f"invalid front matter: {problem}", line,
                       "check the indentation, and put quotes around values containing ': '")
        return None
    except YAMLError as exc:
        problems.error(path, f"invalid front matter: {exc}", 1)
        return None
    except TooComplex as exc:
        problems.error(path, f"front matter refused: {exc.message}", exc.line,
                       "write the values out plainly; front matter needs no deep nesting or "
                       "repeated aliases")
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.error(path, "front matter must be 'key: value' lines", 2)
        return None
    body_line = fm.count("\n") + 2
    return Source(path, {str(k): v for k, v in data.items()}, lines, body, body_line)


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers -> plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool | ScalarBoolean):  # int subclasses: test them first
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value
