"""Survey questions declared in ``client.toml``: what each asks and on which scale.

``[questions.<name>]`` tables (kind, ``column`` or ``value``, ``label``, ``scale``,
``no_answer``) become :class:`Question` objects, checked together by
:func:`questions_from_settings` when :func:`cxlab.contract.client_config.read_client_config`
reads the file; :func:`question_table` is the small frame metrics, drivers and the report read
(labels, kinds, scales). Reading a file with them (wide exports, Qualtrics) is
:mod:`cxlab.io.surveys`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from cxlab.contract.schema import QUESTION_KINDS
from cxlab.errors import did_you_mean

__all__ = [
    "CSAT_LABELS",
    "IMPLIED_QUESTIONS",
    "Question",
    "question_table",
    "questions_from_settings",
]

_STANDARD = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
#: The usual five CSAT labels, lowest first (what ``cxlab init`` proposes for a CSAT in words).
CSAT_LABELS: tuple[str, ...] = (
    "Very dissatisfied",
    "Dissatisfied",
    "Neither satisfied nor dissatisfied",
    "Satisfied",
    "Very satisfied",
)
_BINARY_LABELS = ("bad", "good")


@dataclass(frozen=True)
class Question:
    """One declared survey question.

    Parameters
    ----------
    name : str
        Its key in ``[questions.<name>]``: the ``question`` value of its answers.
    kind : {"nps", "csat", "ces", "rating", "binary", "text"}
    label : str
        What readers see (default: the name).
    column : str or None
        Wide exports: the file column holding its answers.
    value : str or None
        Long exports: its value in the column mapped to ``survey``.
    low, high : int
        Its scale (nps 0–10, csat 1–5, ces 1–7, binary 0–1 unless declared).
    labels : tuple of str
        Answer labels, lowest first: the i-th label reads as ``low + i``.
    no_answer : tuple of str
        Answers that mean "not answered" (not counted as answers).
    comment_of : str or None
        Text questions of wide exports: the scored question whose answer row carries the
        comment (default: the NPS question, else the first scored question), so that a
        detractor's comment is read with the detractor's score.

    Examples
    --------
    >>> q = Question("delivery", "rating", "Delivery", column="Q5_1", low=1, high=5)
    >>> q.survey, q.scale_text
    ('rating', '1–5')
    >>> Question("sat", "csat", "Satisfaction", low=1, high=10).survey  # CSAT on 1–10: a rating
    'rating'
    """

    name: str
    kind: str
    label: str
    column: str | None = None
    value: str | None = None
    low: int = 0
    high: int = 0
    labels: tuple[str, ...] = ()
    no_answer: tuple[str, ...] = ()
    comment_of: str | None = None

    @property
    def survey(self) -> str:
        """The ``survey`` of its answers: nps, csat, ces on their standard scale, else the kind."""
        if self.kind in _STANDARD and (self.low, self.high) == _STANDARD[self.kind]:
            return self.kind
        return "rating" if self.kind in ("csat", "ces") else self.kind

    @property
    def scored(self) -> bool:
        """True for questions whose answers are numbers (every kind but text)."""
        return self.kind != "text"

    @property
    def scale_text(self) -> str:
        """The scale as readers write it (``1–5``, or the labels)."""
        if self.labels:
            return " … ".join((self.labels[0], self.labels[-1]))
        return f"{self.low}–{self.high}"


#: The questions of a client that declares none: the long format's three surveys.
IMPLIED_QUESTIONS: tuple[Question, ...] = (
    Question("nps", "nps", "NPS", value="nps", low=0, high=10),
    Question("csat", "csat", "CSAT", value="csat", low=1, high=5),
    Question("ces", "ces", "CES", value="ces", low=1, high=7),
)


# --------------------------------------------------------------------------- client.toml
def _slug_ok(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9_-]+", name) is not None


def questions_from_settings(
    declared: Mapping[str, Mapping[str, Any]],
    error: Callable[[tuple[str, ...], str, dict[str, Any] | None], Exception],
) -> tuple[Question, ...]:
    """Check the ``[questions]`` tables of ``client.toml`` together; build the questions.

    Parameters
    ----------
    declared : mapping
        Question name -> its checked keys (``kind``, ``column``, ``value``, ``label``,
        ``scale``, ``no_answer``), as :func:`cxlab.contract.client_config.read_client_config`
        reads them.
    error : callable
        ``error(key_path, message, fix)`` returns the exception to raise; ``fix`` is the
        corrected ``[questions.<name>]`` table (written as valid TOML by the caller).

    Returns
    -------
    tuple of Question
        In declaration order; :data:`IMPLIED_QUESTIONS` when none is declared.

    Examples
    --------
    >>> def err(where, message, fix):
    ...     return ValueError(message)
    >>> qs = questions_from_settings(
    ...     {"recommend": {"kind": "nps", "column": "Q1"},
    ...      "delivery": {"kind": "rating", "column": "Q5_1", "scale": (1, 5), "label": "Delivery"}}, err)
    >>> [(q.name, q.survey, q.low, q.high) for q in qs]
    [('recommend', 'nps', 0, 10), ('delivery', 'rating', 1, 5)]
    >>> questions_from_settings({"delivery": {"kind": "rating", "column": "Q5_1"}}, err)
    Traceback (most recent call last):
    ...
    ValueError: question 'delivery' is a rating but has no scale: say which answers it takes.
    """
    if not declared:
        return IMPLIED_QUESTIONS
    out = [_question(name, keys, error) for name, keys in declared.items()]
    _check_shapes(out, error)
    _check_one_each(out, error)
    return tuple(_with_comment_targets(out, error))


_Error = Callable[[tuple[str, ...], str, dict[str, Any] | None], Exception]


def _check_shapes(out: Sequence[Question], error: _Error) -> None:
    """One file shape for all questions, one column or value each, no text in long exports."""
    shapes = {q.name: "column" if q.column is not None else "value" for q in out}
    if len(set(shapes.values())) > 1:
        first = next(iter(shapes))
        other = next(n for n, s in shapes.items() if s != shapes[first])
        raise error(
            ("questions", other),
            f"question {other!r} is found by its {shapes[other]} but {first!r} by its "
            f"{shapes[first]}: a file is either wide (one column per question: 'column') or long "
            f"(one row per answer: 'value' in the survey column). Use one of the two.",
            {shapes[first]: _example(shapes[first], other)},
        )
    seen: dict[str, str] = {}
    for q in out:
        where = q.column if q.column is not None else (q.value or "").strip().lower()
        if where in seen:
            key = "column" if q.column is not None else "value"
            raise error(
                ("questions", q.name, key),
                f"questions {seen[where]!r} and {q.name!r} both read {key} {where!r}. Each "
                f"question has its own {key}.",
                None,
            )
        seen[where] = q.name
    if all(q.value is not None for q in out) and any(q.kind == "text" for q in out):
        t = next(q.name for q in out if q.kind == "text")
        raise error(
            ("questions", t),
            f"question {t!r} is a text question in a long export: map the comment column "
            f'under [columns.feedback] (its value is the comment, e.g. "Comment" = "comment") '
            f"and remove [questions.{t}].",
            None,
        )


def _check_one_each(out: Sequence[Question], error: _Error) -> None:
    """At most one question per standard score (NPS, CSAT, CES on their own scale)."""
    for kind in _STANDARD:
        same = [q.name for q in out if q.kind == kind and q.survey == kind]
        if len(same) > 1:
            raise error(
                ("questions", same[1]),
                f"questions {same[0]!r} and {same[1]!r} are both {kind} questions: the {kind.upper()} "
                f"score needs one. Declare the second as a rating on its scale.",
                {"kind": "rating", "scale": list(_STANDARD[kind])},
            )


def _with_comment_targets(out: Sequence[Question], error: _Error) -> list[Question]:
    """Text questions with the scored question their comment rides on (``comment_of``).

    Default: the NPS question, else the first scored question in declaration order.
    """
    scored = [q.name for q in out if q.scored]
    nps = [q.name for q in out if q.kind == "nps"]
    default = (nps or scored or [None])[0]
    result = []
    for q in out:
        if q.comment_of is not None and q.scored:
            raise error(
                ("questions", q.name, "comment_of"),
                f"question {q.name!r} is not a text question: only a text question's comment "
                f"rides on another question's answer. Remove its 'comment_of'.",
                None,
            )
        if q.comment_of is not None and q.comment_of not in scored:
            raise error(
                ("questions", q.name, "comment_of"),
                f"question {q.name!r}: comment_of = {q.comment_of!r} is not a declared scored "
                f"question.{did_you_mean(q.comment_of, scored)} Scored questions: "
                f"{', '.join(scored) or 'none'}.",
                {"kind": "text", "column": q.column, "comment_of": default},
            )
        if not q.scored and q.comment_of is None:
            q = replace(q, comment_of=default)
        result.append(q)
    return result


def _example(shape: str, name: str) -> str:
    return name.upper() if shape == "column" else name


def _question(name: str, keys: Mapping[str, Any], error: _Error) -> Question:
    """One ``[questions.<name>]`` table checked on its own: kind, where, scale, name."""
    kind = keys.get("kind")
    where = ("questions", name)
    if kind is None:
        raise error(
            where,
            f"question {name!r} has no kind: say what it asks ({', '.join(QUESTION_KINDS)}).",
            {**keys, "kind": "rating", "scale": [1, 5]},
        )
    column, value = keys.get("column"), keys.get("value")
    if (column is None) == (value is None):
        both = "both 'column' and 'value'" if column is not None else "neither 'column' nor 'value'"
        raise error(
            where,
            f"question {name!r} has {both}: give 'column' (the file column of a wide export, "
            f"one column per question) or 'value' (its value in the survey column of a long "
            f"export), not both.",
            {"kind": kind, "column": column or name.upper()},
        )
    low, high, labels = _scale(name, kind, keys, error)
    if not _slug_ok(name):
        raise error(
            where,
            f"question name {name!r} must be letters, digits, _ or - (it names the question in "
            f"tables and charts; the label is what readers see).",
            None,
        )
    return Question(
        name=name,
        kind=kind,
        label=keys.get("label") or name,
        column=column,
        value=value,
        low=low,
        high=high,
        labels=labels,
        no_answer=tuple(keys.get("no_answer") or ()),
        comment_of=keys.get("comment_of"),
    )


def _scale(
    name: str, kind: str, keys: Mapping[str, Any], error: _Error
) -> tuple[int, int, tuple[str, ...]]:
    """``(low, high, labels)`` of a question: its kind's standard scale, or the declared one."""
    where = ("questions", name)
    scale = keys.get("scale")
    if kind == "text":
        if scale is not None:
            raise error(
                (*where, "scale"),
                f"question {name!r} is a text question: it has no scale.",
                {k: v for k, v in keys.items() if k != "scale"},
            )
        return 0, 0, ()
    if scale is None:
        if kind == "rating":
            raise error(
                where,
                f"question {name!r} is a rating but has no scale: say which answers it takes.",
                {**keys, "scale": [1, 5]},
            )
        if kind == "binary":
            return 0, 1, _BINARY_LABELS
        return (*_STANDARD[kind], ())
    if all(isinstance(s, str) for s in scale):
        return _label_scale(name, kind, keys, tuple(scale), error)
    return (*_number_scale(name, kind, keys, tuple(scale), error), ())


def _label_scale(
    name: str, kind: str, keys: Mapping[str, Any], labels: tuple[str, ...], error: _Error
) -> tuple[int, int, tuple[str, ...]]:
    """A scale written as labels, lowest first: read as 1, 2, … (nps and binary from 0)."""
    where = ("questions", name, "scale")
    if kind == "nps" and len(labels) != 11:
        raise error(
            where,
            f"question {name!r} is an NPS question: its answers are 0–10 (11 labels, "
            f"got {len(labels)}).",
            {k: v for k, v in keys.items() if k != "scale"},
        )
    if kind == "binary" and len(labels) != 2:
        raise error(
            where,
            f"question {name!r} is a good/bad question: its scale is two labels, the "
            f"bad one first (got {len(labels)}).",
            {**keys, "scale": list(_BINARY_LABELS)},
        )
    if len({s.strip().lower() for s in labels}) != len(labels):
        raise error(where, f"question {name!r}: its scale lists a label twice.", None)
    base = 0 if kind in ("nps", "binary") else 1
    return base, base + len(labels) - 1, labels


def _number_scale(
    name: str, kind: str, keys: Mapping[str, Any], scale: tuple[int, int], error: _Error
) -> tuple[int, int]:
    """A scale written ``[low, high]``: NPS must be 0–10 and binary 0–1."""
    where = ("questions", name, "scale")
    low, high = scale
    if kind == "nps" and (low, high) != (0, 10):
        raise error(
            where,
            f"question {name!r} is an NPS question: its scale is 0–10 (got "
            f"{low}–{high}). A 'likely to recommend' on another scale is a rating.",
            {**keys, "kind": "rating", "scale": [low, high]},
        )
    if kind == "binary" and (low, high) != (0, 1):
        raise error(
            where,
            f"question {name!r} is a good/bad question: its scale is two labels, the "
            f"bad one first, or [0, 1].",
            {**keys, "scale": list(_BINARY_LABELS)},
        )
    return low, high


def question_table(questions: Sequence[Question] = IMPLIED_QUESTIONS) -> pl.DataFrame:
    """The questions as a small table: what metrics, drivers and the report read.

    Examples
    --------
    >>> question_table().select("question", "survey", "scale_low", "scale_high").rows()
    [('nps', 'nps', 0, 10), ('csat', 'csat', 1, 5), ('ces', 'ces', 1, 7)]
    """
    return pl.DataFrame(
        {
            "question": [q.name for q in questions],
            "label": [q.label for q in questions],
            "kind": [q.kind for q in questions],
            "survey": [q.survey if q.scored else None for q in questions],
            "scale_low": [q.low if q.scored else None for q in questions],
            "scale_high": [q.high if q.scored else None for q in questions],
            "attribute": [q.kind == "rating" for q in questions],
        },
        schema={
            "question": pl.String,
            "label": pl.String,
            "kind": pl.String,
            "survey": pl.String,
            "scale_low": pl.Int64,
            "scale_high": pl.Int64,
            "attribute": pl.Boolean,
        },
    )
