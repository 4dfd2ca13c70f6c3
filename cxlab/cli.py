"""The ``cxlab`` command line: sample data, validation, reports.

Run ``cxlab --help`` or ``cxlab COMMAND --help`` for the details of each command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cxlab.errors import CxlabError

__all__ = ["main", "build_parser"]

_EPILOG = """\
examples:
  cxlab sample                          write the sample clients to data/sample
  cxlab validate data/sample/bookshop   check one client folder, print what was set aside
  cxlab validate data/sample --all      check every client folder under data/sample
  cxlab schema                          print the client data contract
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cxlab`` command (exposed for tests and docs)."""
    from cxlab.config import SAMPLE_DIR

    parser = argparse.ArgumentParser(
        prog="cxlab",
        description="cxlab: customer-experience and customer-journey analytics for client data exports.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "sample",
        help="generate the sample clients (deterministic, with planted findings in truth.json)",
        description=(
            "Generate realistic sample clients, each in its own folder with client.toml, data "
            "files and truth.json (the findings planted in the data). The same seed always "
            "gives byte-identical files. With --customers the chosen clients are scaled up "
            "(written in chunks as Parquet), for benchmarks."
        ),
    )
    p.add_argument("--out", type=Path, default=SAMPLE_DIR, help="folder to write the clients into (default: %(default)s)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default: %(default)s)")
    p.add_argument("--customers", type=int, default=None, help="customers per client (default: each client's own size)")
    p.add_argument("--clients", default=None, help="comma-separated client names (default: all)")
    p.add_argument("--format", choices=["native", "parquet"], default="native",
                   help="'native': each client's own file shape; 'parquet': Parquet for every table (default: %(default)s)")

    p = sub.add_parser(
        "validate",
        help="load a client folder and print its validation report",
        description=(
            "Load a client folder (or, with --all, every client folder under a folder), apply the "
            "client data contract and print what was loaded and what was set aside, with reasons "
            "and example rows. Exits 1 on a hard error (missing file, missing column, unreadable "
            "file), 0 otherwise."
        ),
    )
    p.add_argument("folder", type=Path, help="a client folder (with client.toml), or a folder of them with --all")
    p.add_argument("--all", action="store_true", help="validate every client folder found under FOLDER")
    p.add_argument("--summary", action="store_true", help="one line per client instead of the full report")

    sub.add_parser("schema", help="print the client data contract (canonical tables and columns)")
    return parser


def _client_folders(folder: Path, all_clients: bool) -> list[Path]:
    if not all_clients:
        return [folder]
    found = sorted(p.parent for p in folder.glob("*/client.toml"))
    if not found:
        raise CxlabError(f"No client folders (sub-folders with client.toml) under {folder}.")
    return found


def _cmd_sample(args: argparse.Namespace) -> int:
    from cxlab.sample import write_sample_clients

    clients = args.clients.split(",") if args.clients else None
    written = write_sample_clients(
        args.out, seed=args.seed, customers=args.customers, clients=clients, file_format=args.format
    )
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from cxlab.client import load_client

    failures = 0
    for folder in _client_folders(args.folder, args.all):
        try:
            client = load_client(folder)
        except CxlabError as exc:
            failures += 1
            print(f"{folder.name}: FAILED\n  {exc}", file=sys.stderr)
            continue
        if args.summary:
            print(client.validation.one_line())
        else:
            print(client.validation.summary())
            print()
    return 1 if failures else 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from cxlab.schema import TABLES

    for table in TABLES.values():
        print(f"{table.name}: {table.description}")
        for col in table.columns:
            flag = "required" if col.required else "optional"
            print(f"  {col.name:<12} {str(col.dtype):<22} {flag:<9} {col.description}")
        print()
    return 0


_COMMANDS = {"sample": _cmd_sample, "validate": _cmd_validate, "schema": _cmd_schema}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cxlab`` console script. Returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except CxlabError as exc:
        print(f"cxlab {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
