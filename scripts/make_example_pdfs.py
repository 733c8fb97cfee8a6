"""Generate the small example PDFs that the bundled e-books offer for download.

Every e-book in ``content/ebooks/*.md`` names its downloadable file in the front matter key
``download`` (for example ``download: kjopsguide-for-bro.pdf``). This script reads each e-book's
title, summary and ``##`` sections and writes a short (1-3 page) A4 PDF with that text to the file
the e-book names, beside the Markdown file.

The output is deterministic: the creation date is fixed and nothing depends on the clock or on
the machine, so running the script twice gives byte-identical files (check with ``sha256sum``).

This is a developer tool, not part of hubgen itself. It needs fpdf2 and PyYAML:

    pip install fpdf2 pyyaml
    python scripts/make_example_pdfs.py            # run from the repository root
    python scripts/make_example_pdfs.py --root DIR # or point it at another hub

Text is written with the PDF core fonts (Helvetica), which cover Norwegian letters (æ, ø, å);
characters outside Latin-1 (such as en dashes and curly quotes) are replaced with close ASCII
equivalents.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml
from fpdf import FPDF

FIXED_DATE = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
PUBLISHER = "Nordvarde Marine AS"
SITE = "kunnskap.nordvarde.example"
MAX_SECTIONS = 6
MAX_PARAGRAPH_CHARS = 420

NAVY = (18, 52, 77)
SEA = (31, 78, 110)
SAND = (240, 194, 123)
INK = (30, 30, 30)
GREY = (110, 110, 110)

REPLACEMENTS = {
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u00a0": " ",
}


def latin1(text: str) -> str:
    """Return text that the core fonts can encode (Latin-1), replacing what they cannot."""
    for src, dst in REPLACEMENTS.items():
        text = text.replace(src, dst)
    return text.encode("latin-1", errors="replace").decode("latin-1")


def plain(markdown: str) -> str:
    """Strip the inline Markdown used in the example content: links, bold, italics, code."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"\*([^*]+)\*", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    return " ".join(text.split())


def shorten(text: str, limit: int = MAX_PARAGRAPH_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + " ..."


def read_item(path: Path) -> tuple[dict, str]:
    raw = path.read_text(encoding="utf-8")
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n(.*)$", raw, re.S)
    if not match:
        raise SystemExit(f"{path}: no front matter")
    meta = yaml.safe_load(match.group(1)) or {}
    return meta, match.group(2)


def sections(body: str) -> list[tuple[str, str]]:
    """Return (heading, first paragraph) for each ``##`` section of the body."""
    result: list[tuple[str, str]] = []
    for block in re.split(r"^## ", body, flags=re.M)[1:]:
        heading, _, rest = block.partition("\n")
        paragraphs = [
            p
            for p in re.split(r"\n\s*\n", rest.strip())
            if p.strip() and not p.lstrip().startswith(("-", "|", "<!--"))
        ]
        first = plain(paragraphs[0]) if paragraphs else ""
        result.append((heading.strip(), shorten(first)))
    return result[:MAX_SECTIONS]


class EbookPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=8)
        self.set_text_color(*GREY)
        self.cell(0, 8, latin1(f"{PUBLISHER} \u00b7 {SITE}"), align="L")
        self.cell(0, 8, f"{self.page_no()}", align="R")


def build_pdf(meta: dict, body: str) -> bytes:
    title = latin1(str(meta["title"]))
    summary = latin1(plain(str(meta.get("summary", ""))))

    pdf = EbookPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(title)
    pdf.set_author(PUBLISHER)
    pdf.set_subject(summary)
    pdf.set_creator("hubgen scripts/make_example_pdfs.py")
    pdf.set_producer("fpdf2")
    pdf.set_lang("nb")
    pdf.set_margins(22, 22, 22)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_page()

    # Cover band: a sea-coloured block with a thin horizon line.
    pdf.set_fill_color(*NAVY)
    pdf.rect(0, 0, 210, 78, style="F")
    pdf.set_fill_color(*SEA)
    pdf.rect(0, 58, 210, 20, style="F")
    pdf.set_draw_color(*SAND)
    pdf.set_line_width(0.8)
    pdf.line(0, 58, 210, 58)

    pdf.set_xy(22, 16)
    pdf.set_text_color(*SAND)
    pdf.set_font("Helvetica", style="B", size=9)
    pdf.cell(0, 6, latin1("NORDVARDE KUNNSKAPSBANK \u00b7 E-BOK"), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("Helvetica", style="B", size=19)
    pdf.multi_cell(0, 8.5, title, new_x="LMARGIN", new_y="NEXT", align="L")

    pdf.set_y(88)
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", style="I", size=11.5)
    pdf.multi_cell(0, 6, summary, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(4)

    for heading, paragraph in sections(body):
        pdf.set_font("Helvetica", style="B", size=13)
        pdf.set_text_color(*SEA)
        pdf.multi_cell(0, 7, latin1(plain(heading)), new_x="LMARGIN", new_y="NEXT", align="L")
        if paragraph:
            pdf.set_font("Helvetica", size=10.5)
            pdf.set_text_color(*INK)
            pdf.multi_cell(0, 5.4, latin1(paragraph), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(3)

    pdf.ln(2)
    pdf.set_font("Helvetica", style="I", size=8.5)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(
        0,
        4.5,
        latin1(
            "Eksempelinnhold for hubgen. Alle personer, skip, prosjekter og tall i denne "
            "e-boken er oppdiktet."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
        align="L",
    )
    return bytes(pdf.output())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root",
        default=Path(__file__).resolve().parent.parent,
        type=Path,
        help="hub folder holding content/ebooks (default: this repository)",
    )
    args = parser.parse_args(argv)

    ebooks = sorted((args.root / "content" / "ebooks").glob("*.md"))
    if not ebooks:
        print(f"no e-books under {args.root / 'content' / 'ebooks'}", file=sys.stderr)
        return 1
    for md in ebooks:
        meta, body = read_item(md)
        download = meta.get("download")
        if not download or not str(download).lower().endswith(".pdf"):
            continue
        target = md.parent / str(download)
        data = build_pdf(meta, body)
        target.write_bytes(data)
        print(f"{target.relative_to(args.root)}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
