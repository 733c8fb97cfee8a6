"""Errors an editor or a deploy owner can cause, and how they are shown.

Every stage collects its problems into a :class:`Problems` list instead of raising at the first one,
so one run reports all of them. Only the CLI turns them into an exit code.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_CONTENT = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is, what it is, how to fix it."""

    path: str
    message: str
    line: int | None = None
    hint: str | None = None
    warning: bool = False

    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        text = f"{self.location()}: {kind}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class Problems:
    """An ordered collection of problems, filled by every stage of a run."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self._items: list[Problem] = []

    def rel(self, path: Path | str) -> str:
        """A path as the editor knows it: relative to the hub's root folder."""
        p = Path(path)
        if self.root is not None:
            try:  # the common case, without touching the disk
                return p.relative_to(self.root).as_posix()
            except ValueError:
                pass
            try:
                return p.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                pass
        return p.as_posix()

    def error(
        self, path: Path | str, message: str, line: int | None = None, hint: str | None = None
    ) -> None:
        self._items.append(Problem(self.rel(path), message, line, hint))

    def warn(
        self, path: Path | str, message: str, line: int | None = None, hint: str | None = None
    ) -> None:
        self._items.append(Problem(self.rel(path), message, line, hint, warning=True))

    def extend(self, problems: Iterable[Problem]) -> None:
        self._items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self._items if not p.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self._items if p.warning]

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise BuildFailed(self.sorted())

    def sorted(self) -> list[Problem]:
        """Stable order for reports: by file, then line, then message."""
        return sorted(self._items, key=lambda p: (p.path, p.line or 0, p.message))


class HubgenError(Exception):
    """Base of every error the CLI knows how to show; carries its exit code."""

    exit_code = EXIT_CONTENT

    def lines(self) -> list[str]:
        return [str(self)]


class UsageError(HubgenError):
    """The command line itself is wrong (unknown type, missing argument...)."""

    exit_code = EXIT_USAGE


class BuildFailed(HubgenError):
    """The input has errors; every problem of the run is attached."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if not p.warning]
        super().__init__(f"{len(errors)} error(s)")

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def did_you_mean(word: str, choices: Iterable[str], list_known: bool = True) -> str | None:
    """The closest known key to a misspelt one, as a hint; else the known keys, or None."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if options and list_known:
        return "known: " + ", ".join(options)
    return None
