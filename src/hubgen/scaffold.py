"""`hubgen new`: a new item whose front matter is valid from the first save."""

from __future__ import annotations

import json
from pathlib import Path

from .config import load_config
from .content import make_slug, today
from .errors import UsageError, did_you_mean
from .model import SECTIONS

BODIES = {
    "article": "Skriv ingressen her.\n\n## Første mellomtittel\n\nTeksten fortsetter her.\n",
    "ebook": "Skriv innledningen her.\n\n## Hva du lærer\n\nTeksten fortsetter her.\n",
    "checklist": "Skriv en kort innledning her.\n\n## Før du starter\n\n- [ ] Første punkt\n"
                 "- [ ] Andre punkt\n",
}


def new_item(root: Path, type_: str, title: str, personas: list[str], phase: str | None,
             gated: bool) -> Path:
    config = load_config(root)
    for key in personas:
        if key != "all" and key not in config.persona_keys:
            raise UsageError(f"unknown persona '{key}' ({did_you_mean(key, config.persona_keys)})")
    if phase is not None and phase not in config.phase_keys:
        raise UsageError(f"unknown phase '{phase}' ({did_you_mean(phase, config.phase_keys)})")
    slug = make_slug(title)
    if not slug:
        raise UsageError(f"cannot make a file name from the title {title!r}")
    path = root / "content" / SECTIONS[type_] / f"{slug}.md"
    if path.exists() or (path.parent / slug / "index.md").exists():
        raise UsageError(f"{path.relative_to(root)} already exists; choose another title")
    lines = [
        "---",
        f"title: {json.dumps(title, ensure_ascii=False)}",
        f"personas: [{', '.join(personas or [config.persona_keys[0]])}]",
        f"phase: {phase or config.phase_keys[0]}",
        'summary: ""',
        f"date: {today(config).isoformat()}",
        "topics: []",
    ]
    if gated:
        lines.append("access: gated")
    lines += ["draft: true", "---", "", BODIES[type_]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path.relative_to(root) if path.is_relative_to(root) else path


__all__ = ["new_item"]
