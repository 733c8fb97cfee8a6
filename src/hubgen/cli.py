"""The command line: verbs and flags -> calls. Only this module prints errors and exits."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hubgen import __version__
from hubgen.build import BuildOptions, build, load
from hubgen.errors import EXIT_OK, HubgenError, UsageError
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
    p.add_argument("--strict", action="store_true", help="fail on broken internal links")
    p.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="worker processes for rendering (default: one per core)")
    p.add_argument("--no-cache", action="store_true",
                   help="ignore and do not update the cache in .hubgen/ (output is the same)")
    p.add_argument("--no-search", action="store_true",
                   help="leave out the search index even when Pagefind is installed")

    p = command("check", cmd_check, "Validate content, links, the no-leak rule and the consent "
                "form; exit 1 on any error.")
    p.add_argument("--base-url", metavar="URL", help="override site.base_url")
    p.add_argument("--dev", action="store_true", help="as for build")
    p.add_argument("--strict", action="store_true", help="warnings fail the check too")

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

    # -- Local preview (serve.py, livereload.py): `serve`. ----------------------------------------
    def cmd_serve(args: argparse.Namespace) -> int:
        from hubgen.serve.server import serve

        return serve(_root(args), host=args.host, port=args.port, open_browser=args.open)

    p = command("serve", cmd_serve, "Preview while you write: build with drafts and scheduled "
                "items, serve, rebuild on every save, reload the browser, show build errors in "
                "it, and run the local form collector.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this computer only)")
    p.add_argument("--port", type=int, default=8000,
                   help="port (default: 8000; if busy, the next free one of the 9 after it)")
    p.add_argument("--open", action="store_true", help="open the preview in the web browser")
    # -- end of `serve`. ----------------------------------------------------------------------

    # -- The local form backend (collector.py, leads.py): `collect`, `leads export|forget`. --------
    def lead_db(args: argparse.Namespace) -> Path:
        from hubgen.collector.leads import default_db

        return Path(args.db).resolve() if args.db else default_db(_root(args))

    def cmd_collect(args: argparse.Namespace) -> int:
        from hubgen.collector.app import make_app, make_collector_server
        from hubgen.state.cache import work_folder

        db = lead_db(args)
        app = make_app(_root(args), db, allowed_origins=tuple(args.allow_origin or ()))
        if not args.db:  # personal data must never reach the hub's git
            work_folder(_root(args))
        if app.state.gate.dev and app.state.config.gating["mode"] == "strict":
            print(f"warning: strict gating but ${app.state.config.gating['secret_env']} is not "
                  "set: the unlock addresses use the public development secret and will not match"
                  " a production build", file=sys.stderr)
        try:
            server = make_collector_server(app, args.host, args.port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
        with server:
            print(f"collecting at http://{args.host}:{server.server_port}{app.path} into {db} "
                  "(Ctrl+C stops)", flush=True)
            server.serve_forever()
        return EXIT_OK

    def cmd_leads_export(args: argparse.Namespace) -> int:
        from hubgen.collector.leads import export

        text = export(lead_db(args), args.format)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8", newline="")
            print(f"exported to {args.out}")
        else:
            sys.stdout.write(text)
        return EXIT_OK

    def cmd_leads_forget(args: argparse.Namespace) -> int:
        from hubgen.collector.leads import forget

        print(f"erased {forget(lead_db(args), args.email)} record(s) for {args.email}")
        return EXIT_OK

    db_help = "the lead database (default: DIR/.hubgen/leads.sqlite)"
    p = command("collect", cmd_collect, "Run the local form collector on its own: it receives the"
                " consent form's submissions and stores them in SQLite.")
    p.add_argument("--db", metavar="PATH", help=db_help + "; created on first use")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1;"
                   " put a TLS-terminating proxy in front for the public)")
    p.add_argument("--port", type=int, default=8001, help="port to listen on (default: 8001)")
    p.add_argument("--allow-origin", action="append", metavar="ORIGIN",
                   help="also accept browser requests from this origin, e.g. "
                   "http://127.0.0.1:8000 (base_url's origin always is); repeatable")
    leads_parser = sub.add_parser(
        "leads", help="Export or erase the local collector's submissions.",
        description="Export or erase the submissions the local collector stored.")
    actions = leads_parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def lead_action(name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
        a = actions.add_parser(name, help=help_, description=help_)
        a.add_argument("--root", default=".", metavar="DIR",
                       help="the hub folder holding hub.toml (default: the current folder)")
        a.add_argument("--db", metavar="PATH", help=db_help)
        a.set_defaults(handler=handler)
        return a

    p = lead_action("export", cmd_leads_export, "Write every stored submission as CSV (one row "
                    "each; consents as JSON text) or as a JSON list.")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="default: csv")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    p = lead_action("forget", cmd_leads_forget, "Erase every submission of an e-mail address "
                    "(any letter case) from the database file (GDPR art. 17).")
    p.add_argument("email", metavar="EMAIL", help="the address whose records to erase")
    # -- end of the local form backend's commands. ---------------------------------------------
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
