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
  cxlab report data/sample/bookshop     render one client's report into reports/bookshop/
  cxlab batch data/sample --workers 2   render every client's report and reports/index.html
  cxlab --version                       print the cxlab version
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cxlab")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from cxlab import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cxlab`` command (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="cxlab",
        description="cxlab: customer-experience and customer-journey analytics for client data exports.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"cxlab {_version()}",
        help="print the cxlab version and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    _add_sample_parser(sub)
    _add_validate_parser(sub)
    sub.add_parser("schema", help="print the client data contract (canonical tables and columns)")
    _add_init_parser(sub)
    _add_report_parser(sub)
    _add_batch_parser(sub)
    return parser


def _add_sample_parser(sub: argparse._SubParsersAction) -> None:
    from cxlab.config import SAMPLE_DIR

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
    p.add_argument(
        "--out",
        type=Path,
        default=SAMPLE_DIR,
        help="folder to write the clients into (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default: %(default)s)")
    p.add_argument(
        "--customers",
        type=int,
        default=None,
        help="customers per client (default: each client's own size)",
    )
    p.add_argument("--clients", default=None, help="comma-separated client names (default: all)")
    p.add_argument(
        "--format",
        choices=["native", "parquet"],
        default="native",
        help="'native': each client's own file shape; 'parquet': Parquet for every table (default: %(default)s)",
    )
    p.add_argument(
        "--browsing",
        type=float,
        default=0.0,
        metavar="N",
        help="add on average N browsing events per customer, for long benchmark logs "
        "(--customers 100000 --browsing 90 gives ~10M events; default: 0)",
    )


def _add_validate_parser(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument(
        "folder",
        type=Path,
        help="a client folder (with client.toml), or a folder of them with --all",
    )
    p.add_argument(
        "--all", action="store_true", help="validate every client folder found under FOLDER"
    )
    p.add_argument(
        "--summary", action="store_true", help="one line per client instead of the full report"
    )


def _add_init_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init",
        help="make a client folder from export files: copy them, write client.toml, validate",
        description=(
            "Copy the export files into FOLDER, propose the column mapping, time format and "
            "journey stages from a sample of their rows, write a commented client.toml (lines "
            "marked REVIEW need a look) and load the client to print what is left to fix. "
            "Exits 0 when the client loads, 1 when something is left to fix."
        ),
    )
    p.add_argument("folder", type=Path, help="the client folder to create or fill")
    p.add_argument("--events", type=Path, help="the events export (CSV, TSV, Parquet, NDJSON, .gz)")
    p.add_argument("--feedback", type=Path, help="the survey answers export")
    p.add_argument("--customers", type=Path, help="the customers export")
    p.add_argument("--timezone", help="IANA zone of times written without an offset (default UTC)")
    p.add_argument("--name", help="display name (default: the folder name)")
    p.add_argument("--force", action="store_true", help="overwrite an existing client.toml")
    p.add_argument(
        "--preset",
        default="auto",
        help="the events export's tool: ga4, segment, zendesk; auto (default) recognises it "
        "from the columns, none uses no preset",
    )
    p.add_argument(
        "--no-validate",
        action="store_true",
        help="write client.toml without loading the client afterwards (reads only a sample)",
    )


def _cmd_init(args: argparse.Namespace) -> int:
    from cxlab.io.init import init_client

    result = init_client(
        args.folder,
        args.events,
        feedback=args.feedback,
        customers=args.customers,
        timezone=args.timezone,
        name=args.name,
        force=args.force,
        validate=not args.no_validate,
        preset=args.preset,
    )
    print(result.summary())
    return 1 if result.left_to_fix else 0


def _add_run_options(p: argparse.ArgumentParser) -> None:
    from cxlab.config import REPORTS_DIR

    p.add_argument(
        "--out",
        type=Path,
        default=REPORTS_DIR,
        help="reports folder; each client gets OUT/<client>/ (default: %(default)s)",
    )
    p.add_argument(
        "--notebook",
        type=Path,
        default=None,
        help="report notebook template (default: notebooks/reports/client_report.ipynb)",
    )
    p.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a notebook parameter; VALUE is read as JSON when it parses, else as "
        "text (repeatable), e.g. -p start_date=2024-01-01 -p 'sections=[\"funnel\"]'",
    )
    p.add_argument(
        "--no-pseudonymize",
        dest="pseudonymize",
        action="store_false",
        help="show raw customer ids (default: salted hashes, PII masked; only for "
        "reports that stay with the data owner)",
    )
    p.add_argument(
        "--salt-file",
        type=Path,
        default=None,
        help="pseudonymisation secret (default: $CXLAB_SALT_FILE, else OUT/../.cxlab-salt; "
        "never inside OUT)",
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=600,
        help="seconds one notebook cell may run before the run counts as failed (default: %(default)s)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=1,
        help="extra attempts after a timeout or a kernel failure (default: %(default)s)",
    )
    p.add_argument(
        "--kernel",
        default=None,
        help="installed Jupyter kernel to use (default: this Python interpreter)",
    )
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also print each report to OUT/<client>/report.pdf (A4, offline, with the "
        "chromium the project installs); a failed PDF is reported and keeps the HTML",
    )


def _add_report_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="render one client's report (executed notebook + offline HTML)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run the report notebook for one client folder and write OUT/<client>/report.ipynb "
            "(the executed notebook, kept for audit), OUT/<client>/report.html (a self-contained "
            "page that opens offline) and OUT/<client>/run.json, then refresh OUT/index.html. "
            "Exits 1 when the notebook failed (the executed notebook then holds the error)."
        ),
        epilog=(
            "examples:\n"
            "  cxlab report data/sample/bookshop\n"
            "  cxlab report data/sample/bank --out /tmp/reports -p start_date=2024-01-01\n"
            "  cxlab report ~/clients/acme -p max_customers=5000 --timeout 300\n"
        ),
    )
    p.add_argument(
        "client_dir", type=Path, metavar="CLIENT_DIR", help="a client folder (with client.toml)"
    )
    _add_run_options(p)


def _add_batch_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="render the report of every client under a folder, in parallel, and an index page",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Render the report of every client folder (sub-folder with client.toml) under "
            "CLIENTS_DIR in parallel, with a progress bar and one status line per client, then "
            "write OUT/index.html (one sortable row per client with status, run time and headline "
            "metrics). One client's failure never stops the others: its executed notebook keeps "
            "the error, the index and the exit summary list the failing cell and exception, and "
            "the exit code is 1. Files are written atomically, so an interrupted batch leaves no "
            "half-written report."
        ),
        epilog=(
            "examples:\n"
            "  cxlab batch data/sample                         all clients, one run per core\n"
            "  cxlab batch data/sample --workers 2 --only bookshop,bank\n"
            "  cxlab batch data/sample --resume                re-run only clients whose data,\n"
            "                                                  parameters or notebook changed\n"
            "  cxlab batch data/sample --scheduler tcp://10.0.0.5:8786\n"
            "                                                  run on an existing Dask cluster\n"
            "                                                  (pip install 'cxlab[dask]'; the\n"
            "                                                  workers must see the same paths)\n"
        ),
    )
    p.add_argument(
        "clients_dir", type=Path, metavar="CLIENTS_DIR", help="a folder of client folders"
    )
    _add_run_options(p)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel local runs (default: the number of cores)",
    )
    p.add_argument(
        "--only",
        default=None,
        metavar="A,B",
        help="comma-separated client folder names to run (the index still lists all)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip clients whose inputs, parameters and notebook are unchanged since "
        "their last successful report (content hash)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="submit each client run to this Dask distributed scheduler instead of "
        "local processes, e.g. tcp://host:8786",
    )
    p.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar or status lines (the exit summary is still printed)",
    )


def _client_folders(folder: Path, all_clients: bool) -> list[Path]:
    if not all_clients:
        return [folder]
    found = sorted(p.parent for p in folder.glob("*/client.toml"))
    if not found:
        raise CxlabError(f"No client folders (sub-folders with client.toml) under {folder}.")
    return found


def _cmd_sample(args: argparse.Namespace) -> int:
    from cxlab.io.sample import write_sample_clients

    clients = args.clients.split(",") if args.clients else None
    written = write_sample_clients(
        args.out,
        seed=args.seed,
        customers=args.customers,
        clients=clients,
        file_format=args.format,
        browsing=args.browsing,
    )
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from cxlab.io.client import check_losses, load_client

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
        try:  # a table left empty, or most events lost: a report would describe almost nothing
            check_losses(client)
        except CxlabError as exc:
            failures += 1
            print(f"{folder.name}: FAILED\n  {exc}", file=sys.stderr)
    return 1 if failures else 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from cxlab.contract.schema import TABLES

    for table in TABLES.values():
        print(f"{table.name}: {table.description}")
        for col in table.columns:
            flag = "required" if col.required else "optional"
            print(f"  {col.name:<12} {table.type_name(col.name):<18} {flag:<9} {col.description}")
        print()
    return 0


def _parse_parameters(items: Sequence[str]) -> dict[str, object]:
    import json

    from cxlab.errors import ParameterError

    params: dict[str, object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ParameterError(
                f"-p/--parameter expects NAME=VALUE with NAME a Python identifier. Got {item!r} instead."
            )
        try:
            params[name.strip()] = json.loads(value)
        except ValueError:
            params[name.strip()] = value
    return params


def _render_kwargs(args: argparse.Namespace) -> dict[str, object]:
    return {
        "notebook": args.notebook,
        "parameters": _parse_parameters(args.parameter),
        "pseudonymize": args.pseudonymize,
        "salt_file": args.salt_file,
        "timeout": args.timeout,
        "retries": args.retries,
        "kernel_name": args.kernel,
        "pdf": args.pdf,
    }


def _cmd_report(args: argparse.Namespace) -> int:
    from cxlab.report.batch import run_batch

    folder = args.client_dir.expanduser().resolve()
    if not (folder / "client.toml").is_file():
        raise CxlabError(f"{folder} is not a client folder: it has no client.toml.")
    result = run_batch(
        folder.parent,
        args.out,
        workers=1,
        only=[folder.name],
        progress=True,
        **_render_kwargs(args),
    )
    run = result.runs[0]
    if run["status"] == "failed":
        print(result.summary(), file=sys.stderr)
        return 1
    print(f"wrote {Path(args.out) / run['html']}")
    if run.get("pdf"):
        print(f"wrote {Path(args.out) / run['pdf']}")
    print(f"wrote {Path(args.out) / run['notebook']}")
    if run.get("pdf_failure"):
        print(f"PDF not written: {run['pdf_failure']}", file=sys.stderr)
        return 1
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from cxlab.report.batch import run_batch

    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    result = run_batch(
        args.clients_dir,
        args.out,
        workers=args.workers,
        only=only,
        resume=args.resume,
        scheduler=args.scheduler,
        progress=args.progress,
        **_render_kwargs(args),
    )
    bad = result.failed or result.pdf_failed
    print(result.summary(), file=sys.stderr if bad else sys.stdout)
    return 0 if result.ok and not result.pdf_failed else 1


_COMMANDS = {
    "sample": _cmd_sample,
    "validate": _cmd_validate,
    "schema": _cmd_schema,
    "report": _cmd_report,
    "batch": _cmd_batch,
    "init": _cmd_init,
}


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
