"""Plain words for readers: counts with their noun, lists joined as a person writes them.

The base layer every other layer may use: the analyses' ``reading()`` sentences and the
report's sentences are written with the same two helpers.

Examples
--------
>>> plural(1, "respondent"), plural(1200, "customer"), plural(2, "child", "children")
('1 respondent', '1,200 customers', '2 children')
>>> and_list(["a"]), and_list(["a", "b"]), and_list(["a", "b", "c"])
('a', 'a and b', 'a, b and c')
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["and_list", "plural"]


def plural(n: int, one: str, many: str | None = None) -> str:
    """``n`` with thousands separators and the noun in the right number."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def and_list(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c' (empty for no words)."""
    words = list(words)
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
