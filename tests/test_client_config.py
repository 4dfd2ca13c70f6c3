"""client.toml parsing: defaults, overrides and the errors a user sees."""

import pytest

from cxlab.client_config import read_client_config
from cxlab.errors import ConfigError
from cxlab.schema import DEFAULT_JOURNEY_MAP


def write(tmp_path, text):
    (tmp_path / "client.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_minimal_config_uses_defaults(tmp_path):
    cfg = read_client_config(write(tmp_path, '[files]\nevents = "events.csv"\n'))
    assert cfg.name == tmp_path.name
    assert cfg.timezone == "UTC"
    assert cfg.journey_map == DEFAULT_JOURNEY_MAP
    assert cfg.purchase_touchpoints == ("purchase",)
    assert cfg.churn.method == "column"
    assert cfg.path_of("events") == tmp_path.resolve() / "events.csv"
    assert cfg.path_of("feedback") is None


def test_journey_map_override_and_extension(tmp_path):
    cfg = read_client_config(write(tmp_path, """
name = "Bank"
[files]
events = "e.parquet"
[journey]
purchase_touchpoints = ["purchase", "account_opened"]
[journey.map]
account_opened = "purchase"
email_open = "consideration"
"""))
    assert cfg.journey_map["account_opened"] == "purchase"
    assert cfg.journey_map["email_open"] == "consideration"
    assert cfg.purchase_touchpoints == ("purchase", "account_opened")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[files]\nevents = "e.csv"\n[journey.map]\nad_click = "awarness"\n', "Did you mean 'awareness'"),
        ('[files]\nevnts = "e.csv"\n', "Did you mean 'events'"),
        ('[files]\nevents = "e.csv"\n[columns.events]\nCust = "custmer_id"\n', "Did you mean 'customer_id'"),
        ('timezone = "Mars/Olympus"\n[files]\nevents = "e.csv"\n', "IANA time zone"),
        ('[files]\nfeedback = "f.csv"\n', "at least the events file"),
        ('[files]\nevents = "e.csv"\n[churn]\nmethod = "vibes"\n', "churn.method"),
        ('[files\nevents = "e.csv"\n', "not valid TOML"),
        ('nmae = "x"\n[files]\nevents = "e.csv"\n', "Did you mean 'name'"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as err:
        read_client_config(write(tmp_path, text))
    assert fragment in str(err.value)
    assert "client.toml" in str(err.value)


def test_missing_config_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="has no client.toml"):
        read_client_config(tmp_path)
