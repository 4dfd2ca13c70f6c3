"""The journey simulation behind :mod:`cxlab.io.sample` (private).

One call to :func:`simulate_chunk` turns a block of customers into canonical events, feedback
and customers frames (no ``source_row`` yet). Everything is vectorised: per-customer numpy
arrays, and per touchpoint type one block of events built with ``np.repeat``; the only Python
loops run over touchpoint types, survey kinds and themes, never over customers or events.

Time is simulated in seconds since the Unix epoch (float) and floored to whole seconds at the
end. Bookshop times are generated on a timeline one hour shorter and then stretched over the
repeated autumn hour (UTC 01:00-02:00 on 2024-10-27), so no naive Europe/London time is
ambiguous and every local time written to the CSV reads back to the same UTC instant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from cxlab.contract.schema import TIMESTAMP_DTYPE
from cxlab.io._sample_text import FIRST_NAMES, LAST_NAMES, TEMPLATES, TONES

DAY = 86_400.0
HOUR = 3_600.0
START = dt.datetime(2024, 10, 1, tzinfo=dt.UTC)
END = dt.datetime(2025, 9, 30, 23, 59, 59, tzinfo=dt.UTC)
S0 = START.timestamp()
E0 = END.timestamp()
#: Start of the second (GMT) occurrence of the repeated local hour in Europe/London, autumn 2024.
AMBIGUOUS_HOUR = dt.datetime(2024, 10, 27, 1, 0, tzinfo=dt.UTC).timestamp()


Choice = dict[str, float]  # label -> probability (normalised on use)


@dataclass(frozen=True)
class Spec:
    """Everything that makes one sample client different from another."""

    slug: str
    index: int
    default_customers: int
    name: str
    industry: str
    timezone: str
    currency: str
    churn_method: str  # "column" | "inactivity"
    inactivity_days: int
    id_style: str  # "bk" | "hex" | "digits"
    awareness: dict[str, Choice]  # touchpoint -> channel choice; touchpoint weight under "_w"
    consideration: dict[str, Choice]
    checkout_channels: Choice
    first_purchase: str
    repeat_purchase: str
    p_reach: float
    p_error: float
    p_buy_ok: float
    p_buy_error: float
    revenue_log_mean: float
    revenue_log_sd: float
    repeat_rate: float
    support_types: Choice  # touchpoint -> share of support contacts (telecom: split separately)
    support_channels: dict[str, Choice]
    retention: list[
        tuple[str, float, float, Choice]
    ]  # touchpoint, P(has any), monthly rate, channels
    onboarding: int  # onboarding events right after the first purchase (0, 1 or 2)
    has_delivery: bool
    driver: str  # the NPS driver touchpoint
    driver_theme: str
    nps_themes: Choice
    segments: Choice
    segment_reach: dict[str, float]
    regions: Choice
    extra_attributes: dict[str, Choice]
    email_share: float
    email_column: str
    session_channels: tuple[str, ...]
    warp_ambiguous_hour: bool
    advocacy: dict[str, tuple[float, float, Choice]] = field(
        default_factory=dict
    )  # tp -> (p promoter, p other, channels)


class Cat:
    """A categorical sample: integer ``codes`` into ``labels`` (cheap to mask, index and turn
    into a polars String column without converting millions of Python strings)."""

    __slots__ = ("codes", "labels")

    def __init__(self, codes: np.ndarray, labels: list[str]) -> None:
        self.codes, self.labels = codes, labels

    def __getitem__(self, key: np.ndarray) -> Cat:
        return Cat(self.codes[key], self.labels)

    def __eq__(self, label: object) -> np.ndarray:  # type: ignore[override]
        return self.codes == (self.labels.index(label) if label in self.labels else -1)

    __hash__ = None  # type: ignore[assignment]

    @property
    def size(self) -> int:
        return int(self.codes.size)

    def series(self, name: str = "") -> pl.Series:
        return pl.Series(name, self.labels, dtype=pl.String).gather(self.codes)

    def objects(self) -> np.ndarray:
        return np.array(self.labels, dtype=object)[self.codes]


def pick(rng: np.random.Generator, choice: Choice, size: int) -> Cat:
    """``size`` labels drawn from ``choice`` (keys starting with ``_`` are not labels)."""
    labels = [k for k in choice if not k.startswith("_")]
    p = np.array([choice[k] for k in labels], dtype=float)
    codes = (
        rng.choice(len(labels), size=size, p=p / p.sum()) if size else np.empty(0, dtype=np.int64)
    )
    return Cat(codes.astype(np.int64), labels)


class EventLog:
    """Collects blocks of events as numpy arrays of codes; builds one frame at the end."""

    def __init__(self) -> None:
        self.owner: list[np.ndarray] = []
        self.t: list[np.ndarray] = []
        self.tp: list[np.ndarray] = []
        self.ch: list[np.ndarray] = []
        self.rev: list[np.ndarray] = []
        self.tp_names: dict[str, int] = {}
        self.ch_names: dict[str, int] = {}

    @staticmethod
    def _code(names: dict[str, int], label: str) -> int:
        return names.setdefault(label, len(names))

    def add(
        self,
        owner: np.ndarray,
        t: np.ndarray,
        touchpoint: str,
        channel: Cat | str,
        revenue: np.ndarray | None = None,
    ) -> None:
        m = owner.size
        if m == 0:
            return
        self.owner.append(owner.astype(np.int64))
        self.t.append(t.astype(np.float64))
        self.tp.append(np.full(m, self._code(self.tp_names, touchpoint), dtype=np.int64))
        if isinstance(channel, str):
            self.ch.append(np.full(m, self._code(self.ch_names, channel), dtype=np.int64))
        else:
            remap = np.array(
                [self._code(self.ch_names, label) for label in channel.labels], dtype=np.int64
            )
            self.ch.append(remap[channel.codes])
        self.rev.append(np.full(m, np.nan) if revenue is None else revenue.astype(np.float64))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate(x) for x in (self.owner, self.t, self.tp, self.ch, self.rev))

    @staticmethod
    def labels(names: dict[str, int]) -> list[str]:
        return sorted(names, key=names.__getitem__)


def spread(
    rng: np.random.Generator, owners: np.ndarray, lo: np.ndarray, hi: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` times uniform in ``[lo[i], hi[i]]`` for each owner ``i`` (vectorised)."""
    counts = np.where(hi > lo, counts, 0).astype(np.int64)
    idx = np.repeat(owners, counts)
    a = np.repeat(lo, counts)
    b = np.repeat(hi, counts)
    return idx, a + rng.random(idx.size) * (b - a)


def _warp(t: np.ndarray) -> np.ndarray:
    return np.where(t >= AMBIGUOUS_HOUR, t + HOUR, t)


def _tone(survey: np.ndarray, score: np.ndarray) -> np.ndarray:
    """0 negative, 1 neutral, 2 positive (NPS 0-6/7-8/9-10, CSAT 1-2/3/4-5, CES 1-3/4/5-7)."""
    neg_max = np.select([survey == "nps", survey == "csat"], [6, 2], 3)
    neu_max = np.select([survey == "nps", survey == "csat"], [8, 3], 4)
    return np.where(score <= neg_max, 0, np.where(score <= neu_max, 1, 2))


def comments(rng: np.random.Generator, themes: np.ndarray, tone: np.ndarray) -> np.ndarray:
    """One template per row, from its theme and tone (object array of str)."""
    out = np.empty(themes.size, dtype=object)
    for theme, by_tone in TEMPLATES.items():
        for k, tone_name in enumerate(TONES):
            mask = (themes == theme) & (tone == k)
            m = int(mask.sum())
            if m:
                texts = np.array(by_tone[tone_name], dtype=object)
                out[mask] = texts[rng.integers(0, len(texts), m)]
    return out


def _score(rng: np.random.Generator, mean: np.ndarray, sd: float, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.rint(rng.normal(mean, sd)), lo, hi).astype(np.int64)


def simulate_chunk(
    spec: Spec, rng: np.random.Generator, first_index: int, n: int, browsing: float = 0.0
) -> dict[str, pl.DataFrame]:
    """Simulate ``n`` customers with global indices ``first_index ..``.

    ``browsing`` > 0 adds on average that many browsing events per customer (the client's
    consideration touchpoints and channels, spread over the customer's active window: arrival
    to decision for customers who never buy, arrival to churn or the end for buyers). It makes
    long logs (``browsing=90``: ~100 events per customer) for benchmarks; 0 draws nothing extra,
    so the default data do not change.

    Returns canonical ``events``, ``feedback`` and ``customers`` frames (UTC, no source_row),
    where ``cidx`` (the customer's index inside the chunk) is already replaced by
    ``customer_id``. Events are sorted by (timestamp, customer_id, touchpoint).
    """
    # Long on purpose: one simulation drawing from one random stream in a fixed order (that
    # order fixes every sample number); its marked stages share ~30 per-customer arrays.
    end = E0 - (HOUR if spec.warp_ambiguous_hour else 0.0)
    log = EventLog()
    cust = np.arange(n)

    # --- customers and arrival -----------------------------------------------------------
    segment = pick(rng, spec.segments, n)
    region = pick(rng, spec.regions, n)
    t0 = S0 + rng.random(n) * (end - S0 - 3 * DAY)
    dec = np.minimum(t0 + rng.uniform(0.5 * DAY, 28 * DAY, n), end - 2 * HOUR)

    # --- awareness: first event at arrival, others in the first 40% of the run-up ---------
    aw_w = {tp: ch.get("_w", 1.0) for tp, ch in spec.awareness.items()}
    k_aw = 1 + rng.binomial(2, 0.35, n)
    idx, t = spread(rng, cust, t0, t0 + 0.4 * (dec - t0), k_aw)
    first = np.r_[0, np.cumsum(k_aw)[:-1]]
    t[first] = t0  # the first awareness event is the arrival itself
    tps = pick(rng, aw_w, idx.size)
    for tp, ch in spec.awareness.items():
        m = tps == tp
        log.add(idx[m], t[m], tp, pick(rng, ch, int(m.sum())))

    # --- consideration --------------------------------------------------------------------
    con_w = {tp: ch.get("_w", 1.0) for tp, ch in spec.consideration.items()}
    k_con = 1 + rng.poisson(1.8, n)
    idx, t = spread(rng, cust, t0 + 0.05 * (dec - t0), dec, k_con)
    tps = pick(rng, con_w, idx.size)
    for tp, ch in spec.consideration.items():
        m = tps == tp
        log.add(idx[m], t[m], tp, pick(rng, ch, int(m.sum())))

    # --- purchase stage: checkout, errors, the first purchase -----------------------------
    reach_p = (
        spec.p_reach
        * segment.series()
        .replace_strict(spec.segment_reach, default=1.0, return_dtype=pl.Float64)
        .to_numpy()
    )
    reach = rng.random(n) < reach_p
    err = reach & (rng.random(n) < spec.p_error)
    buy = reach & (rng.random(n) < np.where(err, spec.p_buy_error, spec.p_buy_ok))
    chk_channel = pick(rng, spec.checkout_channels, n)
    r = np.flatnonzero(reach)
    log.add(r, dec[r], "checkout", chk_channel[r])
    e = np.flatnonzero(err)
    t_err = dec[e] + rng.uniform(15, 90, e.size)
    log.add(e, t_err, "checkout_error", chk_channel[e])
    retry = np.flatnonzero(err & buy)
    t_retry = dec[retry] + rng.uniform(180, 1800, retry.size)
    log.add(retry, t_retry, "checkout", chk_channel[retry])
    tp_all = np.full(n, np.nan)
    tp_all[retry] = t_retry + rng.uniform(60, 300, retry.size)
    ok = np.flatnonzero(buy & ~err)
    tp_all[ok] = dec[ok] + rng.uniform(60, 600, ok.size)
    b = np.flatnonzero(buy)
    nb = b.size
    tp = tp_all[b]
    rev = np.round(np.exp(rng.normal(spec.revenue_log_mean, spec.revenue_log_sd, nb)), 2)
    log.add(b, tp, spec.first_purchase, chk_channel[b], rev)

    # --- CES after the first checkout (reachers) -------------------------------------------
    fb_parts: list[dict[str, np.ndarray]] = []

    def add_feedback(
        owner: np.ndarray,
        t: np.ndarray,
        survey: str,
        score: np.ndarray,
        touchpoint: str | None,
        theme: np.ndarray,
    ) -> None:
        fb_parts.append(
            {
                "cidx": owner,
                "t": t,
                "survey": np.full(owner.size, survey, dtype=object),
                "score": score,
                "touchpoint": np.full(owner.size, touchpoint, dtype=object),
                "theme": theme,
            }
        )

    ces_r = r[rng.random(r.size) < 0.2]
    ces_theme = (
        "app" if spec.slug == "bank" else "website" if spec.slug == "bookshop" else "contract"
    )
    add_feedback(
        ces_r,
        np.minimum(dec[ces_r] + rng.uniform(600, DAY, ces_r.size), end),
        "ces",
        _score(rng, np.where(err[ces_r], 2.8, 5.5), 1.2, 1, 7),
        "checkout",
        np.full(ces_r.size, ces_theme, dtype=object),
    )

    # --- buyers: support load, churn, active window ----------------------------------------
    high = rng.random(nb) < 0.25
    if spec.slug == "telecom":
        n_call = rng.poisson(np.where(high, 1.5, 0.25))
        n_other = rng.poisson(np.where(high, 1.3, 0.2))
    else:
        n_call = np.zeros(nb, dtype=np.int64)
        n_other = rng.poisson(np.where(high, 2.8, 0.45))
    n_sup = n_call + n_other
    sup3 = n_sup >= 3
    if spec.churn_method == "inactivity":
        limit = end - (spec.inactivity_days + 5) * DAY
    else:
        limit = end - DAY
    can = tp + 20 * DAY < limit
    churner = can & (rng.random(nb) < np.where(sup3, 0.55, 0.10))
    t_c = np.where(churner, tp + 20 * DAY + rng.random(nb) * (limit - tp - 20 * DAY), np.nan)
    t_end = np.where(churner, t_c, end)

    # --- NPS respondents (time fixed now: driver events of respondents come before it) ------
    t_nps = tp + rng.uniform(10 * DAY, 40 * DAY, nb)
    resp = (rng.random(nb) < 0.6) & (t_nps <= t_end)
    driver_hi = np.where(resp, t_nps - HOUR, t_end)

    # --- onboarding / delivery / the NPS driver ------------------------------------------------
    hit = np.zeros(nb, dtype=bool)
    late = np.zeros(nb, dtype=bool)
    if spec.has_delivery:
        late = rng.random(nb) < 0.22
        t_late = tp + rng.uniform(1 * DAY, 3 * DAY, nb)
        t_deliv = tp + np.where(
            late, rng.uniform(4 * DAY, 8 * DAY, nb), rng.uniform(0.6 * DAY, 3 * DAY, nb)
        )
        m = late & (t_late <= t_end)
        log.add(b[m], t_late[m], "delivery_late", "courier")
        hit = m
        md = t_deliv <= t_end
        log.add(b[md], t_deliv[md], "delivery", "courier")
        cs = md & (rng.random(nb) < 0.25)
        add_feedback(
            b[cs],
            np.minimum(t_deliv[cs] + rng.uniform(HOUR, 2 * DAY, int(cs.sum())), t_end[cs]),
            "csat",
            _score(rng, np.where(late[cs], 1.9, 4.4), 0.8, 1, 5),
            "delivery",
            np.full(int(cs.sum()), "delivery", dtype=object),
        )
    for k in range(spec.onboarding):
        t_on = tp + rng.uniform(HOUR, 3 * DAY, nb) + k * 2 * DAY
        m = t_on <= t_end
        ch = pick(
            rng,
            {"app": 0.5, "web": 0.3, "store" if spec.slug == "telecom" else "branch": 0.2},
            int(m.sum()),
        )
        log.add(b[m], t_on[m], "onboarding", ch)
        if k == 0:
            ce = m & (rng.random(nb) < 0.35)
            add_feedback(
                b[ce],
                np.minimum(t_on[ce] + rng.uniform(HOUR, DAY, int(ce.sum())), t_end[ce]),
                "ces",
                _score(rng, np.full(int(ce.sum()), 5.0), 1.3, 1, 7),
                "onboarding",
                np.full(int(ce.sum()), "app" if spec.slug == "bank" else "contract", dtype=object),
            )
    if spec.driver == "app_login_failed":
        n_fail = np.where(rng.random(nb) < 0.25, 1 + rng.poisson(0.6, nb), 0)
        idx, t = spread(rng, np.arange(nb), tp + HOUR, driver_hi, n_fail)
        log.add(b[idx], t, "app_login_failed", "app")
        hit = np.bincount(idx, minlength=nb) > 0

    # --- support contacts after the first purchase -----------------------------------------
    sup_csat_owner: list[np.ndarray] = []
    sup_csat_t: list[np.ndarray] = []
    sup_csat_tp: list[str] = []
    if spec.slug == "telecom":
        idx, t = spread(rng, np.arange(nb), tp + HOUR, driver_hi, n_call)
        log.add(b[idx], t, "support_call", "phone")
        hit = np.bincount(idx, minlength=nb) > 0
        # a customer whose only window is too short has no calls: their n_sup shrinks with it
        sup_blocks = [("support_call", idx, t)]
        idx, t = spread(rng, np.arange(nb), tp + HOUR, t_end, n_other)
        log.add(b[idx], t, "chat", pick(rng, spec.support_channels["chat"], idx.size))
        sup_blocks.append(("chat", idx, t))
    else:
        idx, t = spread(rng, np.arange(nb), tp + HOUR, t_end, n_other)
        kinds = pick(rng, spec.support_types, idx.size)
        sup_blocks = []
        for kind in spec.support_types:
            m = kinds == kind
            log.add(b[idx[m]], t[m], kind, pick(rng, spec.support_channels[kind], int(m.sum())))
            sup_blocks.append((kind, idx[m], t[m]))
    for kind, idx, t in sup_blocks:
        m = rng.random(idx.size) < 0.3
        sup_csat_owner.append(idx[m])
        sup_csat_t.append(t[m])
        sup_csat_tp.append(kind)
    for owner, t, kind in zip(sup_csat_owner, sup_csat_t, sup_csat_tp, strict=True):
        mean = np.where(sup3[owner], 2.6, 3.9)
        add_feedback(
            b[owner],
            np.minimum(t + rng.uniform(HOUR, 2 * DAY, owner.size), t_end[owner]),
            "csat",
            _score(rng, mean, 1.0, 1, 5),
            kind,
            np.full(owner.size, "support", dtype=object),
        )

    # --- generic retention touchpoints ------------------------------------------------------
    months = (t_end - tp) / (30 * DAY)
    for tp_name, p_any, rate, ch in spec.retention:
        counts = np.where(rng.random(nb) < p_any, rng.poisson(rate * np.maximum(months, 0)), 0)
        idx, t = spread(rng, np.arange(nb), tp + HOUR, t_end, counts)
        log.add(b[idx], t, tp_name, pick(rng, ch, idx.size))
    if spec.churn_method == "inactivity":
        # every buyer who stays has at least one event in the last 100 days
        stay = np.flatnonzero(~churner)
        lo = np.maximum(tp[stay] + HOUR, end - 100 * DAY)
        t = lo + rng.random(stay.size) * (end - lo)
        log.add(b[stay], t, "email_open", "email")

    # --- repeat purchases (each: checkout, purchase, delivery) ------------------------------
    k_rep = np.where(rng.random(nb) < spec.repeat_rate, 1 + rng.poisson(0.6, nb), 0)
    idx, t = spread(rng, np.arange(nb), tp + 10 * DAY, t_end - 8 * DAY, k_rep)
    ch = pick(rng, spec.checkout_channels, idx.size)
    log.add(b[idx], t - rng.uniform(60, 900, idx.size), "checkout", ch)
    log.add(
        b[idx],
        t,
        spec.repeat_purchase,
        ch,
        np.round(np.exp(rng.normal(spec.revenue_log_mean, spec.revenue_log_sd, idx.size)), 2),
    )
    if spec.has_delivery:
        log.add(b[idx], t + rng.uniform(0.6 * DAY, 4 * DAY, idx.size), "delivery", "courier")

    # --- NPS scores (latent for every buyer, observed for respondents) ---------------------
    mu = 8.2 - 4.3 * hit - 0.5 * err[b] - np.where(spec.slug == "telecom", 0.0, 0.5) * sup3
    nps = _score(rng, mu, 1.6, 0, 10)
    promoter = nps >= 9
    for tp_name, (p_prom, p_other, ch) in spec.advocacy.items():
        m = rng.random(nb) < np.where(promoter, p_prom, p_other)
        lo, hi = tp[m] + 7 * DAY, t_end[m]
        ok_w = hi > lo
        owner = np.flatnonzero(m)[ok_w]
        t = lo[ok_w] + rng.random(owner.size) * (hi[ok_w] - lo[ok_w])
        log.add(b[owner], t, tp_name, pick(rng, ch, owner.size))
    rs = np.flatnonzero(resp)
    theme_general = pick(rng, spec.nps_themes, rs.size).objects()
    tone_rs = _tone(np.full(rs.size, "nps"), nps[rs])
    to_driver = hit[rs] & (tone_rs == 0) & (rng.random(rs.size) < 0.85)
    add_feedback(
        b[rs],
        t_nps[rs],
        "nps",
        nps[rs],
        None,
        np.where(to_driver, spec.driver_theme, theme_general).astype(object),
    )

    # --- optional browsing (benchmark-sized logs) -----------------------------------------------
    if browsing > 0:
        hi = dec.copy()
        hi[b] = t_end
        idx, t = spread(rng, cust, t0, hi, rng.poisson(browsing, n))
        tps = pick(rng, con_w, idx.size)
        for tp_name, ch in spec.consideration.items():
            m = tps == tp_name
            log.add(idx[m], t[m], tp_name, pick(rng, ch, int(m.sum())))

    # --- assemble events ------------------------------------------------------------------------
    owner, t_float, tp_code, ch_code, revenue = log.arrays()
    if spec.warp_ambiguous_hour:
        t_float = _warp(t_float)
    rel = np.floor(t_float - S0).astype(np.int64)  # whole seconds since START, < 2**25
    # the same touchpoint twice in one second for one customer: nudge later copies by a second
    for _ in range(5):
        key = (owner << 32) | (tp_code << 25) | rel
        order = np.argsort(key, kind="stable")
        ks = key[order]
        same = np.r_[False, ks[1:] == ks[:-1]]
        if not same.any():
            break
        pos = np.arange(ks.size)
        rank = pos - np.maximum.accumulate(np.where(same, 0, pos))
        rel[order] += rank
    ts = rel + int(S0)
    ids = customer_ids(spec, first_index, n)
    events = pl.DataFrame(
        {
            "customer_id": ids.gather(owner),
            "timestamp": pl.Series(ts * 1_000_000)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC"),
            "touchpoint": pl.Series(EventLog.labels(log.tp_names), dtype=pl.String).gather(tp_code),
            "channel": pl.Series(EventLog.labels(log.ch_names), dtype=pl.String).gather(ch_code),
            "revenue": pl.Series(revenue).fill_nan(None),
        }
    )
    cols = ["customer_id", "timestamp", "touchpoint", "channel"]
    if spec.session_channels:
        day = ((ts - int(S0)) // 86_400).astype(np.uint64)
        gid = (owner + first_index).astype(np.uint64)
        sid = ((gid * np.uint64(400) + day) * np.uint64(1_234_567_891)) % np.uint64(10_000_000_000)
        events = events.with_columns(
            pl.when(pl.col("channel").is_in(list(spec.session_channels)))
            .then(pl.lit("s") + pl.Series(sid.astype(np.int64)).cast(pl.String).str.zfill(10))
            .otherwise(None)
            .alias("session_id")
        )
        cols.append("session_id")
    cols.append("revenue")
    events = events.sort(["timestamp", "customer_id", "touchpoint"]).select(cols)

    # --- feedback -------------------------------------------------------------------------------
    fb = {k: np.concatenate([p[k] for p in fb_parts]) for k in fb_parts[0]}
    tone = _tone(fb["survey"], fb["score"])
    p_comment = np.select([fb["survey"] == "nps", fb["survey"] == "csat"], [0.65, 0.4], 0.3)
    has = rng.random(tone.size) < p_comment
    text = comments(rng, fb["theme"].astype(object), tone)
    text = np.where(has, text, None)
    fb_t = fb["t"]
    if spec.warp_ambiguous_hour:
        fb_t = _warp(fb_t)
    feedback = (
        pl.DataFrame(
            {
                "cidx": fb["cidx"].astype(np.int64),
                "ts": np.floor(fb_t).astype(np.int64),
                "survey": pl.Series(fb["survey"].astype(str), dtype=pl.String),
                "score": fb["score"].astype(np.int64),
                "comment": pl.Series(list(text), dtype=pl.String),
                "touchpoint": pl.Series(list(fb["touchpoint"]), dtype=pl.String),
            }
        )
        .with_columns(
            pl.lit(ids).gather(pl.col("cidx")).alias("customer_id"),
            pl.from_epoch("ts", time_unit="s")
            .dt.replace_time_zone("UTC")
            .cast(TIMESTAMP_DTYPE)
            .alias("timestamp"),
        )
        .sort(["timestamp", "customer_id", "survey"])
        .select("customer_id", "timestamp", "survey", "score", "comment", "touchpoint")
    )

    # --- customers ------------------------------------------------------------------------------
    t0_w = _warp(t0) if spec.warp_ambiguous_hour else t0
    signup = (np.floor(t0_w).astype(np.int64) // 86_400).astype("datetime64[D]")
    churned = np.zeros(n, dtype=bool)
    churned[b] = churner
    cdate = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    tc_w = _warp(t_c) if spec.warp_ambiguous_hour else t_c
    cdate[b[churner]] = (np.floor(tc_w[churner]).astype(np.int64) // 86_400).astype("datetime64[D]")
    customers = pl.DataFrame(
        {
            "customer_id": pl.Series(ids, dtype=pl.String),
            "segment": segment.series(),
            "region": region.series(),
            "signup_date": pl.Series(signup).cast(pl.Date),
        }
    )
    if spec.churn_method == "column":
        customers = customers.with_columns(
            pl.Series("churned", churned), pl.Series("churn_date", cdate).cast(pl.Date)
        )
    else:  # the client has no churn columns; canonical frames carry them as nulls
        customers = customers.with_columns(
            pl.lit(None, dtype=pl.Boolean).alias("churned"),
            pl.lit(None, dtype=pl.Date).alias("churn_date"),
        )
    for attr, choice in spec.extra_attributes.items():
        customers = customers.with_columns(pick(rng, choice, n).series(attr))
    has_email = rng.random(n) < spec.email_share
    fn = Cat(rng.integers(0, len(FIRST_NAMES), n), FIRST_NAMES).series()
    ln = Cat(rng.integers(0, len(LAST_NAMES), n), LAST_NAMES).series()
    num = pl.Series(rng.integers(1, 99, n)).cast(pl.String)
    email = fn + "." + ln + num + "@example.com"
    customers = customers.with_columns(
        pl.when(pl.Series(has_email)).then(email).otherwise(None).alias(spec.email_column)
    )
    return {"events": events, "feedback": feedback, "customers": customers}


def hex_strings(values: np.ndarray, width: int) -> np.ndarray:
    """Lower-case hex of unsigned ints, zero-padded to ``width`` (vectorised)."""
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    digits = (values.astype(np.uint64)[:, None] >> shifts) & np.uint64(15)
    chars = np.array(list("0123456789abcdef"))[digits.astype(np.int64)]
    return np.ascontiguousarray(chars).view(f"<U{width}").ravel()


def id_of_index(spec: Spec, gidx: np.ndarray, width: int = 6) -> pl.Series:
    """Customer ids for global indices (a bijection: distinct indices give distinct ids)."""
    g = gidx.astype(np.uint64)
    if spec.id_style == "bk":
        return "BK-" + pl.Series(gidx.astype(np.int64) + 100_000).cast(pl.String).str.zfill(width)
    if spec.id_style == "hex":
        mixed = ((g + np.uint64(0x2545F491)) * np.uint64(0x9E3779B97F4B)) & np.uint64((1 << 48) - 1)
        mixed ^= mixed >> np.uint64(24)  # an xor-shift is a bijection too: the ids stay distinct
        return "c_" + pl.Series(hex_strings(mixed, 12), dtype=pl.String)
    mixed = ((g + np.uint64(7_777_777)) * np.uint64(48_271_733)) % np.uint64(100_000_000)
    return "CL" + pl.Series(mixed.astype(np.int64)).cast(pl.String).str.zfill(8)


def customer_ids(spec: Spec, first_index: int, n: int) -> pl.Series:
    return id_of_index(spec, np.arange(first_index, first_index + n)).alias("customer_id")
