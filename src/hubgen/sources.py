"""Which files of the hub a build may read: the one gate that every read of the hub goes through.

A build publishes what it reads, so what it may read is decided here, once:

- a file must lie inside its *area* once every symbolic link is followed: `content/` for items,
  pages and the files beside them, the hub's `themes/` for its themes, hubgen's own themes, and
  `hub.toml` itself. A link that leads out of its area (`cover.png -> /proc/self/environ`,
  `guide.pdf -> ../../hub.toml`) is refused with a message naming the file, and nothing of it is
  read; a link that stays inside its area is followed;
- it must be a regular file: a pipe would hang the build, and a device, a socket or a /proc file
  is never content;
- a text file (Markdown, TOML, templates) is read only up to a size no editor's file reaches.

Paths keep the name the editor gave them (messages and URLs use it); `vet` returns the real path
that is then opened, without following a link again.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hubgen.digests import digest, digest_stream
from hubgen.errors import Problems

MAX_TEXT_BYTES = 4 * 1024 * 1024  # Markdown, TOML, templates: 4 MiB is hundreds of pages of text
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


class Refused(Exception):
    """A file the build may not read; `reason` and `hint` are written for the editor."""

    def __init__(self, path: Path, reason: str, hint: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.hint = path, reason, hint


def builtin_themes_dir() -> Path:
    """Installed wheel: hubgen/themes; editable checkout: the repo's themes/ folder."""
    package = Path(__file__).resolve().parent
    packaged = package / "themes"
    return packaged if packaged.is_dir() else package.parent.parent / "themes"


@dataclass(frozen=True)
class Area:
    """A folder whose files a build may read: `folder` as the hub names it, `real` resolved."""

    label: str  # as messages name it: "content/", "themes/", "hubgen's themes"
    folder: Path
    real: Path | None  # None: the folder leads out of the hub, so nothing in it may be read


class HubFiles:
    """The gate for one hub folder. Holds nothing but resolved folder names, so it is cheap to
    make wherever a stage needs it and safe to share between threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = root.resolve()
        builtin = builtin_themes_dir()
        self.areas = (self._area("content/", root / "content"),
                      self._area("themes/", root / "themes"),
                      Area("hubgen's themes", builtin, builtin.resolve()))

    def _area(self, label: str, folder: Path) -> Area:
        real = folder.resolve()
        return Area(label, folder, real if real.is_relative_to(self.real_root) else None)

    def area_of(self, path: Path) -> Area | None:
        """The area whose folder holds `path` as written (before any link is followed)."""
        for area in self.areas:
            if path.is_relative_to(area.folder) or (
                    area.real is not None and path.is_relative_to(area.real)):
                return area
        return None

    def vet(self, path: Path) -> Path:
        """The real path of `path` if the build may read it; else Refused says why."""
        if path == self.root / "hub.toml":
            allowed: Path | None = self.real_root
            label = "the hub folder"
        else:
            area = self.area_of(path)
            if area is None:
                raise Refused(path, "lies outside the hub's content/ and themes/ folders",
                              "hubgen reads only the hub's own files")
            allowed, label = area.real, area.label
        if allowed is None:
            raise Refused(path, f"its folder is a link that leads out of the hub ({label})",
                          "put the folder itself inside the hub instead of a link to it")
        try:
            real = Path(os.path.realpath(path, strict=True))
            info = os.stat(real)
        except FileNotFoundError:
            raise Refused(path, "does not exist (or is a link to nothing)",
                          "check the name, or add the file") from None
        except OSError as exc:
            raise Refused(path, f"cannot be read ({exc.strerror or exc})",
                          "check the file's permissions, or replace a looping link") from None
        if not real.is_relative_to(allowed):
            raise Refused(path, f"is a link to a file outside {label}",
                          "hubgen never publishes files from outside the hub: put the file "
                          "itself here instead of a link")
        if not stat.S_ISREG(info.st_mode):
            kind = "folder" if stat.S_ISDIR(info.st_mode) else "pipe, device or socket"
            raise Refused(path, f"is a {kind}, not a regular file",
                          "only ordinary files can be published")
        return real

    def read(self, path: Path, limit: int | None = MAX_TEXT_BYTES) -> bytes:
        """The bytes of a file the build may read; Refused if it may not or is over `limit`."""
        fd, _ = self._open(path, limit)
        try:
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read() if limit is None else handle.read(limit + 1)
        finally:
            os.close(fd)
        if limit is not None and len(data) > limit:  # it grew after it was measured
            raise Refused(path, f"is over {limit // 1024 // 1024} MiB",
                          "split it, or move large data into a download")
        return data

    def digest(self, path: Path) -> str:
        """cache.digest of the file's bytes, read in pieces (a download may be large)."""
        fd, size = self._open(path, None)
        try:
            with os.fdopen(fd, "rb", closefd=False) as handle:
                found = digest_stream(size, iter(lambda: handle.read(1 << 20), b""))
                if found is not None:
                    return found
                handle.seek(0)  # it changed while we read: hash what is there now
                return digest(handle.read())
        finally:
            os.close(fd)

    def _open(self, path: Path, limit: int | None) -> tuple[int, int]:
        real = self.vet(path)
        try:
            fd = os.open(real, _OPEN_FLAGS)
        except OSError as exc:  # replaced by a link or removed since vet()
            raise Refused(path, f"cannot be read ({exc.strerror or exc})",
                          "save the file again and rebuild") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise Refused(path, "is not a regular file", "only ordinary files can be read")
        if limit is not None and info.st_size > limit:
            os.close(fd)
            raise Refused(path, f"is {info.st_size / 1024 / 1024:.1f} MiB; a text file may be "
                          f"at most {limit // 1024 // 1024} MiB",
                          "split it, or move large data into a download")
        return fd, info.st_size

    def files(self, folder: Path, problems: Problems | None,
              skip: Callable[[str], bool] = lambda name: False,
              recursive: bool = True) -> list[Path]:
        """Every regular file the build may read under `folder`, sorted, by the names the hub
        gives them. Each entry refused (a link out of its area, a special file, a folder link
        loop) is recorded in `problems`, if given, and left out."""
        found: list[Path] = []
        try:
            self.vet_folder(folder)
        except Refused as refused:
            if problems is not None:
                problems.error(refused.path, refused.reason, hint=refused.hint)
            return found
        seen: set[tuple[int, int]] = set()
        self._visit(folder, problems, skip, recursive, seen, found)
        return sorted(found)

    def vet_folder(self, folder: Path) -> Path:
        """The real path of a folder the build may list; Refused if it leads out of its area."""
        area = self.area_of(folder)
        if area is None or area.real is None:
            raise Refused(folder, "is a link that leads out of the hub",
                          "put the folder itself inside the hub instead of a link to it")
        real = folder.resolve()
        if not real.is_relative_to(area.real):
            raise Refused(folder, f"is a link to a folder outside {area.label}",
                          "hubgen never publishes files from outside the hub: put the folder "
                          "itself here instead of a link")
        return real

    def _visit(self, folder: Path, problems: Problems | None, skip: Callable[[str], bool],
               recursive: bool, seen: set[tuple[int, int]], found: list[Path]) -> None:
        try:
            info = os.stat(folder)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        if (info.st_dev, info.st_ino) in seen:
            return  # a link back to a folder already listed: listed once
        seen.add((info.st_dev, info.st_ino))
        for entry in entries:
            if skip(entry.name):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir():  # follows a link: vet it first
                    if recursive:
                        self.vet_folder(path)
                        self._visit(path, problems, skip, recursive, seen, found)
                    continue
                self.vet(path)
            except Refused as refused:
                if problems is not None:
                    problems.error(refused.path, refused.reason, hint=refused.hint)
                continue
            except OSError:  # removed while we looked
                continue
            found.append(path)
