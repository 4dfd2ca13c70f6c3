"""Personal data in text: the patterns that find it, and what any text shown goes through.

The base layer every other layer may use (the loader needs it to decide which touchpoint
names a pseudonymised report may quote; the comment analyses and the reports to mask and
escape what they show):

* :func:`mask_pii` replaces e-mail addresses, phone numbers and long digit runs (card,
  account and order numbers) with ``[email]``, ``[phone]``, ``[number]`` — vectorised polars
  regular expressions.
* :func:`strip_controls` removes NUL bytes, control characters and Unicode bidirectional
  controls (U+202E …), which can make text display differently from what it says.
* :func:`html_escape` escapes ``& < > " '`` so a comment can never become markup.
  :func:`safe_text` = escape(mask(strip_controls(text))): what notebooks and reports show.
* :func:`looks_like_event_name` decides whether a touchpoint name typed by the client may be
  quoted in a pseudonymised report.

:mod:`cxlab.analysis.voc` and :mod:`cxlab.report.privacy` import these names from here (and
still offer them under their old addresses).
"""

from __future__ import annotations

import re
from typing import TypeVar

import polars as pl

from cxlab.errors import ParameterError

__all__ = [
    "PII_PATTERNS",
    "CONTROL_PATTERN",
    "mask_pii",
    "strip_controls",
    "html_escape",
    "safe_text",
    "looks_like_event_name",
]

T = TypeVar("T", pl.Expr, pl.Series, str)

#: (pattern, replacement) applied in this order. Rust regex syntax (no look-around: a pattern
#: that must not follow some characters captures the character before it as ``$1``).
#: Phone formats covered (tests/analysis/test_voc.py): international ``+CC``/``00CC`` forms; UK
#: ``020 7946 0958``, ``07700 900123``, ``0161 496 0000``; FR ``06 12 34 56 78``,
#: ``06.12.34.56.78``, ``0612345678``; DE ``030 12345678``, ``030/1234567``,
#: ``0171-1234567``, ``089 123 456 78``; US ``(555) 123-4567``, ``555-123-4567``,
#: ``1-800-555-1234``, ``555 8123``, ``555-8123``. Kept: dates (``2025-03-01``,
#: ``01/03/2025``, ``01.03.2025``), amounts (``1,234.56``, ``1.234,56``, ``12.50``), times
#: and numbers of up to 5 digits (``order 12345``). Any run of 6 or more digits is masked.
PII_PATTERNS: tuple[tuple[str, str], ...] = (
    # e-mail addresses, including plus-addressing and multi-part domains
    (r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}", "[email]"),
    # card-like numbers: 13–19 digits, optionally grouped by single spaces or hyphens
    (r"\b(?:\d[ \-]?){12,18}\d\b", "[number]"),
    # international phone numbers: +CC or 00CC, then 2–7 groups, optional (area) code or (0)
    (r"(?:\+|\b00)[1-9]\d{0,2}(?:[ .\-/]?\(?\d{1,5}\)?){2,7}", "[phone]"),
    # (555) 123-4567, (020) 7946 0958
    (r"\(\d{2,5}\)[ .\-]?\d{2,5}(?:[ .\-]?\d{2,5}){0,3}", "[phone]"),
    # 555-123-4567, 1-800-555-1234, 020 7946 0958, 089 123 456 78 (the second and third
    # groups have >= 3 digits, so ISO dates are kept)
    (r"\b(?:1[ .\-])?\d{2,5}[ .\-]\d{3,5}[ .\-]\d{3,5}(?:[ .\-]\d{2})?\b", "[phone]"),
    # French: 06 12 34 56 78, 06.12.34.56.78, 06-12-34-56-78, 0612345678
    (r"\b0[1-9](?:[ .\-]?\d{2}){4}\b", "[phone]"),
    # UK / DE trunk prefix then one block: 07700 900123, 030 12345678, 030/1234567
    (r"\b0[1-9]\d{1,3}[ /\-]?\d{5,8}\b", "[phone]"),
    # US local 7 digits: 555 8123, 555-8123, 555.8123 (not inside a longer number or amount)
    (r"(^|[^\w.,/+\-])\d{3}[ .\-]\d{4}\b", "${1}[phone]"),
    # any other run of 6 or more digits (account, order, mobile numbers)
    (r"\d{6,}", "[number]"),
)
#: Characters removed from any text shown: NUL and other C0 controls (tab, newline and
#: carriage return are kept), DEL, and the Unicode bidirectional controls that can make text
#: display in another order than it is stored (U+202E "right-to-left override" …).
CONTROL_PATTERN = (
    r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\x{061C}\x{200E}\x{200F}\x{202A}-\x{202E}\x{2066}-\x{2069}]"
)
_HTML = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))


def _apply(text: T, fn) -> T:  # type: ignore[no-untyped-def]
    if isinstance(text, pl.Expr):
        return fn(text)
    if isinstance(text, pl.Series):
        return pl.select(fn(pl.lit(text))).to_series().alias(text.name)
    if isinstance(text, str):
        return pl.select(fn(pl.lit(text, dtype=pl.String))).item()
    raise ParameterError(
        f"Expected a polars Expr, Series or str. Got {type(text).__name__} instead."
    )


def mask_pii(text: T) -> T:
    """Replace e-mails, phone numbers and long digit runs with placeholders.

    Works on a polars expression (vectorised, stays lazy), a Series, or one string.

    Examples
    --------
    >>> mask_pii("Mail jane.doe+cx@example.co.uk or call +44 20 7946 0958, card 4111 1111 1111 1111")
    'Mail [email] or call [phone], card [number]'
    >>> mask_pii("(555) 123-4567 on 2024-05-01, order 12345678")
    '[phone] on 2024-05-01, order [number]'
    """

    def fn(e: pl.Expr) -> pl.Expr:
        for pattern, repl in PII_PATTERNS:
            e = e.str.replace_all(pattern, repl)
        return e

    return _apply(text, fn)


def strip_controls(text: T) -> T:
    r"""Remove NUL bytes, other control characters and bidirectional controls.

    Tab, newline and carriage return are kept. A right-to-left override (U+202E) in a comment
    could otherwise make ``moc.elpmaxe@nhoj`` read as an innocent word, or reorder a table.

    Examples
    --------
    >>> strip_controls("pay\u202eKCATTA\u202c now\x00!")
    'payKCATTA now!'
    """
    return _apply(text, lambda e: e.str.replace_all(CONTROL_PATTERN, ""))


def html_escape(text: T) -> T:
    """Escape ``& < > " '`` for HTML (``&`` first, so nothing is escaped twice).

    Examples
    --------
    >>> html_escape('<script>alert("x")</script> & co')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co'
    """

    def fn(e: pl.Expr) -> pl.Expr:
        for raw, esc in _HTML:
            e = e.str.replace_all(raw, esc, literal=True)
        return e

    return _apply(text, fn)


def safe_text(text: T) -> T:
    r"""What is shown of a comment: control characters removed, PII masked, then HTML-escaped.

    Examples
    --------
    >>> safe_text("<b>mail me</b> at a@b.com\u202e")
    '&lt;b&gt;mail me&lt;/b&gt; at [email]'
    """
    return html_escape(mask_pii(strip_controls(text)))


_EVENT_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9 _\-/&.:()]{0,39}")


def looks_like_event_name(value: str, mapping: pl.DataFrame | None = None) -> bool:
    """Whether a touchpoint name typed by the client may be shown in a pseudonymised report.

    Shown: a name that starts with a letter, is at most 40 characters of letters, digits,
    spaces and ``_ - / & . : ( )``, has no run of 3 or more digits, nothing
    :func:`mask_pii` would mask, and is not a customer id of ``mapping`` (in any
    letter case). Anything else (an e-mail, a phone, an account number, a customer id typed
    as a touchpoint) is shown as ``[hidden]``. A person's name typed as a touchpoint looks
    like an event name and is shown: no pattern can tell the two apart.

    Examples
    --------
    >>> [looks_like_event_name(v) for v in ["page_view", "Checkout v2", "jo@x.io", "BK-100065", "555-8123"]]
    [True, True, False, False, False]
    """
    v = str(value)
    if not _EVENT_NAME_RE.fullmatch(v) or re.search(r"\d{3}", v) or mask_pii(v) != v:
        return False
    if mapping is not None and mapping.height:
        return not mapping.get_column("id").str.to_lowercase().is_in([v.lower()]).any()
    return True
