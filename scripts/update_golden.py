"""Rebuild the golden output of the example hub (tests/golden/) from the code as it is now.

    python scripts/update_golden.py

Run it after a change meant to change what the example hub builds to, and review the diff.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from golden import GOLDEN, HASHES, build_example, split


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hubgen-golden-") as scratch:
        text, hashes = split(build_example(Path(scratch) / "site"))
    shutil.rmtree(GOLDEN, ignore_errors=True)
    for path, data in text.items():
        target = GOLDEN / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    HASHES.write_text("".join(f"{digest}  {path}\n" for path, digest in sorted(hashes.items())),
                      encoding="utf-8")
    print(f"wrote {len(text)} files to {GOLDEN.relative_to(Path.cwd())} and "
          f"{len(hashes)} hashes to {HASHES.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
