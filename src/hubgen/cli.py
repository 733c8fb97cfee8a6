"""The command line: verbs and flags -> calls. Only this module prints errors and exits."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .build import BuildOptions, build, load
from .errors import EXIT_OK, HubgenError, UsageError
from .report import matrix_counts, matrix_table
from .scaffold import new_item

Handler = Callable[[argparse.Namespace], int]


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.root).resolve()
    if not root.is_dir():
        raise UsageError(f"{args.root}: no such folder (--root)")
    return root


def cmd_build(args: argparse.Namespace) -> int:
    options = BuildOptions(
        root=_root(args), out=Path(args.out).resolve() if args.out else None,
        drafts=args.drafts, base_url=args.base_url, dev=args.dev)
    result = build(options)
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    if result.gate.dev and result.config.gating["mode"] == "strict":
        print("warning: strict gating with the PUBLIC development secret (--dev): "
              "do not deploy this build", file=sys.stderr)
    print(f"built {options.out_dir}: {result.summary()}")
    if args.verbose:
        for stage, seconds in result.timings.items():
            print(f"  {stage:<10} {seconds:7.3f} s")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from .check import run_check

    problems = run_check(_root(args), base_url=args.base_url, dev=args.dev)
    for problem in problems:
        print(problem, file=sys.stderr)
    errors = [p for p in problems if not p.warning]
    print(f"check: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    return 1 if errors else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    loaded = load(BuildOptions(root=_root(args), drafts=args.drafts, dev=True))
    counts = matrix_counts(loaded.config, loaded.hub)
    if args.format == "json":
        print(json.dumps(counts, ensure_ascii=False, indent=2))
    else:
        print(matrix_table(loaded.config, counts))
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    path = new_item(_root(args), args.type, args.title, args.persona or [], args.phase,
                    args.gated)
    print(f"created {path}")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="hubgen",
        description="Build a B2B content hub: articles, e-books and checklists for personas and "
        "buying phases, open or gated behind a consent form.",
        epilog="Run 'hubgen COMMAND --help' for a command's options. Docs: README.md.",
    )
    top.add_argument("--version", action="version", version=f"hubgen {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--root", default=".", metavar="DIR",
                       help="the hub folder holding hub.toml (default: the current folder)")
        p.set_defaults(handler=handler)
        return p

    p = command("build", cmd_build, "Build the site into output/ (drafts and scheduled items "
                "left out).")
    p.add_argument("--drafts", action="store_true", help="include drafts and future-dated items")
    p.add_argument("--out", metavar="DIR", help="output folder (default: DIR/output)")
    p.add_argument("--base-url", metavar="URL", help="override site.base_url (preview deploys)")
    p.add_argument("--dev", action="store_true",
                   help="strict gating without a secret: use the public development secret")
    p.add_argument("--verbose", "-v", action="store_true", help="print per-stage timings")

    p = command("check", cmd_check, "Validate content, links, the no-leak rule and the consent "
                "form; exit 1 on any error.")
    p.add_argument("--base-url", metavar="URL", help="override site.base_url")
    p.add_argument("--dev", action="store_true", help="as for build")

    p = command("report", cmd_report, "Show the persona x phase matrix: counts, open/gated, "
                "empty cells.")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--drafts", action="store_true", help="count drafts and scheduled items too")

    p = command("new", cmd_new, "Create a new item with valid front matter.")
    p.add_argument("type", choices=("article", "ebook", "checklist"), help="the item's type")
    p.add_argument("title", help="the item's title (quote it)")
    p.add_argument("--persona", action="append", metavar="KEY",
                   help="a persona key from hub.toml (repeat for several)")
    p.add_argument("--phase", metavar="KEY", help="a phase key from hub.toml")
    p.add_argument("--gated", action="store_true", help="gate the item behind the consent form")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage error
        return int(exc.code or 0)
    try:
        code: int = args.handler(args)
        return code
    except HubgenError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        if hasattr(exc, "problems"):
            errors = [p for p in exc.problems if not p.warning]
            print(f"hubgen: {len(errors)} error(s); nothing was written", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
