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
  (``[email]``, ``[phone]``, ``[number]``, using :func:`cxlab.voc.mask_pii`);
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
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from cxlab.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from cxlab.client import Client

__all__ = [
    "SALT_ENV",
    "SALT_FILE_NAME",
    "default_salt_file",
    "read_or_create_secret",
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
#: Code-like columns (mapped by the journey map or a fixed vocabulary): never rewritten.
_STRUCTURAL = ("touchpoint", "channel", "survey", "stage", "reason", "column")
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


def read_or_create_secret(path: str | os.PathLike[str]) -> bytes:
    """Read the project secret from ``path``, creating it (0600, 32 random bytes) if missing.

    Creation is race-free: parallel report runs that all find the file missing agree on one
    secret (exclusive create; the losers read the winner's file).
    """
    p = Path(path)
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
            raise ConfigError(f"Cannot read the pseudonymisation salt file {p}: {exc}. "
                              f"Fix its permissions or delete it to make a new one.") from None
        if text:
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
    hashed = [prefix + hashlib.blake2b(v.encode("utf-8"), key=key, digest_size=6).hexdigest() for v in values]
    return pl.DataFrame({"id": values, "pseudonym": hashed}, schema={"id": pl.String, "pseudonym": pl.String})


def _mask(expr: pl.Expr) -> pl.Expr:
    try:
        from cxlab.voc import mask_pii
    except ImportError:  # pragma: no cover - cxlab.voc ships with cxlab
        return expr.str.replace_all(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-.]+\.[A-Za-z]{2,}", "[email]").str.replace_all(
            r"\+?\d[\d ()./\-]{6,}\d", "[phone]"
        )
    return mask_pii(expr)


def pseudonymize_frame(
    frame: pl.DataFrame,
    mapping: pl.DataFrame,
    *,
    session_mapping: pl.DataFrame | None = None,
    text_columns: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Pseudonymise one frame with an id → pseudonym ``mapping`` (from :func:`pseudonyms`).

    ``customer_id`` (and ``session_id`` with ``session_mapping``) are replaced, PII-named
    columns dropped, and every other String column has ids quoted in it replaced and e-mails,
    phones and long numbers masked (``text_columns`` limits which).

    Examples
    --------
    >>> m = pseudonyms(pl.Series(["cust-0001"]), salt=b"s")
    >>> f = pl.DataFrame({"customer_id": ["cust-0001"], "email": ["a@b.com"],
    ...                   "comment": ["I am cust-0001, mail a@b.com"]})
    >>> out = pseudonymize_frame(f, m)
    >>> out.columns, "cust-0001" in out.get_column("comment")[0], "[email]" in out.get_column("comment")[0]
    (['customer_id', 'comment'], False, True)
    """
    drop = [c for c in frame.columns if c not in _ID_COLUMNS and _PII_COLUMN_RE.search(c)]
    out = frame.drop(drop)
    exprs = []
    if "customer_id" in out.columns:
        exprs.append(
            pl.col("customer_id").cast(pl.String).replace_strict(
                mapping.get_column("id"), mapping.get_column("pseudonym"), default=None, return_dtype=pl.String
            )
        )
    if "session_id" in out.columns and session_mapping is not None:
        exprs.append(
            pl.col("session_id").cast(pl.String).replace_strict(
                session_mapping.get_column("id"), session_mapping.get_column("pseudonym"), default=None,
                return_dtype=pl.String,
            )
        )
    long_ids = mapping.filter(pl.col("id").str.len_chars() >= _MIN_ID_LEN_IN_TEXT)
    # Longest first, so an id that contains another id is replaced whole.
    long_ids = long_ids.sort(pl.col("id").str.len_chars(), "id", descending=[True, False])
    for name, dtype in out.schema.items():
        if name in _ID_COLUMNS or name in _STRUCTURAL or dtype != pl.String:
            continue
        if text_columns is not None and name not in text_columns:
            continue
        e = pl.col(name)
        if long_ids.height:
            e = e.str.replace_many(long_ids.get_column("id").to_list(), long_ids.get_column("pseudonym").to_list())
        exprs.append(_mask(e).alias(name))
    return out.with_columns(exprs) if exprs else out


def pseudonymize_client(client: Client, salt: bytes) -> Client:
    """A copy of ``client`` in which no customer can be identified.

    Parameters
    ----------
    client : Client
        A loaded client (:func:`cxlab.client.load_client`).
    salt : bytes
        The client's salt, e.g. ``client_salt(read_or_create_secret(default_salt_file()),
        client.slug)``. Never write it into a report.

    Returns
    -------
    Client
        Same tables and validation report; ids replaced by ``C-xxxxxxxxxxxx`` pseudonyms
        (consistent across events, feedback and customers), PII-named columns dropped, PII in
        text masked. The rows set aside at load are pseudonymised the same way.

    Examples
    --------
    >>> from cxlab.client import load_client
    >>> client = load_client("data/sample/bookshop")  # doctest: +SKIP
    >>> safe = pseudonymize_client(client, client_salt(b"secret", client.slug))  # doctest: +SKIP
    >>> safe.events.get_column("customer_id")[0][:2]  # doctest: +SKIP
    'C-'
    """
    frames = {"events": client.events, "feedback": client.feedback, "customers": client.customers}
    ids = pl.concat(
        [f.get_column("customer_id").cast(pl.String) for f in frames.values() if "customer_id" in f.columns]
        + [
            f.get_column("customer_id").cast(pl.String)
            for f in client.set_aside.values()
            if "customer_id" in f.columns
        ],
        how="vertical",
    ) if frames else pl.Series("customer_id", [], dtype=pl.String)
    mapping = pseudonyms(ids, salt)
    session_ids = [f.get_column("session_id").cast(pl.String) for f in [*frames.values(), *client.set_aside.values()]
                   if "session_id" in f.columns]
    session_mapping = pseudonyms(pl.concat(session_ids), salt, prefix="S-") if session_ids else None
    new = {k: pseudonymize_frame(v, mapping, session_mapping=session_mapping) for k, v in frames.items()}
    set_aside = {k: pseudonymize_frame(v, mapping, session_mapping=session_mapping) for k, v in client.set_aside.items()}
    return dataclasses.replace(client, set_aside=set_aside, **new)
