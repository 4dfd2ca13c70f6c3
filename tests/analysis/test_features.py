"""Customer features and churn labels on a tiny hand-written fixture.

The fixture (data end = as_of = 2024-04-30 00:00 UTC, the last event):

    ann  signed up 2024-01-01
         2024-01-10 ad_click     social
         2024-01-20 site_visit   web
         2024-02-01 purchase     web    revenue 40
         2024-03-01 purchase     web    revenue 60
         2024-03-05 support_call phone
         2024-04-20 support_email email
    bob  signed up 2024-04-01 (too new for 90-day inactivity)
         2024-04-30 site_visit   app
    cat  signed up 2023-12-01
         2024-01-05 purchase     store  revenue 25
         2024-01-06 support_call phone
    dan  in customers only (signed up 2024-02-01), never seen in events
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.analysis.features import (
    LABEL_LEAKING_FEATURES,
    churn_labels,
    churn_rate,
    customer_features,
    feature_groups,
)
from cxlab.contract.client_config import ChurnDefinition
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP, TIMESTAMP_DTYPE
from cxlab.errors import DataError, ParameterError


def ts(month: int, day: int) -> dt.datetime:
    return dt.datetime(2024, month, day, tzinfo=dt.UTC)


@pytest.fixture
def events() -> pl.DataFrame:
    rows = [
        ("ann", ts(1, 10), "ad_click", "social", None),
        ("ann", ts(1, 20), "site_visit", "web", None),
        ("ann", ts(2, 1), "purchase", "web", 40.0),
        ("ann", ts(3, 1), "purchase", "web", 60.0),
        ("ann", ts(3, 5), "support_call", "phone", None),
        ("ann", ts(4, 20), "support_email", "email", None),
        ("bob", ts(4, 30), "site_visit", "app", None),
        ("cat", ts(1, 5), "purchase", "store", 25.0),
        ("cat", ts(1, 6), "support_call", "phone", None),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "customer_id": pl.String,
            "timestamp": TIMESTAMP_DTYPE,
            "touchpoint": pl.String,
            "channel": pl.String,
            "revenue": pl.Float64,
        },
        orient="row",
    ).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("source_row"))


@pytest.fixture
def feedback() -> pl.DataFrame:
    rows = [
        ("ann", ts(2, 2), "nps", 9),
        ("ann", ts(3, 6), "nps", 3),  # the later answer is the "last NPS"
        ("ann", ts(3, 6), "csat", 2),
        ("ann", ts(4, 21), "csat", 4),  # mean CSAT (2 + 4) / 2 = 3
        ("cat", ts(1, 7), "ces", 5),
        ("cat", ts(5, 9), "nps", 0),  # after the data end: ignored
    ]
    return pl.DataFrame(
        rows,
        schema={
            "customer_id": pl.String,
            "timestamp": TIMESTAMP_DTYPE,
            "survey": pl.String,
            "score": pl.Int64,
        },
        orient="row",
    ).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("source_row"))


@pytest.fixture
def customers() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["ann", "bob", "cat", "dan"],
            "segment": ["gold", "basic", "basic", "basic"],
            "region": ["north", "south", None, "east"],
            "age": [34, 51, 28, None],
            "signup_date": [
                dt.date(2024, 1, 1),
                dt.date(2024, 4, 1),
                dt.date(2023, 12, 1),
                dt.date(2024, 2, 1),
            ],
            "churned": [False, False, True, None],
            "churn_date": [None, None, dt.date(2024, 2, 6), None],
        }
    )


@pytest.fixture
def feats(events, feedback, customers) -> pl.DataFrame:
    return customer_features(
        events, feedback, customers, journey_map=DEFAULT_JOURNEY_MAP, recent_days=30, max_levels=2
    )


def row(frame: pl.DataFrame, customer: str) -> dict:
    return frame.filter(pl.col("customer_id") == customer).row(0, named=True)


def test_one_row_per_customer_sorted(feats):
    # union of customers table and events: ann, bob, cat, dan
    assert feats["customer_id"].to_list() == ["ann", "bob", "cat", "dan"]


def test_recency_frequency_monetary_by_hand(feats):
    ann, bob, cat = row(feats, "ann"), row(feats, "bob"), row(feats, "cat")
    # ann: last event 04-20, data end 04-30 -> 10 days; 6 events; 40 + 60 revenue
    assert (ann["recency_days"], ann["frequency"], ann["n_purchases"], ann["monetary"]) == (
        10.0,
        6,
        2,
        100.0,
    )
    # ann: last purchase 03-01 -> 30 (Mar) + 30 (Apr 1..30) = 60 days
    assert ann["days_since_last_purchase"] == 60.0
    # ann: first seen = signup 01-01 -> 31 + 29 + 31 + 29 = 120 days
    assert ann["tenure_days"] == 120.0
    # bob: one event at the data end, no purchase -> days since purchase = tenure (29 days)
    assert (bob["recency_days"], bob["frequency"], bob["monetary"]) == (0.0, 1, 0.0)
    assert bob["tenure_days"] == bob["days_since_last_purchase"] == 29.0
    # cat: first seen 2023-12-01 (signup) -> 31 + 31 + 29 + 31 + 29 = 151 days; last event 01-06
    assert cat["tenure_days"] == 151.0
    assert cat["recency_days"] == 115.0


def test_customer_without_events(feats):
    dan = row(feats, "dan")
    # signed up 02-01: 29 (Feb) + 31 (Mar) + 29 (Apr 1..30) = 89 days ago; no events -> recency = tenure, counts 0
    assert dan["tenure_days"] == dan["recency_days"] == 89.0
    assert (dan["frequency"], dan["support_contacts"], dan["monetary"], dan["furthest_stage"]) == (
        0,
        0,
        0.0,
        0,
    )


def test_support_contacts_total_and_recent(feats):
    # ann: support_call 03-05 and support_email 04-20; only the latter in the last 30 days
    ann, cat = row(feats, "ann"), row(feats, "cat")
    assert (ann["support_contacts"], ann["support_contacts_30d"]) == (2, 1)
    assert (cat["support_contacts"], cat["support_contacts_30d"]) == (1, 0)


def test_support_counts_only_after_the_first_purchase():
    # chat 01-02 comes before the first purchase (01-03): a sales question, not support;
    # support_call 01-04 and chat 01-05 come after it: 2 contacts. eve never bought: 0.
    ev = pl.DataFrame(
        {
            "customer_id": ["joe"] * 4 + ["eve"],
            "timestamp": [ts(1, 2), ts(1, 3), ts(1, 4), ts(1, 5), ts(1, 5)],
            "touchpoint": ["chat", "purchase", "support_call", "chat", "support_call"],
            "channel": ["chat", "web", "phone", "chat", "phone"],
        }
    )
    f = customer_features(ev, None, None, journey_map=DEFAULT_JOURNEY_MAP)
    assert f.select("customer_id", "support_contacts").rows() == [("eve", 0), ("joe", 2)]


def test_stages_and_furthest_stage(feats):
    ann = row(feats, "ann")
    # ad_click=awareness, site_visit=consideration, 1st purchase=purchase,
    # 2nd purchase + support_call + support_email = retention
    counts = [
        ann[f"stage_{s}_events"]
        for s in ("awareness", "consideration", "purchase", "retention", "advocacy")
    ]
    assert counts == [1, 1, 1, 3, 0]
    assert ann["furthest_stage"] == 4  # retention
    assert row(feats, "bob")["furthest_stage"] == 2  # consideration only


def test_channel_shares_capped(feats):
    # channels by count: web 3, phone 2, then app/email/social/store 1 each -> top-2 + other
    shares = [c for c in feats.columns if c.startswith("channel_")]
    assert shares == ["channel_web_share", "channel_phone_share", "channel_other_share"]
    ann = row(feats, "ann")
    assert ann["channel_web_share"] == pytest.approx(3 / 6)
    assert ann["channel_phone_share"] == pytest.approx(1 / 6)
    assert ann["channel_other_share"] == pytest.approx(2 / 6)
    # every customer with events: shares sum to one
    sums = feats.filter(pl.col("frequency") > 0).select(pl.sum_horizontal(shares)).to_series()
    assert sums.to_list() == pytest.approx([1.0, 1.0, 1.0])


def test_feedback_scores(feats):
    ann, cat, bob = row(feats, "ann"), row(feats, "cat"), row(feats, "bob")
    assert (ann["last_nps"], ann["mean_csat"], ann["mean_ces"], ann["n_feedback"]) == (
        3.0,
        3.0,
        None,
        4,
    )
    # cat's NPS of 0 comes after the data end and is ignored
    assert (cat["last_nps"], cat["mean_ces"], cat["n_feedback"]) == (None, 5.0, 1)
    assert bob["n_feedback"] == 0


def test_attributes_one_hot_capped_and_labels_left_out(feats):
    # segment: basic 3, gold 1 -> both kept; region: east/north/south 1 each -> first two by
    # name + other; age numeric; churned/churn_date/signup_date are never features
    assert [c for c in feats.columns if "=" in c] == [
        "segment=basic",
        "segment=gold",
        "region=east",
        "region=north",
        "region=other",
    ]
    assert "age" in feats.columns
    assert not {"churned", "churn_date", "signup_date", "source_row"} & set(feats.columns)
    assert row(feats, "bob")["region=other"] == 1  # south
    assert row(feats, "cat")["region=other"] == 0  # null region: no level


def test_identifier_like_text_columns_are_skipped(events, customers):
    # 40 customers with distinct e-mails: 40 levels > 2 x max_levels and all distinct -> not a
    # category (and personal data): no "email=…" columns; segment (2 levels) is kept
    many = pl.DataFrame(
        {
            "customer_id": [f"x{i:02d}" for i in range(40)],
            "email": [f"p{i}@example.com" for i in range(40)],
            "segment": ["a", "b"] * 20,
        }
    )
    f = customer_features(events, None, many, journey_map=DEFAULT_JOURNEY_MAP, max_levels=5)
    assert not [c for c in f.columns if c.startswith("email")]
    assert {"segment=a", "segment=b"} <= set(f.columns)


def test_optional_comment_sentiment(events, feedback):
    fb = feedback.with_columns(
        pl.when(pl.col("customer_id") == "ann")
        .then(pl.lit("Terrible, slow and rude support"))
        .otherwise(pl.lit("Great service, love it!"))
        .alias("comment")
    )
    f = customer_features(events, fb, None, journey_map=DEFAULT_JOURNEY_MAP, sentiment=True)
    got = dict(f.select("customer_id", "mean_sentiment").iter_rows())
    assert got["ann"] < 0 < got["cat"]  # VADER: negative words vs positive words
    assert got["bob"] is None  # no comment
    assert (
        "mean_sentiment"
        not in customer_features(events, fb, None, journey_map=DEFAULT_JOURNEY_MAP).columns
    )


def test_as_of_cuts_later_events(events, feedback, customers):
    f = customer_features(
        events, feedback, customers, journey_map=DEFAULT_JOURNEY_MAP, as_of=dt.date(2024, 3, 2)
    )
    ann = row(f, "ann")
    # events up to 03-02: 4 of them; last one (purchase) 03-01 -> 1 day
    assert (ann["frequency"], ann["recency_days"], ann["support_contacts"]) == (4, 1.0, 0)
    assert ann["last_nps"] == 9.0


def test_lazy_input_same_result(events, feedback, customers, feats):
    lazy = customer_features(
        events.lazy(),
        feedback.lazy(),
        customers.lazy(),
        journey_map=DEFAULT_JOURNEY_MAP,
        recent_days=30,
        max_levels=2,
    )
    assert lazy.equals(feats)


def test_stages_come_from_the_map_or_the_stage_column(events, feedback, customers, feats):
    from cxlab.analysis.journey import assign_stages

    staged = assign_stages(events, DEFAULT_JOURNEY_MAP)
    f = customer_features(staged, feedback, customers, recent_days=30, max_levels=2)
    assert f.equals(feats)
    with pytest.raises(ParameterError, match="journey_map=config.journey_map"):
        customer_features(events, feedback, customers)
    bad = staged.with_columns(
        stage=pl.when(pl.col("stage") == "awareness")
        .then(pl.lit("limbo"))
        .otherwise(pl.col("stage").cast(pl.String))
    )
    with pytest.raises(ParameterError, match="'limbo'"):
        customer_features(bad, feedback, customers)


def test_feature_groups_cover_every_column(feats):
    groups = feature_groups(feats.columns)
    flat = [c for g in groups.values() for c in g]
    assert sorted(flat) == sorted(c for c in feats.columns if c != "customer_id")
    assert groups["support"] == ["support_contacts", "support_contacts_30d"]
    assert set(LABEL_LEAKING_FEATURES) <= set(groups["rfm"])


def test_missing_column_is_explained(events):
    with pytest.raises(DataError, match="'touchpoint'.*Did you mean 'touch_point'"):
        customer_features(
            events.rename({"touchpoint": "touch_point"}),
            None,
            None,
            journey_map=DEFAULT_JOURNEY_MAP,
        )
    with pytest.raises(ParameterError, match="recent_days"):
        customer_features(events, None, None, journey_map=DEFAULT_JOURNEY_MAP, recent_days=0)


# ---- churn labels ---------------------------------------------------------------------
def test_inactivity_labels_and_censoring(events, customers):
    lab = churn_labels(events, customers, ChurnDefinition("inactivity", 90))
    got = {r["customer_id"]: r for r in lab.iter_rows(named=True)}
    # ann: silent 10 days < 90 -> retained; known for 120 days >= 90 -> judged
    assert (got["ann"]["churned"], got["ann"]["censored"], got["ann"]["duration_days"]) == (
        False,
        False,
        120.0,
    )
    # bob: first seen 29 days ago: too new to judge -> censored, not retained
    assert (got["bob"]["churned"], got["bob"]["censored"], got["bob"]["event_observed"]) == (
        False,
        True,
        False,
    )
    # cat: silent 115 days >= 90 -> churned; lifetime = first seen 2023-12-01 to last event
    # 2024-01-06 = 36 days; the churn is observed
    assert (got["cat"]["churned"], got["cat"]["censored"], got["cat"]["duration_days"]) == (
        True,
        False,
        36.0,
    )
    assert got["cat"]["event_observed"] is True
    # dan: never active, known 89 days < 90 -> censored
    assert (got["dan"]["churned"], got["dan"]["censored"]) == (False, True)


def test_inactivity_boundary_is_inclusive(events, customers):
    # cat is silent exactly 115 days: churned at 115, not at 116
    assert (
        churn_labels(events, customers, ChurnDefinition("inactivity", 115))
        .filter(pl.col("customer_id") == "cat")["churned"]
        .item()
        is True
    )
    assert (
        churn_labels(events, customers, ChurnDefinition("inactivity", 116))
        .filter(pl.col("customer_id") == "cat")["churned"]
        .item()
        is False
    )


def test_column_labels(events, customers):
    lab = churn_labels(events, customers, ChurnDefinition("column"))
    got = {r["customer_id"]: r for r in lab.iter_rows(named=True)}
    # cat churned on 2024-02-06: 67 days after first seen 2023-12-01 (31 + 31 + 5)
    assert (got["cat"]["churned"], got["cat"]["duration_days"], got["cat"]["event_observed"]) == (
        True,
        67.0,
        True,
    )
    # ann: not churned -> followed until the data end (120 days), censored in survival terms
    assert (got["ann"]["churned"], got["ann"]["censored"], got["ann"]["duration_days"]) == (
        False,
        False,
        120.0,
    )
    # dan: churned is null -> the client did not say: censored
    assert got["dan"]["censored"] is True


def test_column_labels_need_the_column(events, customers):
    with pytest.raises(DataError, match="no 'churned' column"):
        churn_labels(events, customers.drop("churned"), ChurnDefinition("column"))


def test_churn_date_after_as_of_is_not_churn_yet(events, customers):
    lab = churn_labels(events, customers, ChurnDefinition("column"), as_of=dt.date(2024, 2, 1))
    assert lab.filter(pl.col("customer_id") == "cat")["churned"].item() is False


@settings(max_examples=25, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=12),
    window=st.integers(min_value=1, max_value=200),
)
def test_inactivity_invariants(gaps, window):
    # one customer per gap: first event 400 days before the data end, last one `gap` days before
    end = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    ids = [f"c{i:02d}" for i in range(len(gaps))]
    ev = pl.DataFrame(
        {
            "customer_id": ids * 2 + ["zz"],
            "timestamp": [end - dt.timedelta(days=400)] * len(ids)
            + [end - dt.timedelta(days=g) for g in gaps]
            + [end],
        }
    ).with_columns(pl.col("timestamp").cast(TIMESTAMP_DTYPE))
    lab = churn_labels(ev, None, ChurnDefinition("inactivity", window)).filter(
        pl.col("customer_id") != "zz"
    )
    # churned exactly when silent >= window; never both churned and censored; durations >= 0
    assert lab["churned"].to_list() == [g >= window for g in gaps]
    assert not (lab["churned"] & lab["censored"]).any()
    assert (lab["duration_days"] >= 0).all()
    assert lab["event_observed"].to_list() == lab["churned"].to_list()


# ---- who a churn rate counts ------------------------------------------------------------------
# The fixture above, churn = no event in the last 30 days before 30 Apr (cut-off: 31 Mar).
#   ann: first seen 1 Jan (signup), bought 1 Feb, last event 20 Apr -> kept; had bought by 31 Mar
#   bob: first seen 1 Apr (signup): censored (too new to judge) -> never counted
#   cat: first seen 1 Dec, bought 5 Jan, last event 6 Jan -> lost; had bought by 31 Mar
#   dan: signed up 1 Feb, no event -> lost (silent since signup); never bought
# buyers: ann, cat -> 1 of 2 lost; active_before (an event by 31 Mar): ann, cat -> 1 of 2;
# all (every known label): ann, cat, dan -> 2 of 3.
@pytest.mark.parametrize(
    ("population", "counted", "lost"),
    [
        ("buyers", ["ann", "cat"], 1),
        ("active_before", ["ann", "cat"], 1),
        ("all", ["ann", "cat", "dan"], 2),
    ],
)
def test_churn_rate_counts_the_declared_population(events, customers, population, counted, lost):
    definition = ChurnDefinition("inactivity", 30, population=population)
    rate = churn_rate(events, customers, definition)
    assert rate.customers.get_column("customer_id").to_list() == counted
    assert (rate.n, rate.n_churned) == (len(counted), lost)
    assert rate.cutoff == ts(3, 31)
    assert rate.labels.height == 4  # every customer keeps a label (survival curves)


def test_a_first_purchase_inside_the_window_is_not_counted(events, customers):
    # with a 100-day window (cut-off 21 Jan) ann's first purchase (1 Feb) falls inside it:
    # she could not have been lost yet, so only cat (bought 5 Jan, silent since 6 Jan) counts
    rate = churn_rate(events, customers, ChurnDefinition("inactivity", 100))
    assert rate.customers.rows() == [("cat", True)]
    assert rate.who == "customers who had bought by 21 Jan 2024"
    assert rate.uncertain  # 1 customer: too few to say


def test_column_churn_counts_buyers_at_the_data_end(events, customers):
    rate = churn_rate(events, customers, ChurnDefinition("column"))
    # column labels: ann False, cat True, bob/dan as the customers file says; buyers: ann, cat
    assert rate.customers.get_column("customer_id").to_list() == ["ann", "cat"]
    assert rate.cutoff == rate.as_of and rate.who == "customers who bought"
    assert rate.lost_means == "as recorded in the customers file"


def test_unknown_population_is_refused():
    with pytest.raises(ParameterError, match='population = "buyers"'):
        churn_rate(
            pl.DataFrame({"customer_id": ["a"], "timestamp": [ts(1, 1)], "touchpoint": ["x"]}),
            None,
            ChurnDefinition("inactivity", 30, population="everyone"),
        )


@pytest.mark.parametrize(
    ("revenue", "want"),
    [
        # micro-units 100000 + 200000 = 300000 -> 0.3 exactly; a float sum gives 0.30000000000000004
        ([0.1, 0.2, None], 0.3),
        # 1e300 is too large for micro-units in 64 bits: exact_sum's coarse units, still exact
        ([1e300, 1e300, None], 2e300),
    ],
)
def test_monetary_is_the_exact_sum_small_or_huge(events, revenue, want):
    ann = events.filter(pl.col("customer_id") == "ann").head(3)
    ann = ann.with_columns(pl.Series("revenue", revenue, dtype=pl.Float64))
    feats = customer_features(ann, None, None, journey_map=DEFAULT_JOURNEY_MAP)
    assert feats["monetary"].to_list() == [want]
