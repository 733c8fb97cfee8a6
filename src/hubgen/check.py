"""`hubgen check`: the build pipeline into a scratch folder, then audits of what it wrote.

Nothing in the hub's output/ is touched. The audits: the no-leak rule over every public file, and
the consent-form lint.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hubgen.audit import audit_files, lint_form, read_tree, secrets_of
from hubgen.build import BuildOptions, build
from hubgen.errors import BuildFailed, Problem
from hubgen.render.links import check_links, unlocked_also


def run_check(root: Path, base_url: str | None = None, dev: bool = False) -> list[Problem]:
    """Every problem a build would hit, then the audits' findings; sorted, warnings included."""
    with tempfile.TemporaryDirectory(prefix="hubgen-check-") as scratch:
        out = Path(scratch) / "site"
        try:
            result = build(BuildOptions(root=root, out=out, base_url=base_url, dev=dev,
                                        reuse_pages=False, keep_bodies=True))
        except BuildFailed as failed:
            return failed.problems
        assert result.hub is not None  # a check never reuses an earlier build
        files = read_tree(out)
        config = result.config
        published = [*(result.messages or {}).values(), config.title, config.description,
                     *(p.label for p in config.personas), *(p.label for p in config.phases),
                     *(t.label for t in result.hub.topics)]
        secrets = secrets_of(config, result.gate, result.hub.items, result.rendered, published)
        links = check_links([*result.hub.items, *result.hub.pages],
                            [(path, data) for path, data in files.items()],
                            config.base_path, also=unlocked_also(result.gate))
        problems = [*result.warnings, *links, *audit_files(files, secrets),
                    *lint_form(result.config, files)]
    return sorted(problems, key=lambda p: (p.warning, p.path, p.line or 0, p.message))
