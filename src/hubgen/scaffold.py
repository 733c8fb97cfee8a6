"""`hubgen new`: a new item whose front matter is valid from the first save."""

from __future__ import annotations

import json
from pathlib import Path

from hubgen.config import load_config, today
from hubgen.content.slugs import make_slug
from hubgen.errors import UsageError, did_you_mean
from hubgen.model import SECTIONS

# Placeholder bodies in the hub's language: (intro, first heading, closing line or task list).
BODIES = {
    "nb": {
        "article": ("Skriv ingressen her.", "Første mellomtittel", "Teksten fortsetter her."),
        "ebook": ("Skriv innledningen her.", "Hva du lærer", "Teksten fortsetter her."),
        "checklist": ("Skriv en kort innledning her.", "Før du starter",
                      "- [ ] Første punkt\n- [ ] Andre punkt"),
    },
    "da": {
        "article": ("Skriv indledningen her.", "Første mellemrubrik", "Teksten fortsætter her."),
        "ebook": ("Skriv indledningen her.", "Det lærer du", "Teksten fortsætter her."),
        "checklist": ("Skriv en kort indledning her.", "Før du går i gang",
                      "- [ ] Første punkt\n- [ ] Andet punkt"),
    },
    "en": {
        "article": ("Write the introduction here.", "First heading", "The text goes on here."),
        "ebook": ("Write the introduction here.", "What you will learn", "The text goes on here."),
        "checklist": ("Write a short introduction here.", "Before you start",
                      "- [ ] First point\n- [ ] Second point"),
    },
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
    intro, heading, rest = BODIES[config.language][type_]
    lines += ["draft: true", "---", "", intro, "", f"## {heading}", "", rest, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path.relative_to(root) if path.is_relative_to(root) else path


__all__ = ["new_item"]
