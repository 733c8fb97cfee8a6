"""`hubgen report`: the persona x phase matrix in the terminal or as JSON."""

from __future__ import annotations

from typing import Any

from hubgen.config import Config
from hubgen.model import Hub


def matrix_counts(config: Config, hub: Hub) -> dict[str, Any]:
    """{persona: {phase: {"open": n, "gated": n}}} plus the list of empty cells."""
    cells: dict[str, dict[str, dict[str, int]]] = {
        p.key: {ph.key: {"open": 0, "gated": 0} for ph in config.phases} for p in config.personas
    }
    for item in hub.items:
        for persona in item.personas:
            for phase in item.phases:
                cells[persona][phase][item.access] += 1
    empty = [{"persona": p, "phase": ph} for p, row in cells.items()
             for ph, c in row.items() if not c["open"] + c["gated"]]
    return {"personas": [p.key for p in config.personas], "phases": [p.key for p in config.phases],
            "cells": cells, "empty": empty, "items": len(hub.items)}


def matrix_table(config: Config, counts: dict[str, Any]) -> str:
    """A plain-text table: 'open+gated' per cell, '—' for an empty cell."""
    header = ["persona \\ phase", *(p.label for p in config.phases)]
    rows = [header]
    for persona in config.personas:
        row = [persona.label]
        for phase in config.phases:
            c = counts["cells"][persona.key][phase.key]
            total = c["open"] + c["gated"]
            row.append(f"{total} ({c['open']} open, {c['gated']} gated)" if total else "— empty")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    empty = counts["empty"]
    lines.append("")
    lines.append(f"{counts['items']} items; {len(empty)} empty cell(s)" + (
        ": " + ", ".join(f"{e['persona']} x {e['phase']}" for e in empty) if empty else ""))
    return "\n".join(lines)
