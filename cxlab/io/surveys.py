"""Surveys of any shape: declared questions, wide exports, Qualtrics CSV files.

Real survey programmes ask several questions per survey. ``client.toml`` declares each one
under ``[questions.<name>]``; this module turns what the file holds into the canonical
feedback table, one row per answer, before the loader checks every row
(:func:`cxlab.io.loaders.load_feedback`):

- **long exports** (one row per answer): a question is found by its ``value`` in the column
  mapped to ``survey``;
- **wide exports** (one row per response, one column per question): a question is found by
  its ``column``; the loader unpivots the question columns (polars, no row loop). Every answer
  keeps the response's ``source_row``;
- **Qualtrics CSV exports** are recognised by their three header rows (column ids, question
  text, ``{"ImportId": …}``): the two extra rows are skipped, ``-99`` ("seen but not
  answered") is no answer, and the personal-data columns Qualtrics adds (``RecipientEmail``,
  ``IPAddress``, ``LocationLatitude`` …) are never loaded.

Question kinds and the canonical rows they give (``survey`` keeps today's meaning, so every
existing NPS, CSAT and CES number stays):

========  ==============================  ========  ==========================================
kind      answers                         survey    score
========  ==============================  ========  ==========================================
nps       0–10                            nps       the answer
csat      1–5 or 5 labels                 csat      the answer (labels: 1 = lowest … 5)
ces       1–7 or 7 labels                 ces       the answer (labels: 1 = lowest … 7)
rating    any ``scale = [low, high]``     rating    the answer on its own scale
          or labels (lowest first)
binary    two labels, bad then good       binary    0 (bad) or 1 (good)
text      free text                       —         the ``comment`` of the answer to its
                                                    ``comment_of`` question (default: the
                                                    NPS question, else the first scored
                                                    one); a row of its own when that
                                                    question is unanswered
========  ==============================  ========  ==========================================

A CSAT or CES question asked on another scale (CSAT on 1–7 or 1–10) is stored as a rating
(``survey = "rating"``): cxlab's CSAT is the share answering 4–5 of 5 and is not mixed with
answers on other scales. Without ``[questions]`` a client has the three implied questions
``nps``, ``csat`` and ``ces`` of the long format (``question`` = ``survey``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from cxlab.contract.questions import CSAT_LABELS, IMPLIED_QUESTIONS, Question
from cxlab.contract.schema import SOURCE_ROW, SURVEYS, survey_scale_bounds
from cxlab.errors import DataError, did_you_mean

__all__ = [
    "QUALTRICS_PERSONAL_COLUMNS",
    "QualtricsHeader",
    "read_qualtrics_header",
    "propose_questions",
]

#: Columns of a Qualtrics export that hold personal data: never loaded unless mapped to a
#: canonical column (then they are that column: the customer id is pseudonymised in reports).
QUALTRICS_PERSONAL_COLUMNS: tuple[str, ...] = (
    "IPAddress",
    "RecipientEmail",
    "RecipientFirstName",
    "RecipientLastName",
    "LocationLatitude",
    "LocationLongitude",
)
_QUALTRICS_METADATA = (
    "StartDate",
    "EndDate",
    "Status",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "ExternalReference",
    "DistributionChannel",
    "UserLanguage",
    *QUALTRICS_PERSONAL_COLUMNS,
)
#: Qualtrics' code for "seen but not answered" in numeric exports.
QUALTRICS_NO_ANSWER = "-99"
# internal names of the columns the reshaping adds to the source (renamed in set-aside rows)
QUESTION_COL, ANSWER_COL, SURVEY_COL, SCORE_COL, COMMENT_COL = (
    "cx_question",
    "cx_answer",
    "cx_survey",
    "cx_score",
    "cx_comment",
)


# --------------------------------------------------------------------------- Qualtrics
@dataclass(frozen=True)
class QualtricsHeader:
    """The three header rows of a Qualtrics CSV export.

    Attributes
    ----------
    columns : tuple of str
        Row 1: the column ids (``StartDate``, ``ResponseId``, ``Q1``, ``Q5_1`` …).
    texts : dict of str to str
        Row 2: each column's question text (a matrix item reads ``"Question - Item"``).
    import_ids : dict of str to str
        Row 3: each column's ``ImportId`` (``QID5_1``; ``startDate`` for metadata).
    time_zone : str or None
        The ``timeZone`` Qualtrics wrote beside its dates, when it wrote one.
    """

    columns: tuple[str, ...]
    texts: dict[str, str] = field(default_factory=dict)
    import_ids: dict[str, str] = field(default_factory=dict)
    time_zone: str | None = None

    @property
    def question_columns(self) -> tuple[str, ...]:
        """Columns that are questions: not metadata, not Qualtrics' derived NPS groups."""
        return tuple(
            c
            for c in self.columns
            if c not in _QUALTRICS_METADATA
            and not c.endswith("_NPS_GROUP")
            and self.import_ids.get(c, "").upper().startswith("QID")
        )


def _first_records(path: Path, content: bytes | None, sep: str, n: int) -> list[list[str]]:
    if content is not None:
        raw = content[: 1 << 20]
    elif path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            raw = fh.read(1 << 20)
    else:
        with open(path, "rb") as fh:
            raw = fh.read(1 << 20)
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    out = []
    try:
        for row in reader:
            out.append(row)
            if len(out) == n:
                break
    except csv.Error:
        return []
    return out


def read_qualtrics_header(
    path: str | Path, content: bytes | None = None, separator: str = ","
) -> QualtricsHeader | None:
    """The Qualtrics header rows of a CSV export, or None when the file is not one.

    A file is a Qualtrics export when its third row holds ``{"ImportId": …}`` objects (for
    at least half of its cells).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "export.csv"
    >>> _ = p.write_text('ResponseId,Q1\\nResponse ID,How likely?\\n'
    ...                  '"{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}"\\nR_1,9\\n')
    >>> h = read_qualtrics_header(p)
    >>> h.texts["Q1"], h.question_columns
    ('How likely?', ('Q1',))
    """
    path = Path(path)
    rows = _first_records(path, content, separator, 3)
    if len(rows) < 3 or not rows[0]:
        return None
    ids, texts, third = rows
    imports: dict[str, str] = {}
    zone = None
    for col, cell in zip(ids, third, strict=False):
        if not cell.lstrip().startswith("{"):
            continue
        try:
            obj = json.loads(cell)
        except ValueError:
            continue
        if isinstance(obj, dict) and "ImportId" in obj:
            imports[col] = str(obj["ImportId"])
            zone = zone or obj.get("timeZone")
    if len(imports) * 2 < len(ids):
        return None
    return QualtricsHeader(
        tuple(c.strip() for c in ids),
        {c.strip(): t for c, t in zip(ids, texts, strict=False)},
        {c.strip(): v for c, v in imports.items()},
        zone if isinstance(zone, str) else None,
    )


# --------------------------------------------------------------------------- reshaping
@dataclass(frozen=True)
class Shaped:
    """A feedback source made long: what :func:`shape_feedback` gives the loader."""

    lf: pl.LazyFrame
    schema: dict[str, pl.DataType]
    mapping: dict[str, str]
    consumed: tuple[str, ...]
    #: True when ``lf`` already carries ``source_row`` (wide: the response's row)
    numbered: bool
    questions: tuple[Question, ...]
    renamed: dict[str, str] = field(default_factory=dict)
    personal: tuple[str, ...] = ()
    qualtrics: bool = False
    #: wide: the ``source_row`` of each response with no answer and no comment (lazy)
    blank: pl.LazyFrame | None = None


def _text(col: str) -> pl.Expr:
    s = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(s != "").then(s)


def _score_text(questions: Sequence[Question], answer: pl.Expr, question: pl.Expr) -> pl.Expr:
    """The answer as the number text the loader casts: labels -> numbers, per question."""
    labelled = [q for q in questions if q.labels]
    if not labelled:
        return answer
    lower = answer.str.to_lowercase()
    out = pl.when(pl.lit(False)).then(answer)
    for q in labelled:
        table = {lab.strip().lower(): str(q.low + i) for i, lab in enumerate(q.labels)}
        out = out.when(question == q.name).then(lower.replace(table))
    return out.otherwise(answer)


def _no_answer(
    questions: Sequence[Question], answer: pl.Expr, question: pl.Expr, qualtrics: bool
) -> pl.Expr:
    flag = answer.is_null()
    if qualtrics:
        flag = flag | (answer == QUALTRICS_NO_ANSWER)
    for q in questions:
        if q.no_answer:
            flag = flag | ((question == q.name) & answer.is_in(list(q.no_answer)))
    return flag


def _mapped_to(mapping: Mapping[str, str], schema: Mapping[str, Any], canonical: str) -> str | None:
    src = next((s for s, c in mapping.items() if c == canonical), None)
    if src is None and canonical in schema and canonical not in mapping:
        src = canonical
    return src


def shape_feedback(
    lf: pl.LazyFrame,
    schema: Mapping[str, pl.DataType],
    mapping: Mapping[str, str],
    questions: Sequence[Question] | None,
    *,
    path: Path,
    header: QualtricsHeader | None = None,
) -> Shaped | None:
    """Make a feedback source long, or None when it already is (no declared questions).

    Wide sources are unpivoted: one row per answer, ``source_row`` the response's row (for a
    Qualtrics export, row 1 is the first response, after its three header rows). Long
    sources with declared questions get their question from the survey column's value.
    Label answers read as their number. The loader then checks every answer as usual.
    """
    questions = tuple(questions or IMPLIED_QUESTIONS)
    implied = questions == IMPLIED_QUESTIONS
    if implied and header is None:
        return None
    if implied:
        raise DataError(
            f"{path}: this is a Qualtrics export (three header rows: column ids, question text, "
            f"ImportId), one column per question; say which columns are questions in "
            f"client.toml (cxlab init writes it), for example:\n\n"
            + propose_questions(header, None)
        )
    if questions[0].column is None:
        return _shape_long(lf, schema, mapping, questions, path)
    return _shape_wide(lf, schema, mapping, questions, path, header)


def _shape_long(lf, schema, mapping, questions, path) -> Shaped:
    code_src = _mapped_to(mapping, schema, "survey")
    answer_src = _mapped_to(mapping, schema, "score")
    for canonical, src in (("survey", code_src), ("score", answer_src)):
        if src is None or src not in schema:
            raise DataError(
                f"{path}: the questions of client.toml are found by their 'value' in the survey "
                f"column, but the file has no column mapped to {canonical!r}. Add the line under "
                f'[columns.feedback], e.g. "Question" = "{canonical}" (for the column holding the '
                f"{'question codes' if canonical == 'survey' else 'answers'})."
            )
    codes = {q.value.strip().lower(): q.name for q in questions}
    code = _text("cx_code").str.to_lowercase()
    question = code.replace_strict(codes, default=None, return_dtype=pl.String)
    answer = _text(ANSWER_COL)
    surveys = {q.name: q.survey for q in questions}
    lf = lf.rename({code_src: "cx_code", answer_src: ANSWER_COL}).with_columns(
        question.alias(QUESTION_COL)
    )
    q = pl.col(QUESTION_COL)
    lf = lf.with_columns(
        # an undeclared code keeps its text: the loader sets its rows aside as unknown_survey
        q.replace_strict(surveys, default=code, return_dtype=pl.String).alias(SURVEY_COL),
        pl.when(~_no_answer(questions, answer, q, False))
        .then(_score_text(questions, answer, q))
        .alias(SCORE_COL),
    )
    rest = {k: v for k, v in mapping.items() if k not in (code_src, answer_src)}
    new_schema = {
        ("cx_code" if c == code_src else ANSWER_COL if c == answer_src else c): t
        for c, t in schema.items()
    }
    new_schema.update({QUESTION_COL: pl.String(), SURVEY_COL: pl.String(), SCORE_COL: pl.String()})
    return Shaped(
        lf,
        new_schema,
        {**rest, QUESTION_COL: "question", SURVEY_COL: "survey", SCORE_COL: "score"},
        ("cx_code", ANSWER_COL),
        False,
        tuple(questions),
        {"cx_code": code_src, ANSWER_COL: answer_src},
    )


def _check_wide(schema, mapping, questions, path) -> None:
    """A wide export's declarations fit its file: no survey/score mapping, every column there."""
    for canonical in ("survey", "score"):
        src = next((s for s, c in mapping.items() if c == canonical), None)
        if src is not None:
            raise DataError(
                f"{path}: column {src!r} is mapped to {canonical!r} under [columns.feedback], but "
                f"the questions of client.toml are columns of a wide export (one column per "
                f"question): the loader makes survey and score from them. Remove the line "
                f'"{src}" = "{canonical}".'
            )
    names = list(schema)
    for q in questions:
        if q.column not in schema:
            raise DataError(
                f"{path}: question {q.name!r} reads column {q.column!r}, which is not in the "
                f"file.{did_you_mean(q.column, names)} Columns in the file: {', '.join(names)}. "
                f"Fix it in client.toml:\n\n    [questions.{q.name}]\n    column = "
                + json.dumps(
                    did_you_mean(q.column, names).removeprefix(" Did you mean '").removesuffix("'?")
                    or q.column
                )
            )
    texts = [q for q in questions if not q.scored]
    if texts and any(c == "comment" for c in mapping.values()):
        raise DataError(
            f"{path}: question {texts[0].name!r} is a text question and a column is also mapped "
            f"to 'comment' under [columns.feedback]: keep one of the two."
        )


def _shape_wide(lf, schema, mapping, questions, path, header) -> Shaped:
    """One row per answer, in file order (response, then question in declaration order).

    Each response's text answers become the comment of the question they are declared to
    comment on (``comment_of``); when that question is unanswered, the comment gets a row of
    its own (survey ``text``, no score). A blank text answer is no comment.
    """
    _check_wide(schema, mapping, questions, path)
    scored = [q for q in questions if q.scored]
    texts = [q for q in questions if not q.scored]
    qualtrics = header is not None
    mapped = set(mapping)
    personal: tuple[str, ...] = ()
    drop: list[str] = []
    if qualtrics:
        personal = tuple(c for c in QUALTRICS_PERSONAL_COLUMNS if c in schema and c not in mapped)
        drop = [*personal, *(c for c in schema if c.endswith("_NPS_GROUP") and c not in mapped)]
        lf = lf.slice(2)
    qcols = [q.column for q in scored]
    tcols = [q.column for q in texts]
    index = [c for c in schema if c not in qcols and c not in tcols and c not in drop]
    # the comment columns, one per question commented on (usually one: the NPS question)
    targets: dict[str | None, list[Question]] = {}
    for q in texts:
        targets.setdefault(q.comment_of, []).append(q)
    cnames = {t: f"cx_comment_{i}" for i, t in enumerate(targets)}
    wide = lf.with_row_index(SOURCE_ROW, offset=1).select(
        *index,
        SOURCE_ROW,
        *[_joined([q.column for q in qs]).alias(cnames[t]) for t, qs in targets.items()],
        *[_text(c).alias(c) for c in qcols],
    )
    long = _answers(wide, scored, index, cnames, qualtrics)
    # responses that answered nothing and wrote nothing give no row: counted, not lost
    gave = [~_no_answer([q], pl.col(q.column), pl.lit(q.name), qualtrics) for q in scored]
    gave += [pl.col(c).is_not_null() for c in cnames.values()]
    blank = wide.filter(~pl.any_horizontal(gave)).select(SOURCE_ROW)
    if targets:
        by_name = {q.name: q for q in scored}
        extra = [
            _comment_rows(wide, by_name.get(t), qs[0].name, cnames[t], index, qualtrics)
            for t, qs in targets.items()
        ]
        long = pl.concat([long, *extra], how="vertical")
    # row-major order: the file's order, and the loader's time parsing meets each response's
    # time on consecutive rows (measurably cheaper than the unpivot's column-major order)
    long = long.sort(SOURCE_ROW, maintain_order=True)
    new_schema = {c: schema[c] for c in index}
    new_schema.update(
        {c: pl.String() for c in (COMMENT_COL, ANSWER_COL, QUESTION_COL, SURVEY_COL, SCORE_COL)}
    )
    return Shaped(
        long,
        new_schema,
        {**mapping, QUESTION_COL: "question", SURVEY_COL: "survey", SCORE_COL: "score"}
        | ({COMMENT_COL: "comment"} if tcols else {}),
        (ANSWER_COL,) + (() if tcols else (COMMENT_COL,)),
        True,
        tuple(questions),
        {},
        personal,
        qualtrics,
        blank,
    )


def _joined(cols: Sequence[str]) -> pl.Expr:
    """The response's text answers as one comment (blank lines between), null when all blank."""
    if len(cols) == 1:
        return _text(cols[0])
    joined = pl.concat_str([_text(c) for c in cols], separator="\n\n", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def _answers(
    wide: pl.LazyFrame,
    scored: Sequence[Question],
    index: Sequence[str],
    cnames: Mapping[str | None, str],
    qualtrics: bool,
) -> pl.LazyFrame:
    """The scored answers unpivoted (unanswered ones left out), each with its comment."""
    col = pl.col(QUESTION_COL)
    comment = pl.lit(None, dtype=pl.String)
    for target, cname in cnames.items():
        if target is not None:
            comment = pl.when(col == target).then(pl.col(cname)).otherwise(comment)
    return (
        wide.unpivot(
            on=[q.column for q in scored],
            index=[*index, SOURCE_ROW, *cnames.values()],
            variable_name="cx_column",
            value_name=ANSWER_COL,
        )
        .with_columns(
            pl.col("cx_column")
            .replace_strict({q.column: q.name for q in scored}, return_dtype=pl.String)
            .alias(QUESTION_COL)
        )
        .filter(~_no_answer(scored, pl.col(ANSWER_COL), col, qualtrics))
        .select(
            *index,
            SOURCE_ROW,
            comment.alias(COMMENT_COL),
            ANSWER_COL,
            QUESTION_COL,
            col.replace_strict({q.name: q.survey for q in scored}, return_dtype=pl.String).alias(
                SURVEY_COL
            ),
            _score_text(scored, pl.col(ANSWER_COL), col).alias(SCORE_COL),
        )
    )


def _comment_rows(
    wide: pl.LazyFrame,
    target: Question | None,
    text_name: str,
    cname: str,
    index: Sequence[str],
    qualtrics: bool,
) -> pl.LazyFrame:
    """A row of survey ``text`` for each comment whose question was not answered."""
    unanswered = (
        _no_answer([target], pl.col(target.column), pl.lit(target.name), qualtrics)
        if target is not None
        else pl.lit(True)
    )
    return wide.filter(pl.col(cname).is_not_null() & unanswered).select(
        *index,
        SOURCE_ROW,
        pl.col(cname).alias(COMMENT_COL),
        pl.lit(None, dtype=pl.String).alias(ANSWER_COL),
        pl.lit(text_name).alias(QUESTION_COL),
        pl.lit("text").alias(SURVEY_COL),
        pl.lit(None, dtype=pl.String).alias(SCORE_COL),
    )


# --------------------------------------------------------------------------- checks
def feedback_checks(questions: Sequence[Question] | None = None) -> list[tuple[str, str, pl.Expr]]:
    """The loader's checks of feedback answers: ``(reason, column, flag)`` on canonical columns.

    Without declared questions: a survey other than nps, csat, ces is ``unknown_survey`` and
    a score outside its survey's scale is ``score_out_of_range``. With declared questions: a
    value of the survey column that no question declares (long exports) is
    ``unknown_survey``, and each answer is checked against its own question's scale.

    Examples
    --------
    >>> fb = pl.DataFrame({"survey": ["nps", "nps", "vibes"], "score": [10, 11, 3]})
    >>> fb.select([f.alias(r) for r, _, f in feedback_checks()]).rows()
    [(False, False), (False, True), (True, None)]
    """
    questions = tuple(questions or IMPLIED_QUESTIONS)
    score = pl.col("score")
    if questions == IMPLIED_QUESTIONS:
        lo, hi = survey_scale_bounds(pl.Int64)
        known = pl.col("survey").is_in(SURVEYS)
        return [
            ("unknown_survey", "survey", pl.col("survey").is_not_null() & ~known),
            ("score_out_of_range", "score", (score < lo) | (score > hi)),
        ]
    q = pl.col("question")
    scored = [x for x in questions if x.scored]
    lo = q.replace_strict({x.name: x.low for x in scored}, default=None, return_dtype=pl.Int64)
    hi = q.replace_strict({x.name: x.high for x in scored}, default=None, return_dtype=pl.Int64)
    return [
        ("unknown_survey", "survey", q.is_null() & pl.col("survey").is_not_null()),
        ("score_out_of_range", "score", (score < lo) | (score > hi)),
    ]


# --------------------------------------------------------------------------- after loading
_REWRITTEN = ("unknown_survey", "score_out_of_range", "unparsable_value", "missing_value")


def _shown(values: Sequence[Any]) -> str:
    return ", ".join("empty" if v is None else repr(str(v)[:40]) for v in values)


def _toml_block(name: str, pairs: Mapping[str, Any]) -> str:
    lines = [f"    [questions.{name}]"]
    lines += [f"    {k} = {json.dumps(v, ensure_ascii=False)}" for k, v in pairs.items()]
    return "\n".join(lines)


def _question_issue(g: Mapping[str, Any], q: Question | None, file: str, source: str, wide: bool):
    """One set-aside issue of one question: the question, its column, a few values, the fix.

    The redacted message (pseudonymised reports) quotes no text from the file (a scale's
    numeric ends stay in its fix).
    """
    from cxlab.contract.validation import Issue

    reason, n, rows = g["reason"], g["rows"], tuple(g["examples"])
    values = [v for v in g["values"] if v is not None][:3]
    plural = f"{n:,} {'answer' if wide else 'row'}{'' if n == 1 else 's'}"
    where = f"{file}, column {q.column if q is not None and q.column else source!r}"
    if q is not None and q.column:
        where = f"{file}, column {q.column!r}"
    about = f" (question {q.name!r}, {q.label!r}, scale {q.scale_text})" if q is not None else ""
    aside = ". They are set aside."
    if reason == "unknown_survey":
        head = f"{where}: {plural} hold{'s' if n == 1 else ''} a question no [questions] table declares"
        code = str(values[0]) if values else "Q9"
        slug = re.sub(r"[^a-z0-9_]+", "_", code.lower()).strip("_") or "new"
        say = " Declare each question in client.toml, for example:\n\n"
        tail = say + _toml_block(slug, {"value": code, "kind": "rating", "scale": [1, 5]})
        hidden = say + _toml_block("new", {"value": "Q9", "kind": "rating", "scale": [1, 5]})
    elif reason == "score_out_of_range":
        nums = [int(v) for v in g["numbers"] if v is not None]
        fix = {"scale": [min([q.low, *nums]), max([q.high, *nums])]}
        say = " If the question's scale is wider, declare it in client.toml:\n\n"
        if q.kind in ("nps", "csat", "ces") and not q.labels:
            say = (
                f" A {q.kind.upper()} answer is {q.low}–{q.high}; if the question was asked on "
                f"another scale, declare it as a rating:\n\n"
            )
            fix = {"kind": "rating", **fix}
        head = f"{where}{about}: {plural} outside the scale"
        tail = say + _toml_block(q.name, fix)
        hidden = tail  # the scale's ends are numbers, not personal data
    elif reason == "unparsable_value" and q is not None:
        head = f"{where}{about}: {plural} not on the question's scale"
        say = (
            " Add each label to 'scale' in its place (lowest first), or if it means 'not "
            "answered', list it in client.toml:\n\n"
            if q.labels
            else " Export the answers as numbers, or if they mean 'not answered', list them in "
            "client.toml:\n\n"
        )
        tail = say + _toml_block(q.name, {"no_answer": values or ["N/A"]})
        hidden = say + _toml_block(q.name, {"no_answer": ["N/A"]})
    elif reason == "unparsable_value":
        head = f"{where}: {plural} with a question no [questions] table declares and no number"
        tail = hidden = " Declare the question, and export the answers as numbers."
    else:  # missing_value on score
        head = f"{where}{about}: {plural} with no answer"
        tail = hidden = " Leave unanswered questions out of a long export, or fill them."
    msg = head + (f": {_shown(values)}" if values else "") + aside + tail
    return Issue(
        "feedback",
        file,
        "set_aside",
        reason,
        "survey" if reason == "unknown_survey" else "score",
        n,
        rows,
        msg,
        redacted_message=head + aside + hidden,
    )


def finish_feedback(result: Any, shaped: Shaped | None) -> Any:
    """The loaded feedback with per-question messages and the reshaping's own columns renamed.

    Set-aside answers show ``question`` and ``answer`` (as written in the file); each
    set-aside reason of a declared question gets one issue naming the question, its column,
    a few values and the fix in valid TOML. The answers are in file order (by ``source_row``,
    then question).
    """
    if shaped is None:
        return result
    from cxlab.contract.validation import Issue

    sa = result.set_aside
    wide = shaped.numbered
    by_name = {q.name: q for q in shaped.questions}
    code = "cx_code" if "cx_code" in sa.columns else QUESTION_COL
    rewrite = pl.col("reason").is_in(list(_REWRITTEN)) & (
        (pl.col("column") == "score") | (pl.col("reason") == "unknown_survey")
    )
    new_issues: list[Any] = []
    if sa.height:
        groups = (
            sa.filter(rewrite)
            .group_by("reason", QUESTION_COL)
            .agg(
                pl.len().alias("rows"),
                pl.col(SOURCE_ROW).sort().head(5).alias("examples"),
                pl.when(pl.col("reason") == "unknown_survey")
                .then(pl.col(code))
                .otherwise(pl.col(ANSWER_COL))
                .unique(maintain_order=True)
                .head(3)
                .alias("values"),
                pl.concat_list(
                    pl.col(SCORE_COL).cast(pl.Float64, strict=False).min(),
                    pl.col(SCORE_COL).cast(pl.Float64, strict=False).max(),
                ).alias("numbers"),
            )
            .sort("reason", QUESTION_COL, nulls_last=True)
        )
        source = shaped.renamed.get(ANSWER_COL, "score")
        for g in groups.iter_rows(named=True):
            q = by_name.get(g[QUESTION_COL]) if g[QUESTION_COL] is not None else None
            if g["reason"] == "unknown_survey":
                source = shaped.renamed.get("cx_code", "survey")
            new_issues.append(_question_issue(g, q, result.file.name, source, wide))
    kept = [
        i
        for i in result.issues
        if not (i.reason in _REWRITTEN and (i.column == "score" or i.reason == "unknown_survey"))
    ]
    if shaped.blank is not None:
        kept.extend(_blank_responses_issue(shaped.blank.collect(), result.file.name))
    if shaped.personal:
        n = len(shaped.personal)
        kept.append(
            Issue(
                "feedback",
                result.file.name,
                "warning",
                "personal_columns",
                "all",
                0,
                (),
                f"{result.file.name}: {n} column{'' if n == 1 else 's'} of personal data in the "
                f"Qualtrics export {'was' if n == 1 else 'were'} not loaded "
                f"({', '.join(shaped.personal)}): no analysis needs them and no report shows them.",
            )
        )
    rename = {
        QUESTION_COL: "question",
        ANSWER_COL: "answer",
        COMMENT_COL: "comment",
        **shaped.renamed,
    }
    rename = {k: v for k, v in rename.items() if k in sa.columns and v not in sa.columns}
    sa = sa.drop([c for c in (SURVEY_COL, SCORE_COL) if c in sa.columns]).rename(rename)
    return replace(
        result,
        set_aside=sa.sort(SOURCE_ROW, maintain_order=True),
        issues=tuple(new_issues) + tuple(kept),
    )


def _blank_responses_issue(blank: pl.DataFrame, file: str) -> list[Any]:
    """The ``blank_responses`` warning: responses with no answer and no comment (no row)."""
    from cxlab.contract.validation import Issue

    n = blank.height
    if n == 0:
        return []
    rows = tuple(blank.get_column(SOURCE_ROW).sort().head(5).to_list())
    were = "response has" if n == 1 else "responses have"
    return [
        Issue(
            "feedback",
            file,
            "warning",
            "blank_responses",
            "all",
            n,
            rows,
            f"{file}: {n:,} blank {were} no answer and no comment, so they count in no "
            f"score (first rows: {', '.join(map(str, rows))}). Nothing to fix, unless the "
            f"export left answers out: then export the survey again with every question.",
        )
    ]


# --------------------------------------------------------------------------- proposals
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:30]


def _guess(col: str, text: str, values: pl.Series | None) -> dict[str, Any]:
    """kind, scale and label of one Qualtrics question column, from its text and answers."""
    low_text = text.lower()
    item = text.rsplit(" - ", 1)[1].strip() if " - " in text else ""
    label = (item or text).strip()[:80] or col
    if values is not None:
        values = values.cast(pl.String).str.strip_chars()
        values = values.filter(
            values.is_not_null() & (values != "") & (values != QUALTRICS_NO_ANSWER)
        )
    nums = values.cast(pl.Float64, strict=False) if values is not None else None
    numeric = nums is not None and values.len() > 0 and nums.null_count() == 0
    if col.upper().endswith("_TEXT") or (
        values is not None and values.len() and not numeric and values.n_unique() > 12
    ):
        return {"kind": "text", "label": label}
    if not numeric and values is not None and values.len():
        found = {v.lower() for v in values.unique().to_list()}
        if found <= {v.lower() for v in CSAT_LABELS}:
            return {"kind": "csat", "scale": list(CSAT_LABELS), "label": label}
        if found <= {"good", "bad"}:
            return {"kind": "binary", "label": label}
        return {
            "kind": "rating",
            "scale": sorted(values.unique().to_list()),
            "label": label,
            "REVIEW": "put the labels lowest first",
        }
    hi = float(nums.max()) if numeric else 5.0
    lo = float(nums.min()) if numeric else 1.0
    if "recommend" in low_text and "likely" in low_text and hi <= 10:
        return {"kind": "nps", "label": label}
    if "satisf" in low_text and not item and 1 <= lo and hi <= 5:
        return {"kind": "csat", "label": label}
    if ("easy" in low_text or "effort" in low_text) and not item and 1 <= lo and hi <= 7:
        return {"kind": "ces", "label": label}
    top = 5 if hi <= 5 else 7 if hi <= 7 else 10 if hi <= 10 else int(hi)
    return {"kind": "rating", "scale": [0 if lo < 1 else 1, top], "label": label}


def propose_questions(header: QualtricsHeader, sample: pl.DataFrame | None) -> str:
    """``[questions]`` tables for a Qualtrics export, guessed from question texts and answers.

    ``sample`` holds the first responses (the export without its two extra header rows), to
    read each question's scale; without it, scales are guessed from the texts alone.

    Examples
    --------
    >>> h = QualtricsHeader(("ResponseId", "Q1", "Q5_1"),
    ...     {"Q1": "How likely are you to recommend us?", "Q5_1": "Please rate - Delivery"},
    ...     {"ResponseId": "_recordId", "Q1": "QID1", "Q5_1": "QID5_1"})
    >>> print(propose_questions(h, pl.DataFrame({"Q1": ["9", "3"], "Q5_1": ["4", "2"]})))
    [questions.recommend]
    column = "Q1"
    kind = "nps"
    label = "How likely are you to recommend us?"
    <BLANKLINE>
    [questions.delivery]
    column = "Q5_1"
    kind = "rating"
    scale = [1, 5]
    label = "Delivery"
    """
    blocks: list[str] = []
    used: set[str] = set()
    names = {"nps": "recommend", "csat": "satisfaction", "ces": "effort", "text": "comment"}
    for col in header.question_columns:
        values = sample.get_column(col) if sample is not None and col in sample.columns else None
        guess = _guess(col, header.texts.get(col, ""), values)
        kind = guess["kind"]
        name = (
            _slug(guess["label"])
            if kind in ("rating", "binary") and " - " in header.texts.get(col, "")
            else names.get(kind, "")
        )
        if not name or name in used or not re.match(r"[a-z]", name):
            name = _slug(col) or "q"
        while name in used:
            name += "_"
        used.add(name)
        lines = [f"[questions.{name}]", f"column = {json.dumps(col)}", f"kind = {json.dumps(kind)}"]
        if "scale" in guess:
            review = "   # REVIEW: " + guess["REVIEW"] if "REVIEW" in guess else ""
            lines.append(
                f"scale = {json.dumps(guess['scale'], ensure_ascii=False).replace(',', ', ').replace(',  ', ', ')}{review}"
            )
        lines.append(f"label = {json.dumps(guess['label'], ensure_ascii=False)}")
        if kind == "text":
            lines.append(
                "# its comment is read with the NPS answer (else the first scored question's);"
                ' comment_of = "<question>" picks another'
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def qualtrics_columns(header: QualtricsHeader, sample: pl.DataFrame | None) -> dict[str, str]:
    """``[columns.feedback]`` of a Qualtrics export: who answered and when.

    The customer is ``ExternalReference`` (the id a distribution list carries) when the
    sample has one, else ``ResponseId`` (each response its own respondent); the time is
    ``RecordedDate``.

    Examples
    --------
    >>> h = QualtricsHeader(("RecordedDate", "ResponseId", "ExternalReference", "Q1"))
    >>> qualtrics_columns(h, pl.DataFrame({"ExternalReference": ["c1", None]}))
    {'ExternalReference': 'customer_id', 'RecordedDate': 'timestamp'}
    """
    out: dict[str, str] = {}
    ext = (
        sample is not None
        and "ExternalReference" in sample.columns
        and sample.get_column("ExternalReference").cast(pl.String).str.strip_chars().ne("").any()
    )
    if "ExternalReference" in header.columns and ext:
        out["ExternalReference"] = "customer_id"
    elif "ResponseId" in header.columns:
        out["ResponseId"] = "customer_id"
    for col in ("RecordedDate", "EndDate", "StartDate"):
        if col in header.columns:
            out[col] = "timestamp"
            break
    return out
