"""Pseudonymisation for shared reports: salted hashes for customer ids, PII masked in text.

A client report is shared outside the analyst's machine, so by default (``pseudonymize=True``
in the report notebook) nothing in it identifies a customer:

* every ``customer_id`` (and ``session_id``) becomes ``"C-" + 12 hex digits`` of a keyed
  BLAKE2b hash. The key is a per-client salt derived from a project secret, so the same
  customer gets the same pseudonym in every run of one client (reports stay comparable and
  ``--resume`` hashes stay stable) while pseudonyms cannot be matched across clients or
  reversed by hashing guessed ids without the secret;
* customer ids quoted inside free text (comments) are replaced by their pseudonyms;
* e-mail addresses, phone numbers and long digit runs in every text column are masked
  (``[email]``, ``[phone]``, ``[number]``, using :func:`cxlab.pii.mask_pii`);
* attribute columns whose *name* says they hold contact details or names (``email``,
  ``phone``, ``first_name``, ``address`` …) are dropped.

Where the secret lives
----------------------
The project secret is 32 random bytes (hex) in a *salt file kept outside the reports folder*:
by default ``<reports folder>/../.cxlab-salt`` (for ``--out reports`` that is the project root,
where ``.cxlab-salt`` is git-ignored), or the file named by the ``CXLAB_SALT_FILE`` environment
variable. It is created on first use with permissions 0600. The executed notebook records only
the salt file's *path*, never the secret. Deleting the file gives every customer a new
pseudonym on the next run. Keep it out of version control and out of anything you share.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from cxlab.contract.validation import REDACTED
from cxlab.errors import ConfigError, ParameterError
from cxlab.pii import looks_like_event_name, mask_pii, strip_controls

if TYPE_CHECKING:  # pragma: no cover
    from cxlab.io.client import Client

__all__ = [
    "SALT_ENV",
    "SALT_FILE_NAME",
    "default_salt_file",
    "check_salt_file",
    "read_or_create_secret",
    "REDACTED",
    "redact_text",
    "redact_error_text",
    "redact_notebook",
    "redact_run_record",
    "client_salt",
    "pseudonyms",
    "pseudonymize_frame",
    "pseudonymize_client",
    "PII_COLUMN_PATTERN",
]

#: Environment variable naming the salt file (overrides the default location).
SALT_ENV = "CXLAB_SALT_FILE"
#: File name of the project secret, next to (never inside) the reports folder.
SALT_FILE_NAME = ".cxlab-salt"
#: Attribute columns whose names match this (case-insensitive) are dropped when pseudonymising.
PII_COLUMN_PATTERN = (
    r"(?i)(e[-_ ]?mail|phone|mobile|telephone|(^|_)tel$|(^|_)name$|first_?name|last_?name|"
    r"full_?name|surname|address|street|post_?code|zip_?code|birth|(^|_)dob$|passport|ssn|iban)"
)
_PII_COLUMN_RE = re.compile(PII_COLUMN_PATTERN)
_ID_COLUMNS = ("customer_id", "session_id")
T = TypeVar("T", pl.Expr, pl.Series, str)
#: Columns cxlab writes itself (reason codes, canonical names): only control characters go.
_GENERATED = ("stage", "reason", "column")
#: Coded columns the client types (touchpoint, channel, survey): known values are kept.
_CODED = ("touchpoint", "channel", "survey")
_MIN_ID_LEN_IN_TEXT = 4  # shorter ids ("17") are not replaced inside free text


def default_salt_file(out_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the project secret lives: ``$CXLAB_SALT_FILE``, else ``<out_dir>/../.cxlab-salt``.

    Without ``out_dir`` the project's reports folder is assumed (so the project root).

    Examples
    --------
    >>> p = default_salt_file("/srv/cx/reports")
    >>> p.as_posix() == "/srv/cx/.cxlab-salt" or SALT_ENV in os.environ
    True
    """
    env = os.environ.get(SALT_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if out_dir is None:
        from cxlab.config import REPORTS_DIR

        out_dir = REPORTS_DIR
    return Path(out_dir).expanduser().resolve().parent / SALT_FILE_NAME


def check_salt_file(
    path: str | os.PathLike[str], reports_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Refuse a salt file inside the reports folder, or one that other users can read.

    The reports folder is what gets shared, so a secret inside it would travel with the
    reports; a secret readable by other users (group or world permission bits) may already
    have been copied. Both raise :class:`~cxlab.errors.ConfigError` saying how to fix it
    (nothing is changed silently). A missing file passes: it is created private.

    Returns
    -------
    Path
        The resolved path.

    Examples
    --------
    >>> check_salt_file("/srv/cx/reports/.cxlab-salt", reports_dir="/srv/cx/reports")
    Traceback (most recent call last):
    ...
    cxlab.errors.ConfigError: The pseudonymisation salt file /srv/cx/reports/.cxlab-salt is inside the reports folder /srv/cx/reports, which is shared with the reports. Move it out (e.g. to /srv/cx/.cxlab-salt) and pass that path with --salt-file, or set CXLAB_SALT_FILE.
    """
    p = Path(path).expanduser().resolve()
    if reports_dir is not None:
        out = Path(reports_dir).expanduser().resolve()
        if p == out or out in p.parents:
            raise ConfigError(
                f"The pseudonymisation salt file {p} is inside the reports folder {out}, which is "
                f"shared with the reports. Move it out (e.g. to {out.parent / SALT_FILE_NAME}) and "
                f"pass that path with --salt-file, or set {SALT_ENV}."
            )
    if os.name == "posix":
        try:
            mode = p.stat().st_mode & 0o777
        except FileNotFoundError:
            return p
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the pseudonymisation salt file {p}: {exc}. "
                f"Fix its permissions (chmod 600 {p})."
            ) from None
        if mode & 0o077:
            raise ConfigError(
                f"The pseudonymisation salt file {p} can be read by other users (mode "
                f"{mode:04o}); it must be private to you (0600). Run: chmod 600 {p} — or, if "
                f"others may already have copied it, delete it so a new secret is made "
                f"(customers then get new pseudonyms)."
            )
    return p


def read_or_create_secret(
    path: str | os.PathLike[str], *, reports_dir: str | os.PathLike[str] | None = None
) -> bytes:
    """Read the project secret from ``path``, creating it (0600, 32 random bytes) if missing.

    Creation is race-free: parallel report runs that all find the file missing agree on one
    secret (exclusive create; the losers read the winner's file). An existing file must be
    private (see :func:`check_salt_file`), and outside ``reports_dir`` when given.
    """
    p = check_salt_file(path, reports_dir)
    for _ in range(50):
        try:
            text = p.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            p.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"Cannot read the pseudonymisation salt file {p}: {exc}. "
                f"Fix its permissions or delete it to make a new one."
            ) from None
        if text:
            check_salt_file(p)
            try:
                return bytes.fromhex(text)
            except ValueError:
                raise ConfigError(
                    f"The pseudonymisation salt file {p} does not hold a hex secret. Delete it "
                    f"to make a new one (customers then get new pseudonyms)."
                ) from None
        time.sleep(0.05)  # empty: another process is writing it right now
    raise ConfigError(f"The pseudonymisation salt file {p} stayed empty. Delete it and run again.")


def client_salt(secret: bytes, client_slug: str) -> bytes:
    """The per-client salt: HMAC-SHA256(secret, client slug).

    Examples
    --------
    >>> client_salt(b"k", "bookshop") != client_salt(b"k", "bank")
    True
    """
    return hmac.new(secret, client_slug.encode("utf-8"), hashlib.sha256).digest()


def pseudonyms(ids: pl.Series, salt: bytes, prefix: str = "C-") -> pl.DataFrame:
    """The pseudonym of each distinct id: ``prefix + blake2b(id, key=salt)[:12 hex]``.

    The hash runs in Python over the *distinct* ids (a keyed cryptographic hash has no polars
    expression; polars' own ``hash`` is neither keyed nor stable across versions). Rows are
    mapped with polars afterwards.

    Returns
    -------
    pl.DataFrame
        Columns ``id`` and ``pseudonym``, sorted by ``id``.

    Examples
    --------
    >>> m = pseudonyms(pl.Series(["b", "a", "b"]), salt=b"s")
    >>> m.get_column("id").to_list(), m.get_column("pseudonym").str.len_chars().to_list()
    (['a', 'b'], [14, 14])
    """
    distinct = ids.drop_nulls().cast(pl.String).unique().sort()
    key = hashlib.sha256(salt).digest()  # blake2b keys are at most 64 bytes
    values = distinct.to_list()
    hashed = [
        prefix + hashlib.blake2b(v.encode("utf-8"), key=key, digest_size=6).hexdigest()
        for v in values
    ]
    return pl.DataFrame(
        {"id": values, "pseudonym": hashed}, schema={"id": pl.String, "pseudonym": pl.String}
    )


_QUOTED_RE = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TOKEN_OPEN, _TOKEN_CLOSE = "\ue000", "\ue001"  # private-use characters: never in real text


def _token(i: int) -> str:
    """A digit-free placeholder for the i-th id (so masking cannot touch it)."""
    letters = ""
    while True:
        letters = chr(ord("a") + i % 26) + letters
        i //= 26
        if i == 0:
            return _TOKEN_OPEN + letters + _TOKEN_CLOSE


def _id_table(mapping: pl.DataFrame | None) -> pl.DataFrame | None:
    """The ids worth replacing in text (4+ characters), longest first, with their tokens."""
    if mapping is None or mapping.height == 0:
        return None
    long_ids = mapping.filter(pl.col("id").str.len_chars() >= _MIN_ID_LEN_IN_TEXT)
    if long_ids.height == 0:
        return None
    # Longest first, so an id that contains another id is replaced whole.
    long_ids = long_ids.sort(pl.col("id").str.len_chars(), "id", descending=[True, False])
    return long_ids.with_columns(
        token=pl.Series([_token(i) for i in range(long_ids.height)], dtype=pl.String)
    )


def _redact_expr(e: pl.Expr, ids: pl.DataFrame | None) -> pl.Expr:
    e = strip_controls(e)
    if ids is None:
        return mask_pii(e)
    # ids (in any letter case) -> digit-free tokens, mask, tokens -> pseudonyms: the hex
    # digits of a pseudonym are never mistaken for a phone or account number.
    e = e.str.replace_many(
        ids.get_column("id").to_list(),
        ids.get_column("token").to_list(),
        ascii_case_insensitive=True,
        leftmost=True,
    )
    e = mask_pii(e)
    return e.str.replace_many(
        ids.get_column("token").to_list(), ids.get_column("pseudonym").to_list()
    )


def redact_text(text: T, mapping: pl.DataFrame | None = None) -> T:
    r"""Text as a pseudonymised report may show it: controls removed, ids replaced, PII masked.

    Control and bidirectional characters are removed (:func:`cxlab.pii.strip_controls`),
    every id of ``mapping`` (from :func:`pseudonyms`; ids of 4+ characters, in any letter
    case) is replaced by its pseudonym, and e-mails, phone numbers and long numbers are masked
    (:func:`cxlab.pii.mask_pii`). Works on a polars expression, a Series or one string.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["BK-100065"], "pseudonym": ["C-0a1b2c3d4e5f"]})
    >>> redact_text("bk-100065 wrote from a@b.com\u202e, call 06 12 34 56 78", m)
    'C-0a1b2c3d4e5f wrote from [email], call [phone]'
    """
    ids = _id_table(mapping)
    if isinstance(text, pl.Expr):
        return _redact_expr(text, ids)
    if isinstance(text, pl.Series):
        return pl.select(_redact_expr(pl.lit(text), ids)).to_series().alias(text.name)
    if isinstance(text, str):
        return pl.select(_redact_expr(pl.lit(text, dtype=pl.String), ids)).item()
    raise ParameterError(
        f"redact_text expects a polars Expr, Series or str. Got {type(text).__name__} instead."
    )


def redact_error_text(text: str) -> str:
    """An error message or traceback as a pseudonymised run record may show it.

    Exception messages can quote input values (``Values like 'jo@x.io'``). A quoted literal
    is kept only when it looks like a column, file or event name (``'Customer Ref'``, see
    :func:`looks_like_event_name`); any other (an e-mail, a phone, an id, a number, code) is
    replaced by ``'[hidden]'``. Then controls are removed and PII masked in what remains.
    A quoted word (a name typed where a number belongs) cannot be told from a column name and
    is kept.

    Examples
    --------
    >>> redact_error_text("column 'Amount': Values like 'jo@x.io', 'BK-100065'. Call 555-8123")
    "column 'Amount': Values like '[hidden]', '[hidden]'. Call [phone]"
    """

    def quoted(m: re.Match[str]) -> str:
        q = m.group(0)
        return q if looks_like_event_name(q[1:-1]) else f"{q[0]}{REDACTED}{q[0]}"

    plain = _ANSI_RE.sub("", str(text))  # terminal colours of a traceback
    return redact_text(_QUOTED_RE.sub(quoted, plain))


def redact_notebook(nb: Any) -> Any:
    """Redact, in place, what an executed notebook's error and stderr outputs quote.

    Error values, traceback lines and stderr text go through :func:`redact_error_text`
    (an exception raised while loading a client can quote a raw input value). Returns ``nb``.
    """
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            if output.get("output_type") == "error":
                output["evalue"] = redact_error_text(output.get("evalue", ""))
                output["traceback"] = [
                    redact_error_text(line) for line in output.get("traceback", [])
                ]
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = output.get("text", "")
                output["text"] = redact_error_text(
                    "".join(text) if isinstance(text, list) else text
                )
    return nb


def redact_run_record(record: dict[str, Any]) -> dict[str, Any]:
    """A run record (``run.json``) whose failure texts quote no input value.

    Examples
    --------
    >>> r = redact_run_record({"failure": {"ename": "DataError", "evalue": "bad 'jo@x.io'",
    ...                                    "summary": "DataError: bad 'jo@x.io'"}})
    >>> r["failure"]["evalue"], r["failure"]["summary"]
    ("bad '[hidden]'", "DataError: bad '[hidden]'")
    """
    failure = record.get("failure")
    if not failure:
        return record
    failure = dict(failure)
    for key in ("evalue", "traceback"):
        if isinstance(failure.get(key), str):
            failure[key] = redact_error_text(failure[key])
    summary, ename = failure.get("summary"), failure.get("ename")
    if isinstance(summary, str):
        # "cell 3 ('client = load_client(...)'): DataError: <message>": the cell's code is
        # the template's, only the message can quote input values
        head, sep, tail = summary.partition(f"{ename}: ") if ename else ("", "", summary)
        failure["summary"] = (
            head + sep + redact_error_text(tail) if sep else redact_error_text(summary)
        )
    return {**record, "failure": failure}


def pseudonymize_frame(
    frame: pl.DataFrame,
    mapping: pl.DataFrame,
    *,
    session_mapping: pl.DataFrame | None = None,
    text_columns: tuple[str, ...] | None = None,
    known: Mapping[str, Collection[str]] | None = None,
) -> pl.DataFrame:
    """Pseudonymise one frame with an id → pseudonym ``mapping`` (from :func:`pseudonyms`).

    ``customer_id`` (and ``session_id`` with ``session_mapping``) are replaced, PII-named
    columns dropped, and every other String column has ids quoted in it (in any letter case)
    replaced, e-mails, phones and long numbers masked and control characters removed
    (:func:`redact_text`; ``text_columns`` limits which). The coded columns ``touchpoint``,
    ``channel`` and ``survey`` keep the values listed for them in ``known`` (e.g. the journey
    map's touchpoints) as they are and are redacted otherwise (an e-mail typed as a touchpoint
    becomes ``[email]``).

    Examples
    --------
    >>> m = pseudonyms(pl.Series(["cust-0001"]), salt=b"s")
    >>> f = pl.DataFrame({"customer_id": ["cust-0001"], "email": ["a@b.com"],
    ...                   "comment": ["I am CUST-0001, mail a@b.com"]})
    >>> out = pseudonymize_frame(f, m)
    >>> out.columns, "0001" in out.get_column("comment")[0], "[email]" in out.get_column("comment")[0]
    (['customer_id', 'comment'], False, True)
    """
    drop = [c for c in frame.columns if c not in _ID_COLUMNS and _PII_COLUMN_RE.search(c)]
    out = frame.drop(drop)
    exprs = []
    if "customer_id" in out.columns:
        exprs.append(
            pl.col("customer_id")
            .cast(pl.String)
            .replace_strict(
                mapping.get_column("id"),
                mapping.get_column("pseudonym"),
                default=None,
                return_dtype=pl.String,
            )
        )
    if "session_id" in out.columns and session_mapping is not None:
        exprs.append(
            pl.col("session_id")
            .cast(pl.String)
            .replace_strict(
                session_mapping.get_column("id"),
                session_mapping.get_column("pseudonym"),
                default=None,
                return_dtype=pl.String,
            )
        )
    ids = _id_table(mapping)
    known = known or {}
    for name, dtype in out.schema.items():
        if name in _ID_COLUMNS or name in _GENERATED and dtype != pl.String:
            continue
        if isinstance(dtype, (pl.Categorical, pl.Enum)):
            # a prepared frame's coded text: its categories are client data too (it becomes
            # String here; re-prepare the pseudonymised frame for the prepared speed)
            out = out.with_columns(pl.col(name).cast(pl.String))
        elif dtype != pl.String:
            continue
        if name in _GENERATED:
            exprs.append(strip_controls(pl.col(name)))
        elif name in _CODED:
            keep = sorted(known.get(name, ()))
            e = _redact_expr(pl.col(name), ids)
            exprs.append(
                (
                    pl.when(pl.col(name).is_in(keep)).then(pl.col(name)).otherwise(e) if keep else e
                ).alias(name)
            )
        elif text_columns is None or name in text_columns:
            exprs.append(_redact_expr(pl.col(name), ids).alias(name))
    return out.with_columns(exprs) if exprs else out


def pseudonymize_client(client: Client, salt: bytes) -> Client:
    """A copy of ``client`` in which no customer can be identified.

    Parameters
    ----------
    client : Client
        A loaded client (:func:`cxlab.io.client.load_client`).
    salt : bytes
        The client's salt, e.g. ``client_salt(read_or_create_secret(default_salt_file()),
        client.slug)``. Never write it into a report.

    Returns
    -------
    Client
        Same tables; ids replaced by ``C-xxxxxxxxxxxx`` pseudonyms (consistent across
        events, feedback and customers), PII-named columns dropped, PII in text masked,
        touchpoints outside the journey map redacted. The rows set aside at load are
        pseudonymised the same way, and the validation report is the redacted one
        (:meth:`cxlab.contract.validation.ValidationReport.redacted`: no value quoted from the input,
        row numbers and counts kept).

    Examples
    --------
    >>> from cxlab.io.client import load_client
    >>> client = load_client("data/sample/bookshop")  # doctest: +SKIP
    >>> safe = pseudonymize_client(client, client_salt(b"secret", client.slug))  # doctest: +SKIP
    >>> safe.events.get_column("customer_id")[0][:2]  # doctest: +SKIP
    'C-'
    """
    frames = {"events": client.events, "feedback": client.feedback, "customers": client.customers}
    ids = (
        pl.concat(
            [
                f.get_column("customer_id").cast(pl.String)
                for f in frames.values()
                if "customer_id" in f.columns
            ]
            + [
                f.get_column("customer_id").cast(pl.String)
                for f in client.set_aside.values()
                if "customer_id" in f.columns
            ],
            how="vertical",
        )
        if frames
        else pl.Series("customer_id", [], dtype=pl.String)
    )
    mapping = pseudonyms(ids, salt)
    session_ids = [
        f.get_column("session_id").cast(pl.String)
        for f in [*frames.values(), *client.set_aside.values()]
        if "session_id" in f.columns
    ]
    session_mapping = pseudonyms(pl.concat(session_ids), salt, prefix="S-") if session_ids else None
    journey_map = getattr(client.config, "journey_map", None) or {}
    purchases = getattr(client.config, "purchase_touchpoints", None) or ()
    known = {
        "touchpoint": {*map(str, journey_map), *map(str, purchases)},
        "survey": {"nps", "csat", "ces"},
    }
    kw = {"session_mapping": session_mapping, "known": known}
    new = {k: pseudonymize_frame(v, mapping, **kw) for k, v in frames.items()}
    set_aside = {k: pseudonymize_frame(v, mapping, **kw) for k, v in client.set_aside.items()}
    validation = client.validation.redacted(
        text=lambda t: redact_text(t, mapping), keep=lambda v: looks_like_event_name(v, mapping)
    )
    return dataclasses.replace(client, set_aside=set_aside, validation=validation, **new)
