"""client.toml parsing: defaults, overrides, the declared key table, and the client folder."""

import datetime as dt
import os
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxlab.config import PROJECT_ROOT, SAMPLE_DIR
from cxlab.contract.client_config import (
    KEYS,
    Key,
    Mapping,
    Table,
    key_reference,
    read_client_config,
    toml_value,
)
from cxlab.contract.schema import DEFAULT_JOURNEY_MAP
from cxlab.errors import ConfigError, DataError
from cxlab.io.client import load_client

MINIMAL = '[files]\nevents = "events.csv"\n'


def write(tmp_path, text):
    (tmp_path / "client.toml").write_text(text, encoding="utf-8")
    return tmp_path


def error_of(folder):
    with pytest.raises(ConfigError) as err:
        read_client_config(folder)
    return str(err.value)


def test_minimal_config_uses_defaults(tmp_path):
    cfg = read_client_config(write(tmp_path, MINIMAL))
    assert cfg.name == tmp_path.name
    assert cfg.timezone == "UTC"
    assert cfg.journey_map == DEFAULT_JOURNEY_MAP
    assert cfg.purchase_touchpoints == ("purchase",)
    assert cfg.churn.method == "column"
    assert cfg.churn.inactivity_days == 90
    assert cfg.start_date is None  # no lower bound
    assert cfg.duplicate_events == "keep"
    assert cfg.as_of is None
    assert cfg.allow_outside_folder is False
    assert cfg.columns == {}
    assert cfg.path_of("events") == tmp_path.resolve() / "events.csv"
    assert cfg.path_of("feedback") is None


def test_journey_map_override_and_extension(tmp_path):
    text = """
name = "Bank"
[files]
events = "e.parquet"
[journey]
purchase_touchpoints = ["purchase", "account_opened"]
[journey.map]
account_opened = "purchase"
email_open = "consideration"
"""
    cfg = read_client_config(write(tmp_path, text))
    assert cfg.journey_map["account_opened"] == "purchase"
    assert cfg.journey_map["email_open"] == "consideration"  # overrides the default 'retention'
    assert cfg.purchase_touchpoints == ("purchase", "account_opened")


def test_sample_configs_read_as_written():
    # Values copied by hand from data/sample/bank/client.toml.
    cfg = read_client_config(SAMPLE_DIR / "bank")
    assert (cfg.name, cfg.industry, cfg.currency) == ("Lindenhof Bank", "Retail banking", "EUR")
    assert cfg.timezone == "Europe/Amsterdam"
    assert cfg.start_date == dt.date(2024, 10, 1)
    assert cfg.as_of == dt.datetime(2025, 9, 30, 23, 59, 59, tzinfo=dt.UTC)
    assert cfg.files == {
        "events": "events.ndjson.gz",
        "feedback": "feedback.ndjson.gz",
        "customers": "customers.ndjson.gz",
    }
    assert cfg.separator is None
    assert cfg.columns["customers"] == {
        "clientId": "customer_id",
        "onboardedOn": "signup_date",
        "churnedOn": "churn_date",
    }
    assert cfg.purchase_touchpoints == ("account_opened", "purchase")
    assert cfg.journey_map == {
        **DEFAULT_JOURNEY_MAP,
        "account_opened": "purchase",
        "branch_visit": "consideration",
        "app_login": "retention",
        "app_login_failed": "retention",
    }
    assert (cfg.churn.method, cfg.churn.inactivity_days) == ("column", 90)
    book = read_client_config(SAMPLE_DIR / "bookshop")
    assert book.timestamp_formats == ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y")
    assert (book.churn.method, book.churn.inactivity_days) == ("inactivity", 120)
    assert book.settings["churn.inactivity_days"] == 120


def test_naive_as_of_is_read_in_the_client_timezone(tmp_path):
    # 2025-07-01 12:00 in London is BST (UTC+1): 11:00 UTC. A date alone is midnight UTC.
    cfg = read_client_config(
        write(tmp_path, 'timezone = "Europe/London"\nas_of = 2025-07-01T12:00:00\n' + MINIMAL)
    )
    assert cfg.as_of == dt.datetime(2025, 7, 1, 11, 0, tzinfo=dt.UTC)
    cfg = read_client_config(write(tmp_path, "as_of = 2025-07-01\n" + MINIMAL))
    assert cfg.as_of == dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            '[files]\nevents = "e.csv"\n[journey.map]\nad_click = "awarness"\n',
            "Did you mean 'awareness'",
        ),
        ('[files]\nevnts = "e.csv"\n', "Did you mean 'events'"),
        (
            '[files]\nevents = "e.csv"\n[columns.events]\nCust = "custmer_id"\n',
            "Did you mean 'customer_id'",
        ),
        ('timezone = "Mars/Olympus"\n[files]\nevents = "e.csv"\n', "IANA time zone"),
        ('[files]\ncustomers = "c.csv"\n', "the events file or the feedback"),
        ('[files]\nevents = "e.csv"\n[churn]\nmethod = "vibes"\n', "churn.method"),
        ('[files\nevents = "e.csv"\n', "not valid TOML"),
        ('nmae = "x"\n[files]\nevents = "e.csv"\n', "Did you mean 'name'"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, fragment):
    message = error_of(write(tmp_path, text))
    assert fragment in message
    assert "client.toml" in message


def test_missing_config_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="has no client.toml"):
        read_client_config(tmp_path)


def test_a_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "client.toml").write_bytes(b"\xef\xbb\xbf" + b'name = "Acme"\n' + MINIMAL.encode())
    assert read_client_config(tmp_path).name == "Acme"


def test_toml_syntax_error_gives_line_column_and_hint(tmp_path):
    # line 3 has an unquoted key with a space; tomllib stops at column 10 (the 'R').
    message = error_of(write(tmp_path, '[files]\nevents = "e.csv"\nCustomer Ref = "customer_id"\n'))
    assert "client.toml, line 3, column 10: not valid TOML" in message
    assert "needs double quotes" in message
    assert '\n    "Customer Ref" = "customer_id"' in message


def test_the_error_names_the_line_of_the_key(tmp_path):
    message = error_of(
        write(tmp_path, MINIMAL + "\n[churn]\nmethod = 'column'\ninactivty_days = 30\n")
    )
    assert "client.toml, line 6: unknown key 'churn.inactivty_days'" in message
    assert "\n    [churn]\n    inactivity_days = 30" in message  # the user's value is kept


# ----------------------------------------------------------------- every declared key is checked
def declared(node=KEYS, where=()):
    """(dotted path, node) of every declared key, table and mapping."""
    for name, child in node.keys.items():
        at = (*where, name)
        yield ".".join(at), child
        if isinstance(child, Table):
            yield from declared(child, at)


DECLARED = dict(declared())


def place(dotted, line):
    """client.toml text putting ``line`` (``key = value``) in the table of ``dotted``."""
    table = dotted.rpartition(".")[0]
    if table == "files":
        events = "" if line.startswith("events ") else 'events = "events.csv"\n'
        return f"[files]\n{events}{line}\n"
    return MINIMAL + f"[{table}]\n{line}\n" if table else f"{line}\n" + MINIMAL


def misspell(name):
    return name[: len(name) // 2] + name[len(name) // 2 + 1 :]  # drop the middle letter


@pytest.mark.parametrize("dotted", sorted(DECLARED))
def test_every_declared_key_misspelt_gets_did_you_mean(tmp_path, dotted):
    *parents, name = dotted.split(".")
    wrong = ".".join([*parents, misspell(name)])
    node = DECLARED[dotted]
    if isinstance(node, Key):
        text = place(wrong, f"{misspell(name)} = 1")
    else:
        text = MINIMAL + f"[{wrong}]\n"
    message = error_of(write(tmp_path, text))
    assert f"unknown key '{wrong}'. Did you mean '{name}'?" in message


@pytest.mark.parametrize("dotted", sorted(k for k, v in DECLARED.items() if isinstance(v, Key)))
def test_every_declared_key_refuses_a_table_value(tmp_path, dotted):
    name = dotted.rsplit(".", 1)[-1]
    node = DECLARED[dotted]
    message = error_of(write(tmp_path, place(dotted, f"{name} = {{ x = 1 }}")))
    assert f"'{dotted}' must be {node.type.expected}; got a table" in message


@pytest.mark.parametrize("dotted", sorted(k for k, v in DECLARED.items() if not isinstance(v, Key)))
def test_every_declared_table_refuses_a_plain_value(tmp_path, dotted):
    name = dotted.rsplit(".", 1)[-1]
    text = place(dotted, f"{name} = 5") if dotted != "files" else "files = 5\n"
    message = error_of(write(tmp_path, text))
    assert (
        f"'{dotted}' must be a table ([{dotted}] followed by its keys); got an integer (5)"
        in message
    )


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "utc"])
def test_a_timezone_polars_or_zoneinfo_cannot_use_is_refused_at_config_time(tmp_path, zone):
    # zoneinfo knows 'localtime', 'posixrules', 'Factory' (files on this machine), polars does
    # not; polars knows 'utc', zoneinfo does not.
    message = error_of(write(tmp_path, f'timezone = "{zone}"\n' + MINIMAL))
    assert f"'timezone' = \"{zone}\" is not an IANA time zone that cxlab can use" in message


def test_docs_list_every_key():
    readme = (PROJECT_ROOT / "docs" / "guide" / "data.md").read_text(encoding="utf-8")
    assert key_reference() in readme, (
        "docs/guide/data.md's client.toml key reference is out of date: paste the output of "
        "`python -c 'from cxlab.contract.client_config import key_reference; print(key_reference())'`"
    )
    for dotted, node in DECLARED.items():
        if isinstance(node, Key):
            assert f"| `{dotted}` |" in readme
        elif isinstance(node, Mapping):
            assert f"| `{dotted}.<{node.key_name}>` |" in readme


def test_every_key_example_passes_its_own_check():
    for dotted, node in DECLARED.items():
        if isinstance(node, Key) and node.sample() is not None:
            # the example of every key is accepted by the key's own check
            assert (
                node.type.check(tomllib.loads(f"x = {toml_value(node.sample())}")["x"]) is not None
            ), dotted


# ----------------------------------------------------------------- only the client's own folder
@pytest.fixture
def clients(tmp_path):
    """Two client folders side by side; 'other' holds a file the first must not reach."""
    mine, other = tmp_path / "mine", tmp_path / "other"
    mine.mkdir()
    other.mkdir()
    (other / "events.csv").write_text(
        "customer_id,timestamp,touchpoint,channel\nX,2024-01-01,site_visit,web\n"
    )
    (other / "secret_payroll.csv").write_text("nothing\n")
    return mine, other


OUTSIDE_FIX = (
    "move the file into the client folder, or set allow_outside_folder = true at the "
    "top of client.toml (the report then reads files another client's folder may hold)"
)


def test_a_parent_path_is_refused(clients):
    mine, _ = clients
    message = error_of(write(mine, '[files]\nevents = "../other/events.csv"\n'))
    assert "'files.events' = \"../other/events.csv\" climbs out of the client folder" in message
    assert OUTSIDE_FIX in message
    assert "secret_payroll" not in message  # never lists the folder outside


def test_an_absolute_path_is_refused(clients):
    mine, other = clients
    message = error_of(
        write(mine, f'[files]\ncustomers = "{other / "events.csv"}"\nevents = "e.csv"\n')
    )
    assert (
        "'files.customers'" in message
        and "is an absolute path outside the client folder" in message
    )
    assert OUTSIDE_FIX in message


def test_a_symlink_inside_pointing_outside_is_refused(clients):
    mine, other = clients
    (mine / "events.csv").symlink_to(other / "events.csv")
    message = error_of(write(mine, MINIMAL))
    assert "'files.events' = \"events.csv\" leads out of the client folder" in message
    assert "symbolic link" in message


def test_a_symlinked_subfolder_pointing_outside_is_refused(clients):
    mine, other = clients
    (mine / "data").symlink_to(other, target_is_directory=True)
    message = error_of(write(mine, '[files]\nevents = "data/events.csv"\n'))
    assert "symbolic link" in message and "secret_payroll" not in message


def test_a_symlinked_client_folder_and_links_inside_it_are_allowed(clients):
    mine, _ = clients
    (mine / "events_2025.csv").write_text("x\n")
    (mine / "events.csv").symlink_to(mine / "events_2025.csv")  # a link that stays inside
    (mine / "sub").mkdir()
    write(mine, '[files]\nevents = "events.csv"\ncustomers = "sub/../events_2025.csv"\n')
    link = mine.parent / "mine_link"
    link.symlink_to(mine, target_is_directory=True)
    cfg = read_client_config(link)  # both sides are resolved, so the link is inside
    assert cfg.folder == mine.resolve()
    assert cfg.path_of("events") == mine.resolve() / "events.csv"


def test_opting_in_reads_a_file_outside_the_folder(clients):
    mine, other = clients
    write(mine, 'allow_outside_folder = true\n[files]\nevents = "../other/events.csv"\n')
    cfg = read_client_config(mine)
    assert cfg.allow_outside_folder is True
    assert cfg.path_of("events").resolve() == (other / "events.csv").resolve()
    assert load_client(mine).events.height == 1  # the one row of other/events.csv


def test_opted_in_missing_file_outside_does_not_list_that_folder(clients):
    mine, _ = clients
    write(mine, 'allow_outside_folder = true\n[files]\nevents = "../other/evnts.csv"\n')
    with pytest.raises(DataError) as err:
        load_client(mine)
    assert "does not exist" in str(err.value)
    assert "secret_payroll" not in str(err.value) and "events.csv," not in str(err.value)


def test_a_link_changed_after_reading_is_caught_when_the_file_is_opened(clients):
    mine, other = clients
    (mine / "real.csv").write_text("x\n")
    (mine / "events.csv").symlink_to(mine / "real.csv")
    cfg = read_client_config(write(mine, MINIMAL))
    os.remove(mine / "events.csv")
    (mine / "events.csv").symlink_to(other / "events.csv")
    with pytest.raises(ConfigError, match="leads outside the client folder"):
        cfg.path_of("events")


@pytest.mark.parametrize(
    ("written", "fragment"),
    [(".", "names the client folder itself"), ("client.toml", "names client.toml itself")],
)
def test_files_cannot_name_the_folder_or_the_config(tmp_path, written, fragment):
    assert fragment in error_of(write(tmp_path, f'[files]\nevents = "{written}"\n'))


def test_a_client_toml_linked_from_outside_is_refused_unquoted(clients):
    mine, other = clients
    (other / "client.toml").write_text('name = "Other"\nsecret_key = "s3cr3t"\n' + MINIMAL)
    (mine / "client.toml").symlink_to(other / "client.toml")
    message = error_of(mine)
    assert "is a link to a file outside the client folder" in message
    assert "secret_key" not in message and "s3cr3t" not in message


def test_an_oversized_client_toml_is_refused_before_reading(tmp_path):
    # 1,000,001 bytes: one over the limit; a real client.toml is about 1 KB.
    (tmp_path / "client.toml").write_text(MINIMAL + "#" * (1_000_001 - len(MINIMAL)))
    assert "is 1,000,001 bytes" in error_of(tmp_path)


@given(st.text(), st.text())
def test_any_string_is_written_as_toml_that_reads_back(key, value):
    # Fix lines quote the user's own keys and values (column names with quotes, accents,
    # tabs ...): whatever they hold, the line must be valid TOML meaning the same thing.
    line = f"x = {toml_value({key: value})}\ny = {toml_value([value, value])}"
    assert tomllib.loads(line) == {"x": {key: value}, "y": [value, value]}
