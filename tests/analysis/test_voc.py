"""Voice of the customer: PII masking and escaping, VADER sentiment, topics, verbatims."""

import html
import json
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cxlab.analysis.voc as voc
from cxlab.analysis.voc import (
    comment_sentiment,
    comment_topics,
    html_escape,
    mask_pii,
    representative_verbatims,
    safe_text,
)
from cxlab.config import SAMPLE_DIR
from cxlab.display.charts.metrics import topic_share_chart
from cxlab.errors import DataError, ParameterError
from cxlab.io.sample import SAMPLE_CLIENTS

# The sample clients are committed data: missing files fail the tests, they do not skip them.
MISSING_SAMPLE = (
    "the sample clients are committed in data/sample; restore them (git checkout data/sample) "
    "or regenerate them with `make sample`"
)

ADVERSARIAL = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"quotes" & ampersands',
    "write to jane.doe+cx@example.co.uk please",
    "call +44 20 7946 0958 or (555) 123-4567 or 555-123-4567 or 020 7946 0958",
    "card 4111 1111 1111 1111 and 4111-1111-1111-1111 and 4111111111111111",
    "order 12345678, ref 987654",
    "Très bien 👍 — ça marche, 日本語 ok; visited 2024-05-01, 3 times, 12 books",
    "<a href='mailto:bob@evil.io'>bob@evil.io</a>",
]


# ---------------------------------------------------------------------------- masking
def test_mask_pii_adversarial_comments():
    out = mask_pii(pl.Series("c", ADVERSARIAL)).to_list()
    assert out[3] == "write to [email] please"
    assert out[4] == "call [phone] or [phone] or [phone] or [phone]"
    assert out[5] == "card [number] and [number] and [number]"
    assert out[6] == "order [number], ref [number]"
    # unicode, ISO dates and small numbers survive untouched
    assert out[7] == ADVERSARIAL[7]
    assert out[8] == "<a href='mailto:[email]'>[email]</a>"
    for text in out:
        assert "@" not in text
        assert not re.search(r"\d{6,}", text)


def test_mask_pii_accepts_expr_series_str_and_keeps_nulls():
    df = pl.DataFrame({"comment": ["a@b.com", None, "no pii"]})
    assert df.select(mask_pii(pl.col("comment")))["comment"].to_list() == [
        "[email]",
        None,
        "no pii",
    ]
    assert mask_pii(df["comment"]).name == "comment"
    assert mask_pii("x 1234567") == "x [number]"
    with pytest.raises(ParameterError, match="Expr, Series or str"):
        mask_pii(42)


def test_html_escape_adversarial():
    out = html_escape(pl.Series(ADVERSARIAL[:3])).to_list()
    assert out == [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "&quot;quotes&quot; &amp; ampersands",
    ]
    # already-escaped text is escaped again (shown literally), never interpreted
    assert html_escape("&lt;b&gt;") == "&amp;lt;b&amp;gt;"


def test_safe_text_masks_then_escapes():
    out = safe_text(pl.Series(ADVERSARIAL)).to_list()
    for raw, text in zip(ADVERSARIAL, out, strict=True):
        assert "<" not in text and ">" not in text and '"' not in text and "'" not in text
        assert "@" not in text
        assert html.unescape(text) == mask_pii(raw)
    assert out[8] == "&lt;a href=&#x27;mailto:[email]&#x27;&gt;[email]&lt;/a&gt;"


@pytest.mark.slow
@given(st.text(max_size=80))
@settings(max_examples=200, deadline=None)
def test_escape_roundtrips_and_leaves_no_markup(text):
    escaped = html_escape(text)
    assert html.unescape(escaped) == text
    assert not set("<>\"'") & set(escaped)


@given(
    st.lists(
        st.sampled_from(["hello", " ", "0", "7", "-", "@", "a.b", "x@y.org", "+44", "(", ")", "é"]),
        max_size=30,
    )
)
@settings(max_examples=200, deadline=None)
def test_masked_text_has_no_long_digit_runs_or_emails(parts):
    masked = mask_pii("".join(parts))
    assert not re.search(r"\d{6,}", masked)
    assert not re.search(r"[\w.+-]+@[\w-]+\.[A-Za-z]{2,}", masked)


# Every national and international form the issue lists, per country, plus US forms.
PHONES = {
    "FR": [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0612345678",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "0033 6 12 34 56 78",
    ],
    "UK": [
        "07700 900123",
        "020 7946 0958",
        "0161 496 0000",
        "+44 7700 900123",
        "+44 (0)20 7946 0958",
    ],
    "DE": [
        "030 12345678",
        "030/1234567",
        "0171-1234567",
        "089 123 456 78",
        "+49 30 12345678",
        "+49 (0)30 1234 5678",
    ],
    "US": [
        "555 8123",
        "555-8123",
        "555.8123",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "1-800-555-1234",
        "+1 555 123 4567",
        "+1 (555) 123-4567",
    ],
}


@pytest.mark.parametrize("phone", [p for group in PHONES.values() for p in group])
def test_mask_pii_masks_national_and_international_phone_formats(phone):
    out = mask_pii(f"call me on {phone} today")
    # the whole number goes (a long card-like run may be labelled [number]), nothing else
    assert out in ("call me on [phone] today", "call me on [number] today")


# Decided: dates, amounts, times, versions and numbers of up to 5 digits stay (an order
# number "12345" is kept; 6 digits or more are masked as [number]).
NOT_PII = [
    "2025-03-01",
    "2025-03-01 10:30:00",
    "01/03/2025",
    "01.03.2025",
    "1,234.56",
    "1.234,56",
    "€1 234,56",
    "12.50",
    "order 12345",
    "ticket #4521",
    "v2.3.1",
    "45%",
    "10:30",
    "2024 and 2025",
    "ISO 9001",
    "3 times, 12 books",
    "1,234.5678",
]


@pytest.mark.parametrize("text", NOT_PII)
def test_mask_pii_keeps_dates_amounts_and_short_numbers(text):
    assert mask_pii(text) == text


def test_mask_pii_masks_six_digit_order_numbers():
    assert mask_pii("order 123456, ref A-12345") == "order [number], ref A-12345"


def test_strip_controls_removes_nul_and_bidi_but_keeps_layout():
    raw = "ok\x00 \u202egnp.exe\u202c \u2066x\u2069 \u200fy\ttab\nline\x7f"
    assert voc.strip_controls(raw) == "ok gnp.exe x y\ttab\nline"
    assert voc.strip_controls(pl.Series(["a\u202eb", None])).to_list() == ["ab", None]
    # safe_text strips them too (a comment cannot reorder what a reader sees)
    assert safe_text("<b>\u202eevil</b>") == "&lt;b&gt;evil&lt;/b&gt;"


# ---------------------------------------------------------------------------- sentiment
def test_comment_sentiment_labels_and_unique_calls(monkeypatch):
    calls = []
    real = voc._analyzer()

    class Counting:
        def polarity_scores(self, text):
            calls.append(text)
            return real.polarity_scores(text)

    monkeypatch.setattr(voc, "_analyzer", lambda: Counting())
    fb = pl.DataFrame(
        {
            "customer_id": list("abcdef"),
            "comment": [
                "I love it, great!",
                "Awful, terrible service",
                "I love it, great!",
                None,
                "   ",
                "The parcel arrived",
            ],
        }
    )
    out = comment_sentiment(fb)
    assert out["customer_id"].to_list() == list("abcdef")  # order kept
    assert out["sentiment_label"].to_list() == [
        "positive",
        "negative",
        "positive",
        None,
        None,
        "neutral",
    ]
    assert out["sentiment"][0] > 0.5 and out["sentiment"][1] < -0.5
    assert sorted(calls) == sorted(
        {"I love it, great!", "Awful, terrible service", "The parcel arrived"}
    )


# ---------------------------------------------------------------------------- topics
THEMES = {
    "delivery": [
        "parcel arrived late",
        "delivery was late again",
        "courier lost my parcel",
        "late delivery and no tracking",
        "parcel delivery delayed a week",
    ],
    "staff": [
        "staff were friendly and helpful",
        "helpful friendly staff",
        "the staff member was helpful",
        "friendly team and helpful staff",
        "staff very friendly",
    ],
    "price": [
        "prices are too high",
        "expensive compared with others",
        "price went up again",
        "too expensive for what it is",
        "high prices and fees",
    ],
    "app": [
        "the app crashes on login",
        "app login keeps failing",
        "app is slow and crashes",
        "cannot login to the app",
        "app update broke login",
    ],
}


def corpus(n=400, seed=0):
    """Comments from four themes; 'delivery' is said mostly by detractors (planted)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["promoter", "passive", "detractor"], n, p=[0.4, 0.25, 0.35])
    theme = np.where(
        (group == "detractor") & (rng.random(n) < 0.6),
        "delivery",
        rng.choice(["staff", "price", "app", "delivery"], n, p=[0.35, 0.3, 0.3, 0.05]),
    )
    score = np.select(
        [group == "promoter", group == "passive"],
        [rng.integers(9, 11, n), rng.integers(7, 9, n)],
        rng.integers(0, 7, n),
    )
    text = [
        THEMES[t][rng.integers(0, 5)] + (" — call me on 020 7946 0958" if i % 50 == 0 else "")
        for i, t in enumerate(theme)
    ]
    return pl.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "survey": "nps",
            "score": score.astype(np.int64),
            "comment": text,
            "source_row": np.arange(1, n + 1),
        }
    ).with_columns(pl.col("source_row").cast(pl.UInt32)), theme


def test_topics_find_planted_detractor_theme_and_choose_k():
    fb, theme = corpus()
    auto = comment_topics(fb, seed=0)
    # the documented rule: highest coherence, a larger k must win by more than 0.01
    scores = auto.k_scores.rows()
    assert [k for k, *_ in scores] == list(range(3, 9))
    best = scores[0]
    for row in scores[1:]:
        if row[1] > best[1] + 0.01:
            best = row
    assert auto.k == best[0]
    top_auto = auto.topics.sort("detractor_ratio", descending=True).row(0, named=True)
    assert {"delivery", "late"} & set(top_auto["top_terms"])
    assert top_auto["share_detractor"] >= 2 * top_auto["share_promoter"]
    tm = comment_topics(fb, k=4, seed=0)
    delivery = tm.topics.filter(
        pl.col("top_terms").list.contains("delivery") | pl.col("top_terms").list.contains("parcel")
    )
    assert delivery.height == 1
    row = delivery.row(0, named=True)
    assert row["share_detractor"] >= 2 * row["share_promoter"]
    # words: the top terms' distinct words ("delivery late" adds no new word)
    assert row["words"] == "late, delivery and parcel"
    # label: the opening clause of the comment that loads most on the topic
    assert row["label"] == "Delivery was late again"
    assert row["mean_sentiment"] < tm.topics["mean_sentiment"].max()
    # shares within each NPS group add up to 1 over topics
    for g in ("promoter", "passive", "detractor"):
        assert tm.topics[f"share_{g}"].sum() == pytest.approx(1.0)
    assert tm.topics["share"].sum() == pytest.approx(1.0)
    # no PII ever becomes a term
    terms = {t for ts in tm.topics["top_terms"].to_list() for t in ts}
    assert not any(ch.isdigit() for t in terms for ch in t) and "phone" not in terms
    # topics agree with the planted themes for most comments
    majority = tm.comments.group_by("topic").agg(pl.len())
    assert majority.height == 4


def test_topics_are_deterministic_and_validate():
    fb, _ = corpus(200, seed=1)
    a = comment_topics(fb, k=4, seed=0)
    b = comment_topics(fb, k=4, seed=0)
    assert a.topics.equals(b.topics) and a.comments.equals(b.comments)
    assert a.k_scores.height == 0
    # the result draws itself: the topic share chart of its table
    assert a.chart().to_dict() == topic_share_chart(a.topics).to_dict()
    with pytest.raises(ParameterError, match="'k'"):
        comment_topics(fb, k=1)
    with pytest.raises(DataError, match="at least 10"):
        comment_topics(fb.head(5), k=3)


def test_representative_verbatims_are_masked_escaped_and_ranked():
    fb, _ = corpus(200, seed=2)
    evil = pl.DataFrame(
        {
            "customer_id": ["x1", "x2"],
            "survey": "nps",
            "score": [0, 1],
            "comment": [
                "<script>alert(1)</script> parcel late, mail jane.doe+cx@example.co.uk",
                "<img src=x onerror=alert(1)> delivery late 4111 1111 1111 1111",
            ],
            "source_row": pl.Series([900, 901], dtype=pl.UInt32),
        }
    )
    tm = comment_topics(pl.concat([fb, evil]), k=4, seed=0)
    v = representative_verbatims(tm, n=200)
    text = " ".join(v["verbatim"].to_list())
    assert "<" not in text and "@" not in text and "4111" not in text
    assert "&lt;script&gt;" in text and "[email]" in text
    top = representative_verbatims(tm, n=2)
    assert top.group_by("topic").agg(pl.len())["len"].max() == 2
    # ranks run 1..m per topic (m <= 2: a topic whose comments are all one text shows it once)
    for _, group in top.group_by("topic", maintain_order=True):
        assert group["rank"].to_list() == list(range(1, group.height + 1))
        w = group["topic_weight"].to_list()
        assert w == sorted(w, reverse=True)
    one = representative_verbatims(tm, n=1, topic=1)
    assert one["topic"].to_list() == [1]


# ---------------------------------------------------------------------------- sample clients
def _truth(folder):
    """The client's truth.json; a missing file fails the test (the sample data is committed)."""
    if not (folder / "truth.json").is_file():
        pytest.fail(f"{folder}/truth.json is missing: {MISSING_SAMPLE}")
    return json.loads((folder / "truth.json").read_text())


def _clients():
    """The committed sample clients (data/sample), each with the truth.json of what it plants."""
    return sorted(SAMPLE_CLIENTS)


def check_planted_theme(folder):
    """The topic that is about the planted theme (most of its comments match the planted
    pattern, and its top terms share a word with the planted terms) is concentrated among
    detractors: its share of detractor comments is at least twice its share of promoter ones."""
    from cxlab.io.client import load_client

    truth = _truth(folder).get("detractor_theme")
    if not truth:
        pytest.fail(f"{folder.name}/truth.json has no planted detractor theme: {MISSING_SAMPLE}")
    c = load_client(folder)
    tm = comment_topics(c.feedback.filter(pl.col("survey") == "nps"), seed=0)
    about = (
        tm.comments.filter(pl.col("topic").is_not_null())
        .group_by("topic")
        .agg(pl.col("comment").str.contains(truth["pattern"]).mean().alias("about"))
    )
    planted = {w for t in truth["terms"] for w in t.lower().split()}
    best = (
        tm.topics.join(about, on="topic")
        .sort(["about", "topic"], descending=[True, False])
        .row(0, named=True)
    )
    words = {w for t in best["top_terms"] for w in t.split()}
    assert words & planted, tm.topics
    assert best["share_detractor"] >= 2 * best["share_promoter"], tm.topics


@pytest.mark.slow
@pytest.mark.parametrize("client", _clients())
def test_sample_client_planted_detractor_theme(client):
    check_planted_theme(SAMPLE_DIR / client)


def test_representative_verbatims_are_distinct():
    # 4 identical delivery complaints and 2 distinct ones: the top 3 must be 3 different texts
    texts = (
        ["late delivery parcel"] * 4
        + ["parcel delivery late again", "delivery late parcel lost"]
        + [
            "friendly staff helpful",
            "helpful friendly staff",
            "staff friendly helpful team",
            "friendly helpful staff",
        ]
    )
    fb = pl.DataFrame(
        {
            "customer_id": [str(i) for i in range(len(texts))],
            "survey": "nps",
            "score": [2, 3, 1, 2, 3, 1, 10, 9, 10, 9],
            "comment": texts,
        }
    )
    v = representative_verbatims(comment_topics(fb, k=2, min_df=2), n=3)
    for _, group in v.group_by("topic"):
        assert group["verbatim"].n_unique() == group.height
    assert v.filter(pl.col("verbatim") == "late delivery parcel").height == 1


def test_topic_labels_are_phrases_without_personal_details():
    # every 50th comment ends with a phone number; a label is a masked opening clause, so no
    # digit can reach it, and each label is a phrase a person would write (capitalised, no
    # " / " list of terms)
    fb, _ = corpus()
    fb = fb.with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0)
        .then("Call 020 7946 0958, " + pl.col("comment"))
        .otherwise(pl.col("comment"))
        .alias("comment")
    )
    labels = comment_topics(fb, k=4, seed=0).topics["label"].to_list()
    assert len(set(labels)) == 4
    for label in labels:
        assert not any(ch.isdigit() for ch in label), label
        assert " / " not in label and label[:1].isupper(), label


def test_topic_label_comes_from_the_group_the_topic_leans_to():
    # topic 0: 2 of the 2 detractor comments, 1 of the 3 promoter comments: it leans to
    # detractors (share 1.0 against 0.33), so its name is the detractor comment that loads
    # most (0.7), not the promoter's praise that loads more (0.9). Topic 1: promoters only.
    # Topic 2: no NPS comment (a CSAT comment), so any comment may name it.
    comments = pl.DataFrame(
        {
            "topic": [0, 0, 0, 1, 1, 2],
            "topic_weight": [0.9, 0.7, 0.5, 0.8, 0.6, 0.4],
            "comment": [
                "Quick dispatch and delivery, as promised.",
                "The delivery was late again.",
                "Delivery late, no word from anyone.",
                "Great range of books.",
                "Love the website.",
                "Easy checkout.",
            ],
            "nps_group": ["promoter", "detractor", "detractor", "promoter", "promoter", None],
        }
    )
    phrases = dict(voc._phrases(comments).rows())
    assert phrases == {
        0: "The delivery was late again",
        1: "Great range of books",
        2: "Easy checkout",
    }
