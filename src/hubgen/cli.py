"""The command line: verbs and flags -> calls. Only this module prints errors and exits."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from hubgen import __version__
from hubgen.build import BuildOptions, build, load
from hubgen.errors import EXIT_CONTENT, EXIT_OK, EXIT_USAGE, HubgenError, UsageError
from hubgen.report import matrix_counts, matrix_table
from hubgen.scaffold import new_item

Handler = Callable[[argparse.Namespace], int]


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.root).resolve()
    if not root.is_dir():
        raise UsageError(f"{args.root}: no such folder (--root)")
    return root


def cmd_build(args: argparse.Namespace) -> int:
    options = BuildOptions(
        root=_root(args), out=Path(args.out).resolve() if args.out else None,
        drafts=args.drafts, base_url=args.base_url, dev=args.dev, strict=args.strict,
        jobs=args.jobs, cache=not args.no_cache, search=not args.no_search)
    result = build(options)
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    if result.gate.dev and result.config.gating["mode"] == "strict":
        print("warning: strict gating with the PUBLIC development secret (--dev): "
              "do not deploy this build", file=sys.stderr)
    print(f"built {options.out_dir}: {result.summary()}")
    if args.verbose:
        print(f"  road: {ROADS[result.road]}")
        for stage, seconds in result.timings.items():
            print(f"  {stage:<10} {seconds:7.3f} s")
    return EXIT_OK


ROADS = {
    "unchanged": "nothing changed; the output stands",
    "bodies": "only item bodies changed; their pages were made again",
    "full": "every page signed; changed ones made again",
}


def cmd_check(args: argparse.Namespace) -> int:
    from hubgen.check import run_check

    problems = run_check(_root(args), base_url=args.base_url, dev=args.dev)
    for problem in problems:
        print(problem, file=sys.stderr)
    errors = [p for p in problems if not p.warning]
    print(f"check: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    return 1 if errors or (args.strict and problems) else EXIT_OK


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


def cmd_serve(args: argparse.Namespace) -> int:
    from hubgen.serve.server import serve

    return serve(_root(args), host=args.host, port=args.port, open_browser=args.open)


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be 1 or more (1: no worker processes)")
    return jobs


def _build_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--drafts", action="store_true", help="include drafts and future-dated items")
    p.add_argument("--out", metavar="DIR", help="output folder (default: DIR/output)")
    p.add_argument("--base-url", metavar="URL", help="override site.base_url (preview deploys)")
    p.add_argument("--dev", action="store_true",
                   help="strict gating without a secret: use the public development secret")
    p.add_argument("--verbose", "-v", action="store_true", help="print per-stage timings")
    p.add_argument("--strict", action="store_true", help="fail on broken internal links")
    p.add_argument("--jobs", "-j", type=_jobs, metavar="N",
                   help="worker processes for rendering (default: one per core)")
    p.add_argument("--no-cache", action="store_true",
                   help="ignore and do not update the cache in .hubgen/ (output is the same)")
    p.add_argument("--no-search", action="store_true",
                   help="leave out the search index even when Pagefind is installed")


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", metavar="URL", help="override site.base_url")
    p.add_argument("--dev", action="store_true", help="as for build")
    p.add_argument("--strict", action="store_true", help="warnings fail the check too")


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--drafts", action="store_true", help="count drafts and scheduled items too")


def _new_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("type", choices=("article", "ebook", "checklist"), help="the item's type")
    p.add_argument("title", help="the item's title (quote it)")
    p.add_argument("--persona", action="append", metavar="KEY",
                   help="a persona key from hub.toml (repeat for several)")
    p.add_argument("--phase", metavar="KEY", help="a phase key from hub.toml")
    p.add_argument("--gated", action="store_true", help="gate the item behind the consent form")


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this computer only)")
    p.add_argument("--port", type=int, default=8000,
                   help="port (default: 8000; if busy, the next free one of the 9 after it)")
    p.add_argument("--open", action="store_true", help="open the preview in the web browser")


# name, handler, what it does, its own arguments
COMMANDS: tuple[tuple[str, Handler, str, Callable[[argparse.ArgumentParser], None]], ...] = (
    ("build", cmd_build, "Build the site into output/ (drafts and scheduled items left out).",
     _build_args),
    ("check", cmd_check, "Validate content, links, the no-leak rule and the consent form; exit 1"
     " on any error.", _check_args),
    ("report", cmd_report, "Show the persona x phase matrix: counts, open/gated, empty cells.",
     _report_args),
    ("new", cmd_new, "Create a new item with valid front matter.", _new_args),
    ("serve", cmd_serve, "Preview while you write: build with drafts and scheduled items, serve, "
     "rebuild on every save, reload the browser, show build errors in it, and run the local form"
     " collector.", _serve_args),
)
ROOT_HELP = "the hub folder holding hub.toml (default: the current folder)"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="hubgen",
        description="Build a B2B content hub: articles, e-books and checklists for personas and "
        "buying phases, open or gated behind a consent form.",
        epilog="Run 'hubgen COMMAND --help' for a command's options. Docs: README.md.",
    )
    top.add_argument("--version", "-V", action="version", version=f"hubgen {__version__}")
    top.add_argument("--root", default=".", metavar="DIR", help=ROOT_HELP)
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        # Given after the command it wins; else the one before it (or the default) stands.
        p.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR", help=ROOT_HELP)
        p.set_defaults(handler=handler)
        return p

    for name, handler, help_, arguments in COMMANDS:
        arguments(command(name, handler, help_))
    from hubgen.collect import add_commands

    add_commands(command, sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    top = parser()
    try:
        args = top.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage error
        return int(exc.code or 0)
    if getattr(args, "handler", None) is None:  # bare `hubgen` (or `hubgen leads`): say how
        top.print_help(sys.stderr if args.command else sys.stdout)
        return EXIT_OK if args.command is None else EXIT_USAGE
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
    except OSError as exc:  # the disk, not the input: full, read-only, gone
        print(_os_problem(exc), file=sys.stderr)
        return EXIT_CONTENT
    except Exception as exc:  # the last resort: a bug must still end in words, not a traceback
        print(f"hubgen: internal error ({type(exc).__name__}: {exc}); the previous output is as "
              f"it was. Please report it with the file {_save_traceback()}", file=sys.stderr)
        return EXIT_CONTENT


def _os_problem(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return (f"hubgen: the disk is full (writing{where}); free some space and run again: the "
                "previous output is as it was")
    return f"hubgen: cannot use{where}: {exc.strerror or exc}"


def _save_traceback() -> str:
    handle, name = tempfile.mkstemp(prefix="hubgen-crash-", suffix=".txt")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(f"hubgen {__version__}, Python {sys.version}\n\n{traceback.format_exc()}")
    return name


if __name__ == "__main__":
    sys.exit(main())
