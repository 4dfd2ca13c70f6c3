"""Surveys of any shape: declared questions, wide exports, label scales, Qualtrics exports.

Every expected number below is counted by hand from the tiny files written in each test.
"""

from __future__ import annotations

import datetime as dt
import sys
import tomllib
from pathlib import Path

import polars as pl
import pytest

from cxlab.contract.client_config import read_client_config
from cxlab.contract.questions import IMPLIED_QUESTIONS, question_table
from cxlab.errors import ConfigError, DataError
from cxlab.io.client import load_client
from cxlab.io.loaders import load_feedback
from cxlab.io.surveys import QUALTRICS_PERSONAL_COLUMNS, read_qualtrics_header

sys.path.insert(0, str(Path(__file__).parents[1]))
from fixtures.qualtrics import write_qualtrics_export  # noqa: E402

UTC = dt.UTC


def _client(tmp_path, toml: str, name: str, content: str | bytes):
    folder = tmp_path / "client"
    folder.mkdir()
    (folder / "client.toml").write_text(toml)
    data = folder / name
    data.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


def _fix_block(message: str) -> dict:
    """The TOML block a message proposes (after 'like this:' or the last blank line)."""
    block = message.rsplit("\n\n", 1)[1]
    return tomllib.loads("\n".join(line.strip() for line in block.splitlines()))


WIDE_TOML = """
name = "Wide"
[files]
feedback = "answers.csv"
[columns.feedback]
id = "customer_id"
when = "timestamp"
[questions.recommend]
column = "Q1"
kind = "nps"
label = "Likely to recommend"
[questions.delivery]
column = "Q5_1"
kind = "rating"
scale = [1, 5]
label = "Delivery"
[questions.price]
column = "Q5_2"
kind = "rating"
scale = [1, 5]
[questions.why]
column = "Q6"
kind = "text"
"""
# a answers everything; b rates delivery 7 (outside 1-5) and skips price; c skips the NPS
# question; d writes only a comment.
WIDE_CSV = (
    "id,when,Q1,Q5_1,Q5_2,Q6\n"
    "a,2024-03-01,9,4,5,great\n"
    "b,2024-03-02,3,7,,slow\n"
    "c,2024-03-03,,2,1,\n"
    "d,2024-03-04,,,,just a comment\n"
)


def test_wide_export_becomes_one_row_per_answer(tmp_path):
    client = load_client(_client(tmp_path, WIDE_TOML, "answers.csv", WIDE_CSV))
    fb = client.feedback
    # answers given: a 3, b 2 (Q1, Q5_1), c 2, d none (its comment gets a row of its own):
    # 7 answers + 1 comment row; b's delivery 7 is set aside -> 7 loaded, 1 set aside.
    assert fb.select(
        "customer_id", "question", "survey", "score", "comment", "source_row"
    ).rows() == [
        ("a", "recommend", "nps", 9, "great", 1),
        ("a", "delivery", "rating", 4, None, 1),
        ("a", "price", "rating", 5, None, 1),
        ("b", "recommend", "nps", 3, "slow", 2),
        ("c", "delivery", "rating", 2, None, 3),
        ("c", "price", "rating", 1, None, 3),
        ("d", "why", "text", None, "just a comment", 4),
    ]
    sa = client.set_aside["feedback"]
    assert sa.select("source_row", "reason", "question", "answer").rows() == [
        (2, "score_out_of_range", "delivery", "7")
    ]
    counts = (
        client.validation.tables[1]
        if client.validation.tables[0].table != "feedback"
        else client.validation.tables[0]
    )
    assert (counts.input_rows, counts.loaded) == (8, 7)
    (issue,) = [i for i in client.validation.issues if i.reason == "score_out_of_range"]
    assert "'Q5_1'" in issue.message and "'delivery'" in issue.message and "'7'" in issue.message
    assert _fix_block(issue.message) == {"questions": {"delivery": {"scale": [1, 7]}}}
    assert "'7'" not in issue.redacted_message


# The NPS question is declared after the ratings, so "first answered question" and "the NPS
# question" differ. a: NPS 2 (a detractor) + delivery 4 + comment "late"; b: delivery 5 only
# + comment "fine" (no NPS answer); c: NPS 10, no comment; d: answered nothing, wrote nothing
# (blank, and spaces only): no row at all; e: two blank answers and an empty comment.
COMMENT_TOML = """
name = "Comments"
[files]
feedback = "answers.csv"
[columns.feedback]
id = "customer_id"
when = "timestamp"
[questions.delivery]
column = "Q5_1"
kind = "rating"
scale = [1, 5]
[questions.recommend]
column = "Q1"
kind = "nps"
[questions.why]
column = "Q6"
kind = "text"
"""
COMMENT_CSV = (
    "id,when,Q5_1,Q1,Q6\n"
    "a,2024-03-01,4,2,late\n"
    "b,2024-03-02,5,,fine\n"
    "c,2024-03-03,,10,\n"
    "d,2024-03-04,,,   \n"
    'e,2024-03-05,,,""\n'
)


def test_wide_comment_rides_on_the_nps_answer(tmp_path):
    client = load_client(_client(tmp_path, COMMENT_TOML, "answers.csv", COMMENT_CSV))
    # a: delivery (no comment), recommend with "late"; b: delivery, then its comment on a row
    # of its own (its NPS question is unanswered); c: recommend; d and e: nothing.
    assert client.feedback.select("customer_id", "question", "score", "comment").rows() == [
        ("a", "delivery", 4, None),
        ("a", "recommend", 2, "late"),
        ("b", "delivery", 5, None),
        ("b", "why", None, "fine"),
        ("c", "recommend", 10, None),
    ]
    assert client.set_aside["feedback"].height == 0
    assert client.config.questions[-1].comment_of == "recommend"  # the default, stated


def test_blank_responses_are_counted_not_lost(tmp_path):
    # d (blank answers, a comment of spaces) and e (blank answers, an empty comment) gave
    # nothing: no row, and one warning counting both, with their rows (4 and 5)
    client = load_client(_client(tmp_path, COMMENT_TOML, "answers.csv", COMMENT_CSV))
    (issue,) = [i for i in client.validation.issues if i.reason == "blank_responses"]
    assert (issue.severity, issue.rows, issue.examples) == ("warning", 2, (4, 5))
    assert issue.message.startswith("answers.csv: 2 blank responses have no answer and no comment")
    assert "2 blank responses" in client.validation.summary()
    # a survey where every response gave something has no such warning
    full = COMMENT_CSV.rsplit("d,2024", 1)[0]
    (tmp_path / "full").mkdir()
    again = load_client(_client(tmp_path / "full", COMMENT_TOML, "answers.csv", full))
    assert [i for i in again.validation.issues if i.reason == "blank_responses"] == []


def test_wide_comment_of_a_declared_question(tmp_path):
    toml = COMMENT_TOML + 'comment_of = "delivery"\n'
    client = load_client(_client(tmp_path, toml, "answers.csv", COMMENT_CSV))
    # now the comment rides on delivery: a's and b's; c answered no delivery and wrote nothing
    assert client.feedback.select("customer_id", "question", "comment").rows() == [
        ("a", "delivery", "late"),
        ("a", "recommend", None),
        ("b", "delivery", "fine"),
        ("c", "recommend", None),
    ]


def test_comment_of_must_name_a_scored_question(tmp_path):
    toml = COMMENT_TOML + 'comment_of = "recomend"\n'
    folder = _client(tmp_path, toml, "answers.csv", COMMENT_CSV)
    with pytest.raises(ConfigError, match="not a declared scored question") as info:
        read_client_config(folder)
    assert "Did you mean 'recommend'" in str(info.value)
    assert _fix_block(str(info.value))["questions"]["why"]["comment_of"] == "recommend"


def test_long_export_without_questions_is_unchanged(tmp_path):
    p = tmp_path / "fb.csv"
    p.write_text("customer_id,timestamp,survey,score\nc1,2024-03-01,NPS,9\nc2,2024-03-02,csat,9\n")
    res = load_feedback(p)
    assert res.frame.select("question", "survey", "score").rows() == [("nps", "nps", 9)]
    assert res.set_aside["reason"].to_list() == ["score_out_of_range"]


def test_long_export_with_declared_questions_and_labels(tmp_path):
    toml = """
name = "Long"
[files]
feedback = "fb.csv"
[columns.feedback]
item = "survey"
answer = "score"
[questions.overall]
value = "SAT"
kind = "csat"
scale = ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]
[questions.speed]
value = "Q7"
kind = "rating"
scale = [0, 10]
"""
    csv = (
        "customer_id,timestamp,item,answer\n"
        "a,2024-03-01,SAT,very satisfied\n"  # labels match whatever their case: 5
        "a,2024-03-01,Q7,10\n"
        "b,2024-03-02,SAT,Dissatisfied\n"  # 2
        "b,2024-03-02,SAT,Kinda ok\n"  # not a label: set aside
        "c,2024-03-03,Z9,4\n"  # a question nobody declared: set aside
    )
    client = load_client(_client(tmp_path, toml, "fb.csv", csv))
    assert client.feedback.select("question", "survey", "score").rows() == [
        ("overall", "csat", 5),
        ("speed", "rating", 10),
        ("overall", "csat", 2),
    ]
    sa = client.set_aside["feedback"]
    assert sa.select("source_row", "reason").rows() == [
        (4, "unparsable_value"),
        (5, "unknown_survey"),
    ]
    assert set(sa.columns) >= {"item", "answer"}  # the file's own columns, as written
    issues = {i.reason: i for i in client.validation.issues if i.table == "feedback"}
    label = issues["unparsable_value"].message
    assert "'overall'" in label and "'Kinda ok'" in label
    assert _fix_block(label) == {"questions": {"overall": {"no_answer": ["Kinda ok"]}}}
    # a pseudonymised report quotes no text of the file, not even in the fix
    assert "Kinda" not in issues["unparsable_value"].redacted_message
    assert "Z9" not in issues["unknown_survey"].redacted_message
    unknown = issues["unknown_survey"].message
    assert "'Z9'" in unknown
    assert _fix_block(unknown) == {
        "questions": {"z9": {"value": "Z9", "kind": "rating", "scale": [1, 5]}}
    }


def test_binary_good_bad_with_no_answer_codes(tmp_path):
    # Zendesk-style: one row per ticket, satisfaction good/bad, "offered" when not answered.
    toml = """
name = "Tickets"
[files]
feedback = "tickets.csv"
[columns.feedback]
requester = "customer_id"
solved_at = "timestamp"
[questions.satisfaction]
column = "satisfaction"
kind = "binary"
no_answer = ["offered", "unoffered"]
"""
    csv = (
        "requester,solved_at,satisfaction\n"
        "a,2024-03-01,good\nb,2024-03-01,Bad\nc,2024-03-02,offered\nd,2024-03-02,GOOD\ne,2024-03-03,meh\n"
    )
    client = load_client(_client(tmp_path, toml, "tickets.csv", csv))
    # good -> 1, bad -> 0 (any case); "offered" is no answer; "meh" is set aside
    assert client.feedback.select("customer_id", "survey", "score").rows() == [
        ("a", "binary", 1),
        ("b", "binary", 0),
        ("d", "binary", 1),
    ]
    assert client.set_aside["feedback"].select("source_row", "reason").rows() == [
        (5, "unparsable_value")
    ]


@pytest.mark.parametrize(
    ("block", "words", "fix"),
    [
        (
            '[questions.delivery]\ncolumn = "Q5_1"\nkind = "rating"',
            "has no scale",
            {"scale": [1, 5]},
        ),
        (
            '[questions.x]\ncolumn = "Q1"\nvalue = "Q1"\nkind = "nps"',
            "both 'column' and 'value'",
            {"column": "Q1"},
        ),
        (
            '[questions.x]\ncolumn = "Q1"\nkind = "nps"\nscale = [1, 10]',
            "its scale is 0–10",
            {"kind": "rating"},
        ),
        (
            '[questions.x]\ncolumn = "Q1"\nkind = "rating"\nscale = [5, 1]',
            "low end",
            {"scale": [1, 5]},
        ),
        ('[questions.x]\ncolumn = "Q1"\nkind = "stars"', "must be one of", None),
        ('[questions.x]\ncolumn = "Q1"\nknd = "nps"', "Did you mean 'kind'", {"kind": "nps"}),
    ],
)
def test_question_declarations_are_checked(tmp_path, block, words, fix):
    folder = _client(
        tmp_path, f'name = "X"\n[files]\nfeedback = "f.csv"\n{block}\n', "f.csv", "a\n1\n"
    )
    with pytest.raises(ConfigError) as info:
        read_client_config(folder)
    msg = str(info.value)
    assert words in msg and "client.toml, line" in msg
    if fix is not None:
        table = _fix_block(msg)["questions"]
        (keys,) = table.values()
        assert fix.items() <= keys.items()


def test_two_nps_questions_are_refused(tmp_path):
    block = (
        '[questions.a]\ncolumn = "Q1"\nkind = "nps"\n[questions.b]\ncolumn = "Q2"\nkind = "nps"\n'
    )
    folder = _client(
        tmp_path, f'name = "X"\n[files]\nfeedback = "f.csv"\n{block}', "f.csv", "a\n1\n"
    )
    with pytest.raises(ConfigError, match="both nps questions") as info:
        read_client_config(folder)
    assert _fix_block(str(info.value)) == {"questions": {"b": {"kind": "rating", "scale": [0, 10]}}}


def test_implied_questions_without_declarations(tmp_path):
    folder = _client(tmp_path, 'name = "X"\n[files]\nfeedback = "f.csv"\n', "f.csv", "a\n1\n")
    assert read_client_config(folder).questions == IMPLIED_QUESTIONS
    assert question_table()["question"].to_list() == ["nps", "csat", "ces"]


# --------------------------------------------------------------------------- Qualtrics
QUALTRICS_TOML = """
name = "Northwind"
[files]
feedback = "export.csv"
[columns.feedback]
ExternalReference = "customer_id"
RecordedDate = "timestamp"
[questions.recommend]
column = "Q1"
kind = "nps"
[questions.satisfaction]
column = "Q2"
kind = "csat"
scale = ["Very dissatisfied", "Dissatisfied", "Neither satisfied nor dissatisfied", "Satisfied", "Very satisfied"]
[questions.delivery]
column = "Q5_1"
kind = "rating"
scale = [1, 5]
[questions.comment]
column = "Q6_TEXT"
kind = "text"
"""


def test_qualtrics_export_is_recognised(tmp_path):
    folder = tmp_path / "client"
    folder.mkdir()
    (folder / "client.toml").write_text(QUALTRICS_TOML)
    write_qualtrics_export(folder / "export.csv", n=12)
    header = read_qualtrics_header(folder / "export.csv")
    assert header is not None and header.texts["Q5_1"].endswith(" - Delivery")
    assert header.time_zone == "America/Denver"
    client = load_client(folder)
    fb = client.feedback
    assert client.set_aside["feedback"].height == 0
    # source_row 1 is the first response (the two extra header rows are not rows)
    first = fb.filter(pl.col("source_row") == 1)
    assert first["customer_id"].unique().to_list() == ["C00000"]
    assert first["timestamp"].dt.year().to_list()[0] == 2024
    # the NPS answers are the file's Q1 column, blanks and -99 left out
    raw = pl.read_csv(folder / "export.csv", infer_schema=False).slice(2)
    q1 = [int(v) for v in raw["Q1"].to_list()]
    assert fb.filter(pl.col("question") == "recommend")["score"].to_list() == q1
    sat = fb.filter(pl.col("question") == "satisfaction")
    assert sat["survey"].unique().to_list() == ["csat"] and sat["score"].is_between(1, 5).all()
    delivery_given = raw.filter(pl.col("Q5_1") != "-99").height
    assert fb.filter(pl.col("question") == "delivery").height == delivery_given
    for col in (*QUALTRICS_PERSONAL_COLUMNS, "Q1_NPS_GROUP"):
        assert col not in fb.columns
    warning = [i for i in client.validation.issues if i.reason == "personal_columns"]
    assert warning and "RecipientEmail" in warning[0].message


def test_qualtrics_export_without_questions_says_what_to_declare(tmp_path):
    toml = 'name = "N"\n[files]\nfeedback = "export.csv"\n[columns.feedback]\nExternalReference = "customer_id"\nRecordedDate = "timestamp"\n'
    folder = tmp_path / "client"
    folder.mkdir()
    (folder / "client.toml").write_text(toml)
    write_qualtrics_export(folder / "export.csv", n=20)
    with pytest.raises(DataError, match="Qualtrics export") as info:
        load_client(folder)
    proposed = tomllib.loads(str(info.value).split("\n\n", 1)[1])["questions"]
    assert proposed["recommend"] == {
        "column": "Q1",
        "kind": "nps",
        "label": "How likely are you to recommend Northwind to a friend or colleague?",
    }
    assert proposed["delivery"]["scale"] == [1, 5] and proposed["delivery"]["label"] == "Delivery"
    assert proposed["comment"]["kind"] == "text"
