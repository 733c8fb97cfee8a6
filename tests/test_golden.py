"""The example hub builds to exactly its golden output (tests/golden/; regenerate with
`python scripts/update_golden.py` when a change is meant to change it)."""

from __future__ import annotations

import difflib
from pathlib import Path

from golden import build_example, read_golden, split


def test_the_example_hub_builds_to_its_golden_output(tmp_path: Path) -> None:
    text, hashes = split(build_example(tmp_path / "site"))
    golden_text, golden_hashes = read_golden()
    assert sorted(text) == sorted(golden_text), "files added or gone: run scripts/update_golden.py"
    for path, data in text.items():
        if data != golden_text[path]:
            diff = "\n".join(list(difflib.unified_diff(
                golden_text[path].decode("utf-8", "replace").splitlines(),
                data.decode("utf-8", "replace").splitlines(), "golden/" + path, "built/" + path,
                lineterm=""))[:40])
            raise AssertionError(f"{path} differs from its golden file:\n{diff}")
    assert hashes == golden_hashes
