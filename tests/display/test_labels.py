"""Display labels and the chart theme: every code a reader sees becomes words (issue 16 §3)."""

from __future__ import annotations

import altair as alt
import polars as pl
import pytest

from cxlab.display import theme
from cxlab.display.labels import (
    LABELS,
    active_labels,
    data_value,
    display_label,
    in_sentence,
    label_values,
    labelled_columns,
    labels_in_use,
    use_labels,
)
from cxlab.errors import ConfigError


@pytest.fixture(autouse=True)
def no_client_labels():
    use_labels(None)
    yield
    use_labels(None)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("checkout_error", "Checkout error"),  # the rule: underscores to spaces, capital first
        ("support_contacts_90d", "Support contacts in the last 90 days"),  # <name>_<N>d
        ("conversion_rate", "Conversion"),  # fixed label
        ("stage_consideration_events", "Events in the consideration stage"),
        ("channel_email_share", "Share of interactions on Email"),
        ("segment=gift buyer", "Segment: Gift buyer"),  # one-hot level: a data value
        ("nps_not_exposed", "NPS of the others"),
        ("mean_csat", "Average CSAT"),
        ("ces_easy", "CES easy"),
        ("ENDED", "Journey ended"),
        ("gradient_boosting", "Flexible model"),
        ("Already plain words", "Already plain words"),  # text that is not a code is kept
        ("unparsable_timestamp", "Unparsable timestamp"),  # validation reasons (appendix)
        ("null_customer_id", "No customer ID"),
    ],
)
def test_codes_become_words(code, words):
    assert display_label(code) == words


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        # all lower case: a capital first letter, whether one word or several
        ("gift buyer", "Gift buyer"),
        ("mass market", "Mass market"),
        ("student", "Student"),
        ("affluent", "Affluent"),
        # any capital letter: the client's own spelling, exactly as written
        ("iPhone user", "iPhone user"),
        ("VIP", "VIP"),
        ("eBay", "eBay"),
        ("North East", "North East"),
        # codes with underscores keep the code rule
        ("sim_only", "Sim only"),
        ("family_plan", "Family plan"),
    ],
)
def test_one_rule_for_values_from_the_clients_data(value, shown):
    """Issue: "Affluent" and "Student" were shown beside "mass market" and "gift buyer"."""
    assert display_label(value) == shown
    if "_" not in value:
        assert data_value(value) == shown
    frame = pl.DataFrame({"segment": ["mass market", "affluent", value]})
    assert label_values(frame, ["segment"])["segment"].to_list() == [
        "Mass market",
        "Affluent",
        shown,
    ]


def test_a_label_inside_a_sentence_keeps_the_clients_spelling():
    assert in_sentence(display_label("support_contacts")) == "support contacts"
    assert in_sentence(display_label("segment=iPhone user")) == "segment: iPhone user"
    assert in_sentence(display_label("segment=gift buyer")) == "segment: Gift buyer"
    assert in_sentence(display_label("nps_not_exposed")) == "NPS of the others"


def test_client_labels_win_over_cxlab_labels_and_the_call_wins_over_both():
    use_labels({"checkout_error": "Payment failed", "conversion_rate": "Went on"})
    assert display_label("checkout_error") == "Payment failed"
    assert display_label("conversion_rate") == "Went on"  # over LABELS
    assert display_label("checkout_error", {"checkout_error": "Card refused"}) == "Card refused"
    # a pattern's inner part uses the client's words too
    use_labels({"support_contacts": "Calls to the help desk"})
    assert display_label("support_contacts_30d") == "Calls to the help desk in the last 30 days"


def test_labels_in_use_restores_the_previous_client():
    use_labels({"a_b": "First client's words"})
    with labels_in_use({"a_b": "Second client's words"}):
        assert display_label("a_b") == "Second client's words"
    assert active_labels() == {"a_b": "First client's words"}


def test_label_values_and_columns():
    df = pl.DataFrame(
        {
            "stage": pl.Series(["purchase", None, "advocacy"], dtype=pl.Categorical),
            "touchpoint": ["checkout_error", "site_visit", "checkout_error"],
            "conversion_rate": [0.5, 0.25, 0.125],
        }
    )
    shown = label_values(df, ["stage", "touchpoint", "not_a_column"])
    assert shown["stage"].to_list() == ["Purchase", None, "Advocacy"]  # nulls stay null
    assert shown["touchpoint"].to_list() == ["Checkout error", "Site visit", "Checkout error"]
    assert shown["conversion_rate"].to_list() == [0.5, 0.25, 0.125]  # numbers untouched
    assert labelled_columns(df).columns == ["Stage", "Touchpoint", "Conversion"]
    assert set(LABELS) >= {"ci_low", "ci_high", "n", "small_n"}


def test_labels_table_in_client_toml(tmp_path):
    from cxlab.contract.client_config import read_client_config

    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "events.csv").write_text("customer_id,timestamp,touchpoint,channel\n")
    base = '[files]\nevents = "events.csv"\n'
    (folder / "client.toml").write_text(
        base + '[labels]\ncheckout_error = "Payment failed"\n"web visit" = "Web visit"\n'
    )
    assert read_client_config(folder).labels == {
        "checkout_error": "Payment failed",
        "web visit": "Web visit",
    }
    (folder / "client.toml").write_text(base + "[labels]\ncheckout_error = 3\n")
    with pytest.raises(ConfigError) as err:
        read_client_config(folder)
    # names the key, what was expected, what was found, and the fix as valid TOML
    text = str(err.value)
    assert "'labels.checkout_error' must be a non-empty string; got an integer (3)" in text
    assert 'checkout_error = "3"' in text


def test_one_theme_for_every_chart():
    from cxlab.display.charts.journey import heatmap_chart  # importing the charts enables the theme

    assert alt.theme.active == theme.THEME
    chart = heatmap_chart(
        pl.DataFrame(
            {"stage": ["purchase"], "touchpoint": ["checkout"], "reach": [0.5], "customers": [4]}
        )
    )
    config = chart.to_dict()["config"]
    assert config["font"] == theme.FONT  # system fonts only: nothing loaded from the internet
    assert "http" not in theme.FONT and "@import" not in str(config)
    assert config["view"]["continuousWidth"] == theme.WIDTH <= 600  # fits 820 px and A4


def test_tooltips_are_labelled_and_intervals_are_one_line():
    assert theme.tip("ci_low").to_dict()["title"] == "95% interval, low"
    assert theme.tip("support_contacts_90d", fmt=",").to_dict() == {
        "field": "support_contacts_90d",
        "format": ",",
        "title": "Support contacts in the last 90 days",
        "type": "quantitative",
    }
    chart = theme.interval(
        alt.Chart(pl.DataFrame({"ci_low": [0.1], "ci_high": [0.2]})).mark_point()
    )
    (calc,) = chart.to_dict()["transform"]
    assert "' to '" in calc["calculate"] and calc["as"] == "interval_95"


def test_only_column_level_names_cxlab_builds_get_the_equals_rule():
    from cxlab.display.labels import display_label

    # one-hot attribute levels are built as "<column>=<level>" (cxlab.analysis.features)
    assert display_label("segment=gift buyer") == "Segment: Gift buyer"  # level: data_value
    assert display_label("plan=a=b") == "Plan: A=b"  # only the first "=" splits
    # a data value holding "=" or markup is shown exactly as it is (escaped later)
    for value in ("<svg onload=__pwned=4>", "x + y = z", "a b=c_d", "<b>VIP</b>"):
        assert display_label(value) == value
