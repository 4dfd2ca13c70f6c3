"""Reading and checking ``client.toml``: the one file that describes a client folder.

A client folder holds ``client.toml`` plus the client's data files. A complete example::

    name = "Pageturn Books"            # display name, shown in reports
    industry = "Online bookshop"
    timezone = "Europe/London"         # naive source timestamps are read in this zone
    timestamp_formats = ["%d/%m/%Y %H:%M"]   # tried after ISO 8601 (optional)
    start_date = "2020-01-01"          # events before it are implausible (optional)
    currency = "GBP"                   # optional

    [files]                            # file names inside the folder
    events = "events.csv"
    feedback = "feedback.csv"
    customers = "customers.csv"
    # separator = ";"                  # optional, for delimited files that are not , or tab

    [columns.events]                   # source column -> canonical column
    "Customer Ref" = "customer_id"
    "Event Time" = "timestamp"

    [journey]
    use_default_map = true             # start from cxlab.schema.DEFAULT_JOURNEY_MAP
    purchase_touchpoints = ["purchase"]

    [journey.map]                      # touchpoint -> stage, added to / overriding the default
    gift_card = "purchase"

    [churn]
    method = "column"                  # use customers.churned / churn_date, or
    # method = "inactivity"            # no event for `inactivity_days` before the data end
    inactivity_days = 90
"""

from __future__ import annotations

import datetime as dt
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cxlab.errors import ConfigError, did_you_mean
from cxlab.schema import (
    DEFAULT_JOURNEY_MAP,
    DEFAULT_PURCHASE_TOUCHPOINTS,
    STAGES,
    TABLES,
)

__all__ = ["ChurnDefinition", "ClientConfig", "read_client_config", "CONFIG_FILE"]

CONFIG_FILE = "client.toml"
_TOP_KEYS = {
    "name", "industry", "timezone", "timestamp_formats", "start_date", "currency",
    "files", "columns", "journey", "churn", "as_of",
}


@dataclass(frozen=True)
class ChurnDefinition:
    """How a client defines a lost customer.

    Parameters
    ----------
    method : {"column", "inactivity"}
        ``"column"`` reads ``churned`` / ``churn_date`` from the customers table;
        ``"inactivity"`` calls a customer churned when they had no event in the last
        ``inactivity_days`` before the data end (customers younger than that are censored).
    inactivity_days : int
        The inactivity window in days.
    """

    method: Literal["column", "inactivity"] = "column"
    inactivity_days: int = 90


@dataclass(frozen=True)
class ClientConfig:
    """The parsed ``client.toml`` of one client folder. Build it with :func:`read_client_config`."""

    folder: Path
    name: str
    industry: str = ""
    timezone: str = "UTC"
    timestamp_formats: tuple[str, ...] = ()
    start_date: dt.date = dt.date(2000, 1, 1)
    currency: str = ""
    files: dict[str, str] = field(default_factory=dict)
    separator: str | None = None
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    journey_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_JOURNEY_MAP))
    purchase_touchpoints: tuple[str, ...] = DEFAULT_PURCHASE_TOUCHPOINTS
    churn: ChurnDefinition = ChurnDefinition()
    as_of: dt.datetime | None = None

    @property
    def slug(self) -> str:
        """The folder name: the client's key in batches, reports and the index."""
        return self.folder.name

    def path_of(self, table: str) -> Path | None:
        """Absolute path of the file holding ``table``, or None when the client has none."""
        name = self.files.get(table)
        return self.folder / name if name else None


def _fail(path: Path, message: str) -> ConfigError:
    return ConfigError(f"{path}: {message}")


def read_client_config(folder: str | Path) -> ClientConfig:
    """Read and check ``client.toml`` in ``folder``.

    Parameters
    ----------
    folder : str or Path
        The client folder.

    Returns
    -------
    ClientConfig

    Raises
    ------
    ConfigError
        When the file is missing, not valid TOML, or a key has the wrong type or value; the
        message names the file and the key and says how to fix it.

    Examples
    --------
    >>> from cxlab.config import SAMPLE_DIR
    >>> cfg = read_client_config(SAMPLE_DIR / "bookshop")  # doctest: +SKIP
    >>> cfg.journey_map["checkout_error"]  # doctest: +SKIP
    'purchase'
    """
    folder = Path(folder).expanduser().resolve()
    path = folder / CONFIG_FILE
    if not folder.is_dir():
        raise ConfigError(f"Client folder {folder} does not exist (or is not a folder).")
    if not path.is_file():
        raise ConfigError(
            f"{folder} has no {CONFIG_FILE}. Every client folder needs one: it names the data "
            f"files, maps columns and sets the journey map. See the README, 'Client data contract'."
        )
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(path, f"is not UTF-8 text ({exc.reason} at byte {exc.start}). Save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"is not valid TOML: {exc}.") from None

    for key in raw:
        if key not in _TOP_KEYS:
            raise _fail(path, f"unknown key '{key}'.{did_you_mean(key, _TOP_KEYS)}")

    def string(key: str, table: dict[str, Any], where: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise _fail(path, f"'{where}{key}' must be a string, got {value!r}.")
        return value

    name = string("name", raw, "", default=folder.name)
    timezone = string("timezone", raw, "", default="UTC")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _fail(
            path, f"'timezone' = {timezone!r} is not an IANA time zone (e.g. 'Europe/Paris', 'UTC')."
        ) from None

    formats = raw.get("timestamp_formats", [])
    if isinstance(formats, str):
        formats = [formats]
    if not (isinstance(formats, list) and all(isinstance(f, str) for f in formats)):
        raise _fail(path, f"'timestamp_formats' must be a list of strftime formats, got {formats!r}.")

    start = raw.get("start_date", dt.date(2000, 1, 1))
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError:
            raise _fail(path, f"'start_date' = {start!r} is not a date like 2020-01-31.") from None
    if isinstance(start, dt.datetime):
        start = start.date()
    if not isinstance(start, dt.date):
        raise _fail(path, f"'start_date' must be a date like 2020-01-31, got {start!r}.")

    as_of = raw.get("as_of")
    if as_of is not None:
        if isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
            as_of = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)
        if not isinstance(as_of, dt.datetime):
            raise _fail(path, f"'as_of' must be a date or datetime, got {as_of!r}.")
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=zoneinfo.ZoneInfo(timezone))
        as_of = as_of.astimezone(dt.UTC)

    files_raw = raw.get("files", {})
    if not isinstance(files_raw, dict):
        raise _fail(path, "'[files]' must be a table of table name = file name.")
    separator = files_raw.get("separator")
    if separator is not None and (not isinstance(separator, str) or len(separator) != 1):
        raise _fail(path, f"'files.separator' must be one character, got {separator!r}.")
    files: dict[str, str] = {}
    for key in files_raw:
        if key == "separator":
            continue
        if key not in TABLES:
            raise _fail(path, f"'files.{key}' is not a table cxlab knows.{did_you_mean(key, TABLES)} "
                        f"Tables: {', '.join(TABLES)}.")
        files[key] = string(key, files_raw, "files.")
    if "events" not in files:
        raise _fail(path, "'[files]' must name at least the events file, e.g. events = \"events.csv\".")

    columns_raw = raw.get("columns", {})
    columns: dict[str, dict[str, str]] = {}
    for table, mapping in columns_raw.items():
        if table not in TABLES:
            raise _fail(path, f"'[columns.{table}]' is not a table cxlab knows.{did_you_mean(table, TABLES)}")
        if not isinstance(mapping, dict):
            raise _fail(path, f"'[columns.{table}]' must map source column = canonical column.")
        known = TABLES[table].names
        for source, canonical in mapping.items():
            if not isinstance(canonical, str):
                raise _fail(path, f"'columns.{table}.{source}' must be a column name string.")
            if canonical not in known:
                raise _fail(
                    path,
                    f"'columns.{table}' maps '{source}' to '{canonical}', which is not a canonical "
                    f"{table} column.{did_you_mean(canonical, known)} Canonical: {', '.join(known)}.",
                )
        columns[table] = dict(mapping)

    journey_raw = raw.get("journey", {})
    journey_map = dict(DEFAULT_JOURNEY_MAP) if journey_raw.get("use_default_map", True) else {}
    for touchpoint, stage in journey_raw.get("map", {}).items():
        if stage not in STAGES:
            raise _fail(
                path,
                f"'journey.map.{touchpoint}' = {stage!r} is not a stage.{did_you_mean(str(stage), STAGES)} "
                f"Stages: {', '.join(STAGES)}.",
            )
        journey_map[touchpoint] = stage
    purchases = tuple(journey_raw.get("purchase_touchpoints", DEFAULT_PURCHASE_TOUCHPOINTS))
    for touchpoint in purchases:
        if journey_map.get(touchpoint) != "purchase":
            raise _fail(
                path,
                f"'journey.purchase_touchpoints' lists {touchpoint!r}, which the journey map does "
                f"not put in the purchase stage. Add `{touchpoint} = \"purchase\"` under [journey.map].",
            )

    churn_raw = raw.get("churn", {})
    method = churn_raw.get("method", "column")
    if method not in ("column", "inactivity"):
        raise _fail(path, f"'churn.method' must be \"column\" or \"inactivity\", got {method!r}.")
    days = churn_raw.get("inactivity_days", 90)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise _fail(path, f"'churn.inactivity_days' must be a whole number of days >= 1, got {days!r}.")

    return ClientConfig(
        folder=folder,
        name=name,
        industry=string("industry", raw, "", default=""),
        timezone=timezone,
        timestamp_formats=tuple(formats),
        start_date=start,
        currency=string("currency", raw, "", default=""),
        files=files,
        separator=separator,
        columns=columns,
        journey_map=journey_map,
        purchase_touchpoints=purchases,
        churn=ChurnDefinition(method=method, inactivity_days=days),
        as_of=as_of,
    )
