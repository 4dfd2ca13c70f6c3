"""A corpus of malformed and awkward client.toml files (issue 14, part 3).

Each case is a client.toml a user could plausibly write. Every one must give a ConfigError
(never a tomllib/polars/Python traceback) whose message names client.toml and holds the
fragments listed (the key path, what was expected, what was found). Every TOML snippet a
message proposes as the fix (the lines indented by four spaces) must parse with tomllib,
and, added to a minimal client.toml, be accepted.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxlab.contract.client_config import read_client_config, toml_value
from cxlab.errors import ConfigError

EVENTS = '[files]\nevents = "events.csv"\n'

# (id, client.toml text or bytes, fragments the message must hold)
CORPUS: list[tuple[str, str | bytes, tuple[str, ...]]] = [
    # --- unknown keys, in every kind of table
    (
        "churn-key-typo",
        EVENTS + "[churn]\ninactivty_days = 90\n",
        ("unknown key 'churn.inactivty_days'. Did you mean 'inactivity_days'?", "line 4"),
    ),
    (
        "journey-key-typo",
        EVENTS + "[journey]\nuse_defualt_map = true\n",
        ("unknown key 'journey.use_defualt_map'. Did you mean 'use_default_map'?",),
    ),
    (
        "top-key-typo",
        'nmae = "Acme"\n' + EVENTS,
        ("unknown key 'nmae'. Did you mean 'name'?", "line 1"),
    ),
    (
        "files-key-typo",
        '[files]\nevnts = "e.csv"\n',
        ("unknown key 'files.evnts'. Did you mean 'events'?",),
    ),
    (
        "columns-table-typo",
        EVENTS + '[columns.evnts]\n"Ref" = "customer_id"\n',
        ("unknown key 'columns.evnts'. Did you mean 'events'?",),
    ),
    (
        "table-typo",
        EVENTS + "[jorney]\nuse_default_map = false\n",
        ("unknown key 'jorney'. Did you mean 'journey'?",),
    ),
    (
        "top-key-after-a-table",
        EVENTS + "as_of = 2025-09-30\n",
        ("unknown key 'files.as_of'", "'as_of' belongs at the top"),
    ),
    (
        "churn-key-at-the-top",
        "inactivity_days = 30\n" + EVENTS,
        ("unknown key 'inactivity_days'", "'inactivity_days' belongs under [churn]"),
    ),
    ("file-key-at-the-top", 'events = "events.csv"\n', ("'events' belongs under [files]",)),
    (
        "unknown-key-no-close-match",
        EVENTS + '[churn]\ncolour = "red"\n',
        ("unknown key 'churn.colour'", "Keys allowed in [churn]: method, inactivity_days"),
    ),
    ("unknown-top-table", EVENTS + "[colours]\nx = 1\n", ("unknown key 'colours'",)),
    # --- wrong types
    (
        "columns-string",
        'columns = "x"\n' + EVENTS,
        ("'columns' must be a table", 'got a string ("x")'),
    ),
    (
        "journey-integer",
        "journey = 5\n" + EVENTS,
        ("'journey' must be a table", "got an integer (5)"),
    ),
    (
        "churn-string",
        'churn = "inactivity"\n' + EVENTS,
        ("'churn' must be a table", 'got a string ("inactivity")'),
    ),
    ("files-array", 'files = ["events.csv"]\n', ("'files' must be a table", "got an array")),
    (
        "columns-events-string",
        EVENTS + '[columns]\nevents = "x"\n',
        ("'columns.events' must be a table",),
    ),
    (
        "journey-map-array",
        EVENTS + '[journey]\nmap = ["purchase"]\n',
        ("'journey.map' must be a table",),
    ),
    (
        "use-default-map-string",
        EVENTS + '[journey]\nuse_default_map = "no"\n',
        (
            "'journey.use_default_map' must be a boolean",
            'got a string ("no")',
            "use_default_map = false",
        ),
    ),
    (
        "purchase-touchpoints-string",
        EVENTS + '[journey]\npurchase_touchpoints = "purchase"\n',
        ("'journey.purchase_touchpoints' must be an array", 'purchase_touchpoints = ["purchase"]'),
    ),
    (
        "purchase-touchpoints-empty",
        EVENTS + "[journey]\npurchase_touchpoints = []\n",
        ("'journey.purchase_touchpoints' must be an array of non-empty strings (at least one)",),
    ),
    (
        "events-empty",
        '[files]\nevents = ""\n',
        ("'files.events' must be a non-empty string", "(it is empty)"),
    ),
    ("events-blank", '[files]\nevents = "   "\n', ("'files.events' must be a non-empty string",)),
    (
        "events-nul",
        '[files]\nevents = "events\\u0000.csv"\n',
        ("'files.events'", "control character"),
    ),
    (
        "inactivity-days-string",
        EVENTS + '[churn]\ninactivity_days = "90"\n',
        (
            "'churn.inactivity_days' must be an integer in [1, 36500]",
            'got a string ("90")',
            "inactivity_days = 90",
        ),
    ),
    ("inactivity-days-zero", EVENTS + "[churn]\ninactivity_days = 0\n", ("got an integer (0)",)),
    (
        "inactivity-days-float",
        EVENTS + "[churn]\ninactivity_days = 90.5\n",
        ("got a float (90.5)",),
    ),
    (
        "inactivity-days-bool",
        EVENTS + "[churn]\ninactivity_days = true\n",
        ("got a boolean (true)",),
    ),
    (
        "inactivity-days-huge",
        EVENTS + "[churn]\ninactivity_days = 9999999999\n",
        ("got an integer (9999999999)",),
    ),
    (
        "name-integer",
        "name = 5\n" + EVENTS,
        ("'name' must be a non-empty string", "got an integer (5)"),
    ),
    ("name-newline", 'name = "Acme\\nRetail"\n' + EVENTS, ("'name'", "control character")),
    (
        "formats-not-strings",
        "timestamp_formats = [1, 2]\n" + EVENTS,
        ("'timestamp_formats' must be an array of strftime formats", "got an array ([1, 2])"),
    ),
    (
        "formats-no-directive",
        'timestamp_formats = ["dd/mm/yyyy"]\n' + EVENTS,
        ("has no %-directive",),
    ),
    (
        "formats-single-string",
        'timestamp_formats = "%d/%m/%Y"\n' + EVENTS,
        ("a single value still goes in [ ]", 'timestamp_formats = ["%d/%m/%Y"]'),
    ),
    ("start-date-word", 'start_date = "yesterday"\n' + EVENTS, ("'start_date' must be a date",)),
    (
        "as-of-quoted",
        'as_of = "2025-09-30T23:59:59Z"\n' + EVENTS,
        ("'as_of' must be a date or a date-time", "as_of = 2025-09-30T23:59:59+00:00"),
    ),
    ("as-of-time-only", "as_of = 23:59:59\n" + EVENTS, ("got a time of day (23:59:59)",)),
    (
        "churn-method-unknown",
        EVENTS + '[churn]\nmethod = "vibes"\n',
        ('\'churn.method\' must be one of "column", "inactivity"',),
    ),
    (
        "churn-method-typo",
        EVENTS + '[churn]\nmethod = "inactivty"\n',
        ("Did you mean 'inactivity'?",),
    ),
    (
        "stage-typo",
        EVENTS + '[journey.map]\nad_click = "awarness"\n',
        ("'journey.map.ad_click' must be one of", "Did you mean 'awareness'?"),
    ),
    ("stage-integer", EVENTS + "[journey.map]\nad_click = 1\n", ("got an integer (1)",)),
    (
        "canonical-typo",
        EVENTS + '[columns.events]\n"Customer Ref" = "custmer_id"\n',
        ("'columns.events.Customer Ref' must be one of", "Did you mean 'customer_id'?"),
    ),
    ("canonical-integer", EVENTS + '[columns.events]\n"Ref" = 1\n', ("got an integer (1)",)),
    (
        "canonical-twice",
        EVENTS + '[columns.events]\n"A" = "customer_id"\n"B" = "customer_id"\n',
        ('maps both "A" and "B" to "customer_id"',),
    ),
    (
        "empty-touchpoint-key",
        EVENTS + '[journey.map]\n"" = "purchase"\n',
        ("empty touchpoint name",),
    ),
    (
        "separator-two-chars",
        '[files]\nevents = "e.csv"\nseparator = ";;"\n',
        ("'files.separator' must be a single character",),
    ),
    (
        "separator-quote",
        '[files]\nevents = "e.csv"\nseparator = \'"\'\n',
        ("'files.separator'", "holds"),
    ),
    (
        "allow-outside-string",
        'allow_outside_folder = "yes"\n' + EVENTS,
        ("'allow_outside_folder' must be a boolean", "allow_outside_folder = true"),
    ),
    # --- values that are the right type but cannot work
    (
        "timezone-localtime",
        'timezone = "localtime"\n' + EVENTS,
        ("'timezone' = \"localtime\" is not an IANA time zone that cxlab can use",),
    ),
    ("timezone-lower-case", 'timezone = "utc"\n' + EVENTS, ("Did you mean 'UTC'?",)),
    ("timezone-invented", 'timezone = "Mars/Olympus"\n' + EVENTS, ("is not an IANA time zone",)),
    (
        "no-events-file",  # customers alone: no section could use them
        '[files]\ncustomers = "customers.csv"\n',
        ("must name the events file or the feedback",),
    ),
    ("empty-file", "", ("must name the events file or the feedback",)),
    (
        "only-comments",
        "# client.toml for Acme\n# to be filled in\n",
        ("must name the events file or the feedback",),
    ),
    (
        "purchase-not-in-purchase-stage",
        EVENTS + '[journey]\npurchase_touchpoints = ["gift"]\n',
        (
            'lists "gift", which the journey map does not put in the purchase stage',
            'gift = "purchase"',
        ),
    ),
    (
        "no-default-map",
        EVENTS + "[journey]\nuse_default_map = false\n",
        ('lists "purchase", which the journey map does not put in the purchase stage',),
    ),
    (
        "as-of-before-start",
        "start_date = 2025-01-01\nas_of = 2024-12-31\n" + EVENTS,
        ("'as_of' (2024-12-31T00:00:00+00:00) is before 'start_date' (2025-01-01)",),
    ),
    ("events-is-the-folder", '[files]\nevents = "."\n', ("names the client folder itself",)),
    ("events-is-the-config", '[files]\nevents = "client.toml"\n', ("names client.toml itself",)),
    (
        "events-in-another-client",
        '[files]\nevents = "../other_client/events.csv"\n',
        ("climbs out of the client folder", "allow_outside_folder = true"),
    ),
    (
        "events-absolute",
        '[files]\nevents = "/etc/passwd"\n',
        ("is an absolute path outside the client folder",),
    ),
    # --- TOML syntax and encoding
    (
        "unclosed-header",
        '[files\nevents = "e.csv"\n',
        ("line 1, column 7: not valid TOML", "Close the table header"),
    ),
    (
        "unquoted-string",
        "name = Acme\n" + EVENTS,
        ("line 1, column 8", "Text values need double quotes"),
    ),
    (
        "key-with-space",
        EVENTS + '[columns.events]\nCustomer Ref = "customer_id"\n',
        ("line 4, column 10", '"Customer Ref" = "customer_id"'),
    ),
    ("duplicate-key", '[files]\nevents = "e.csv"\nevents = "f.csv"\n', ("line 3", "only once")),
    ("duplicate-table", EVENTS + "[churn]\n[churn]\n", ("line 4", "only once")),
    ("unterminated-string", 'name = "Acme\n' + EVENTS, ("line 1", "Close the string")),
    (
        "capitalised-boolean",
        EVENTS + "[journey]\nuse_default_map = True\n",
        ("line 4", "true or false"),
    ),
    ("utf16", ('name = "Acme"\n' + EVENTS).encode("utf-16"), ("is not UTF-8 text", "at byte 0")),
    (
        "latin1",
        'name = "Café"\n'.encode("latin-1") + EVENTS.encode(),
        ("is not UTF-8 text", "at byte 11"),
    ),
]


# The minimal client.toml a proposed fix is added to. Its map puts "purchase" in the purchase
# stage even without the default map, so a fix `use_default_map = false` stands on its own.
BASE = {"files": {"events": "events.csv"}, "journey": {"map": {"purchase": "purchase"}}}


def write(tmp_path, content):
    folder = tmp_path / "acme"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "client.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return folder


def fix_blocks(message: str) -> list[str]:
    """The TOML snippets a message proposes: runs of lines indented by four spaces."""
    blocks = re.findall(r"(?:^    .*(?:\n|$))+", message, flags=re.M)
    return [re.sub(r"^    ", "", b, flags=re.M) for b in blocks]


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def dump(table: dict, prefix: tuple[str, ...] = ()) -> str:
    """A small TOML writer (nested dicts become [tables]) for the merged test configs."""
    scalars = [
        f"{tomllib_key(k)} = {toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)
    ]
    lines = ([f"[{'.'.join(map(tomllib_key, prefix))}]"] if prefix else []) + scalars
    for key, value in table.items():
        if isinstance(value, dict):
            lines.append(dump(value, (*prefix, key)))
    return "\n".join(lines) + "\n"


def tomllib_key(key: str) -> str:
    return toml_value(key)  # always quoted: valid for any key


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 25
    assert len({case_id for case_id, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(
    ("content", "fragments"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_each_malformed_config_gets_a_clear_config_error(tmp_path, content, fragments):
    folder = write(tmp_path, content)
    with pytest.raises(ConfigError) as err:
        read_client_config(folder)
    message = str(err.value)
    assert message.startswith(str(folder.resolve() / "client.toml")), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "Traceback" not in message and "tomllib" not in message


@pytest.mark.parametrize(
    ("content", "fragments"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_each_proposed_fix_is_valid_toml_and_accepted(tmp_path, content, fragments):
    folder = write(tmp_path, content)
    with pytest.raises(ConfigError) as err:
        read_client_config(folder)
    for block in fix_blocks(str(err.value)):
        parsed = tomllib.loads(block)  # valid TOML on its own
        fixed = merge(BASE, parsed)
        (folder / "client.toml").write_text(dump(fixed), encoding="utf-8")
        read_client_config(folder)  # and a minimal client.toml holding it is accepted


def test_fix_blocks_are_found():
    # the extraction the test above relies on: two indented runs, the prose left out
    message = (
        'x.toml: bad. Fix it like this:\n\n    [churn]\n    method = "column"\nor:\n\n    a = 1'
    )
    assert fix_blocks(message) == ['[churn]\nmethod = "column"\n', "a = 1"]


def test_most_messages_propose_a_fix(tmp_path):
    # Guards the fix test against passing vacuously: most cases do propose TOML.
    with_fix = 0
    for _, content, _ in CORPUS:
        folder = write(tmp_path, content)
        try:
            read_client_config(folder)
        except ConfigError as err:
            with_fix += bool(fix_blocks(str(err)))
    assert with_fix >= 40


# Awkward but valid spellings of one configuration: each must be read exactly as REFERENCE.
REFERENCE = (
    'name = "Acme"\ntimezone = "Europe/Paris"\n[files]\nevents = "events.csv"\nseparator = "\\t"\n'
    '[columns.events]\n"Customer Ref" = "customer_id"\n[churn]\nmethod = "inactivity"\n'
    "inactivity_days = 60\n"
)
ACCEPTED: list[tuple[str, str | bytes]] = [
    ("byte-order-mark", b"\xef\xbb\xbf" + REFERENCE.encode()),
    ("crlf-line-endings", REFERENCE.replace("\n", "\r\n")),
    ("comments-and-blank-lines", "# Acme\n\n" + REFERENCE.replace("\n[", "\n\n# next\n[")),
    (
        "literal-strings",
        REFERENCE.replace('"Acme"', "'Acme'").replace('"events.csv"', "'events.csv'"),
    ),
    (
        "quoted-bare-keys",
        REFERENCE.replace("name =", '"name" =').replace("inactivity_days", '"inactivity_days"'),
    ),
    (
        "inline-tables",
        'name = "Acme"\ntimezone = "Europe/Paris"\nfiles = { events = "events.csv", separator = "\\t" }\n'
        'columns = { events = { "Customer Ref" = "customer_id" } }\n'
        'churn = { method = "inactivity", inactivity_days = 60 }\n',
    ),
    (
        "dotted-keys",
        'name = "Acme"\ntimezone = "Europe/Paris"\nfiles.events = "events.csv"\nfiles.separator = "\\t"\n'
        'columns.events."Customer Ref" = "customer_id"\nchurn.method = "inactivity"\n'
        "churn.inactivity_days = 60\n",
    ),
    (
        "tables-in-another-order",
        REFERENCE.split("[files]")[0] + '[churn]\nmethod = "inactivity"\n'
        'inactivity_days = 60\n[columns.events]\n"Customer Ref" = "customer_id"\n[files]\n'
        'events = "events.csv"\nseparator = "\\t"\n',
    ),
    ("events-in-dot-slash", REFERENCE.replace('"events.csv"', '"./events.csv"')),
]


@pytest.mark.parametrize("content", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_awkward_but_valid_configs_read_the_same(tmp_path, content):
    reference = read_client_config(write(tmp_path / "ref", REFERENCE))
    cfg = read_client_config(write(tmp_path / "awkward", content))
    fields = ("name", "timezone", "separator", "columns", "journey_map", "churn", "as_of")
    assert {f: getattr(cfg, f) for f in fields} == {f: getattr(reference, f) for f in fields}
    assert cfg.path_of("events") == cfg.folder / "events.csv"  # pathlib drops the "./"
    assert (cfg.separator, cfg.churn.inactivity_days) == ("\t", 60)  # read by hand from REFERENCE


# ----------------------------------------------------------------- fuzz: never a raw traceback
_NAMES = [
    "name",
    "timezone",
    "as_of",
    "start_date",
    "files",
    "events",
    "separator",
    "columns",
    "journey",
    "map",
    "use_default_map",
    "purchase_touchpoints",
    "churn",
    "method",
    "inactivity_days",
    "timestamp_formats",
    "allow_outside_folder",
    "customer_id",
    "x",
]
_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["events.csv", "../x.csv", "/tmp", ".", "purchase", "UTC", "inactivity", ""]),
    st.dates(),
    st.datetimes(),
    st.times(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_NAMES), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=st.dictionaries(st.sampled_from(_NAMES), _VALUES, max_size=6))
def test_any_toml_document_is_read_or_refused_with_a_config_error(tmp_path, doc):
    # Documents built from the declared names with values of every TOML type, at any depth:
    # read_client_config either accepts them or raises ConfigError, nothing else.
    folder = write(tmp_path, dump(doc))
    try:
        read_client_config(folder)
    except ConfigError as err:
        assert str(err).startswith(str(folder.resolve() / "client.toml"))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_read_or_refused_with_a_config_error(tmp_path, data):
    folder = write(tmp_path, b'[files]\nevents = "e.csv"\n' + data)
    try:
        read_client_config(folder)
    except ConfigError as err:
        assert str(err).startswith(str(folder.resolve() / "client.toml"))
