"""`hubgen collect` and `hubgen leads`: the local form collector, run on its own, and its data.

The collector (collector/) does not import the build pipeline: this module reads the hub with
the pipeline and hands the collector the state it needs (HubState), as `hubgen serve` does with
the hub each build has read.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

from hubgen.build import BuildOptions, BuildResult, load
from hubgen.collector.app import CollectorApp, HubState, hub_state, make_collector_server
from hubgen.collector.leads import default_db, export, forget
from hubgen.errors import EXIT_OK, Problems, UsageError
from hubgen.render.theme import load_messages, theme_chain
from hubgen.state.cache import open_cache, work_folder

Handler = Callable[[argparse.Namespace], int]
AddCommand = Callable[[str, Handler, str], argparse.ArgumentParser]


def read_hub_state(root: Path) -> HubState:
    """Read the hub as the preview build does (drafts included); raises BuildFailed on errors."""
    # The build's cache has every file's front matter parsed already: reading the hub again
    # costs a fraction of a second, not a full parse.
    cache = open_cache(root, enabled=True)
    try:
        loaded = load(BuildOptions(root=root, drafts=True, dev=True), cache=cache)
    finally:
        cache.close()
    problems = Problems(root)
    messages = load_messages(theme_chain(loaded.config, problems), loaded.config, problems)
    problems.raise_if_errors()
    return hub_state(loaded.config, loaded.gate, loaded.hub.items, messages.table)


def state_of(result: BuildResult) -> HubState | None:
    """The collector's state from a build that read the hub; None when it read nothing."""
    if result.hub is None or result.messages is None or result.road != "full":
        return None
    return hub_state(result.config, result.gate, result.hub.items, result.messages)


def make_app(root: Path, db_path: Path, *, allowed_origins: tuple[str, ...] | None = None,
             state: HubState | None = None) -> CollectorApp:
    """The collector for the hub at `root`, storing into `db_path` (created on first use).

    Requests with an Origin header are accepted from base_url's origin and from
    `allowed_origins` (exact origins, or `http://127.0.0.1:*` for any port). `state`: the hub
    as a build just read it (else it is read here, and again on every reload()).
    """
    return CollectorApp(db_path, functools.partial(_read_again, root), allowed_origins, state)


def _read_again(root: Path) -> HubState:
    return read_hub_state(root)  # looked up at call time, so a test can watch it


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.root).resolve()
    if not root.is_dir():
        raise UsageError(f"{args.root}: no such folder (--root)")
    return root


def _lead_db(args: argparse.Namespace) -> Path:
    return Path(args.db).resolve() if args.db else default_db(_root(args))


def cmd_collect(args: argparse.Namespace) -> int:
    db = _lead_db(args)
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
    text = export(_lead_db(args), args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
        print(f"exported to {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_leads_forget(args: argparse.Namespace) -> int:
    print(f"erased {forget(_lead_db(args), args.email)} record(s) for {args.email}")
    return EXIT_OK


DB_HELP = "the lead database (default: DIR/.hubgen/leads.sqlite)"


def add_commands(command: AddCommand, sub: argparse._SubParsersAction[argparse.ArgumentParser]
                 ) -> None:
    """`collect` and `leads ACTION` on the command line (cli.py calls this)."""
    p = command("collect", cmd_collect, "Run the local form collector on its own: it receives "
                "the consent form's submissions and stores them in SQLite.")
    p.add_argument("--db", metavar="PATH", help=DB_HELP + "; created on first use")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                   "127.0.0.1; put a TLS-terminating proxy in front for the public)")
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
        a.add_argument("--db", metavar="PATH", help=DB_HELP)
        a.set_defaults(handler=handler)
        return a

    p = lead_action("export", cmd_leads_export, "Write every stored submission as CSV (one row "
                    "each; consents as JSON text) or as a JSON list.")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="default: csv")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    p = lead_action("forget", cmd_leads_forget, "Erase every submission of an e-mail address "
                    "(any letter case) from the database file (GDPR art. 17).")
    p.add_argument("email", metavar="EMAIL", help="the address whose records to erase")
