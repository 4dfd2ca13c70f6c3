"""Specification of :mod:`cxlab.analysis.funnel`: per-path funnel progress and the funnel table.

Definitions (the module docstring of :mod:`cxlab.analysis.funnel` says the same in words):

* a path is the events of one customer (``path="customer"``) or of one session (``path=
  "session"``: customer and ``session_id``), ordered by ``timestamp``, then ``source_row``,
  then row order when the frame has no ``source_row``; events after ``as_of`` are ignored;
* best attempt (``entry="best"``, ordered): every step-1 event starts an attempt; an attempt
  reaches step k when a chain of events from its step-1 event matches steps 1..k, each event
  at the same time as the previous one or later (a different event from it), step k within
  ``step_windows[k]`` of step k-1 and within ``window`` of the attempt's step-1 event. The
  path is credited with the furthest step any attempt reaches. The attempt whose times are
  reported: the path's first event at that furthest step, and going back, at each step the
  latest event the chain can come through (so the latest attempt start that leads there);
* first entry (``entry="first"``, ordered): one attempt, from the path's first step-1 event;
  step k is the first event matching step k strictly after step k-1 in path order, within
  the windows (greedy);
* strict: an attempt is a run of consecutive events (in path order) matching steps 1, 2, …
  from a step-1 event (every one, or the first with ``entry="first"``); the credited attempt
  is the first of those that go furthest;
* any: steps 1..k done in any order; step k's time is the latest of the first occurrences of
  steps 1..k, within ``window`` of the earliest of them;
* the data end (``as_of``, default the last timestamp) decides open windows: step k's window
  is open when its deadline (the earlier of the attempt's step-1 time + ``window`` and step
  k-1's time + ``step_windows[k]``) is after the data end; at the step after the furthest,
  the latest deadline of the path's attempts that reached the furthest step counts.

This oracle is written for a reader: per path, Python loops over a handful of events.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxlab.analysis.stats import exact_sum, small_n, wilson_bounds
from cxlab.contract.schema import SOURCE_ROW

TS = pl.Datetime("us", "UTC")
HOUR_US = 3_600_000_000


def _duration(value):
    if value is None or isinstance(value, dt.timedelta):
        return value
    units = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    return dt.timedelta(**{units[value[-1]]: float(value[:-1])})


def _as_of(as_of, data_end):
    if as_of is None:
        return data_end
    if not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time())
    return as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)


def paths(events, *, path="customer", as_of=None) -> tuple[dict, dt.datetime]:
    """``{path key: [event dict, …] in path order}`` and the data end."""
    df = events.collect() if isinstance(events, pl.LazyFrame) else events
    df = df.with_row_index("_row")
    tie = SOURCE_ROW if SOURCE_ROW in df.columns else "_row"
    end = _as_of(as_of, df.get_column("timestamp").max())
    df = df.filter(pl.col("timestamp") <= end).sort("timestamp", tie)
    key = ["customer_id", "session_id"] if path == "session" else ["customer_id"]
    out: dict = {}
    for row in df.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String)).iter_rows(
        named=True
    ):
        out.setdefault(tuple(row[k] for k in key), []).append(row)
    return out, end


class Funnel:
    """The parameters of one funnel, and the per-path rules."""

    def __init__(
        self,
        steps,
        *,
        window=None,
        step_windows=None,
        order="ordered",
        entry="best",
        exclude=None,
        column="touchpoint",
        skip_ahead=False,
    ):
        self.steps = [[s] if isinstance(s, str) else list(s) for s in steps]
        self.names = [" | ".join(s) for s in self.steps]
        self.n = len(self.steps)
        self.window = _duration(window)
        sw = [None] * self.n
        for k, w in enumerate(step_windows or [], start=1):
            sw[k] = _duration(w)
        self.step_windows = sw
        self.order, self.entry, self.column, self.skip_ahead = order, entry, column, skip_ahead
        self.exclude = []
        for item in [exclude] if isinstance(exclude, str) else exclude or []:
            if isinstance(item, str):
                self.exclude.append(([item], 1, self.n))
            else:
                tp, a, b = item
                self.exclude.append(([tp] if isinstance(tp, str) else list(tp), a, b))

    def matches(self, event, k) -> bool:
        """Does the event match step k (0-based)?"""
        return event[self.column] in self.steps[k]

    def deadline(self, k, start_time, previous_time):
        """Latest time step k (0-based, k >= 1) may come, or None without windows."""
        limits = []
        if self.window is not None:
            limits.append(start_time + self.window)
        if self.step_windows[k] is not None:
            limits.append(previous_time + self.step_windows[k])
        return min(limits) if limits else None

    # ---------------------------------------------------------------- ordered, best attempt
    def starts(self, ev, memo, k, i):
        """Indices of the step-1 events whose attempt reaches step k (0-based) at event i."""
        if (k, i) in memo:
            return memo[(k, i)]
        found = set()
        if self.matches(ev[i], k):
            if k == 0:
                found = {i}
            else:
                for p in range(len(ev)):
                    if p == i or ev[p]["timestamp"] > ev[i]["timestamp"]:
                        continue
                    for s in self.starts(ev, memo, k - 1, p):
                        dl = self.deadline(k, ev[s]["timestamp"], ev[p]["timestamp"])
                        if dl is None or ev[i]["timestamp"] <= dl:
                            found.add(s)
        memo[(k, i)] = found
        return found

    def best_chain(self, ev):
        """(chain of event indices, latest deadline of the next step) of the credited attempt."""
        memo: dict = {}
        reach = [[i for i in range(len(ev)) if self.starts(ev, memo, k, i)] for k in range(self.n)]
        m = max((k + 1 for k in range(self.n) if reach[k]), default=0)
        if m == 0:
            return None, None
        chain = [reach[m - 1][0]]  # the first event at the furthest step
        for k in range(m - 1, 0, -1):  # back: the latest event it can come through
            e = chain[0]
            ok = [
                p
                for p in reach[k - 1]
                if p != e
                and ev[p]["timestamp"] <= ev[e]["timestamp"]
                and any(self._hop(ev, k, s, p, e) for s in self.starts(ev, memo, k - 1, p))
            ]
            chain.insert(0, max(ok))
        nxt = None
        if m < self.n:
            dls = [
                self.deadline(
                    m, ev[max(self.starts(ev, memo, m - 1, i))]["timestamp"], ev[i]["timestamp"]
                )
                for i in reach[m - 1]
            ]
            nxt = None if None in dls else max(dls)
        return chain, nxt

    def _hop(self, ev, k, s, p, e) -> bool:
        dl = self.deadline(k, ev[s]["timestamp"], ev[p]["timestamp"])
        return dl is None or ev[e]["timestamp"] <= dl

    # ---------------------------------------------------------------- ordered, first entry
    def first_chain(self, ev):
        """Greedy chain from the first step-1 event (or, skip_ahead, the path's first event)."""
        firsts = [i for i in range(len(ev)) if any(self.matches(ev[i], k) for k in range(self.n))]
        if self.skip_ahead:
            if not firsts:
                return None, 0
            level = min(k for k in range(self.n) if self.matches(ev[firsts[0]], k))
            chain = [firsts[0]]
        else:
            ones = [i for i in range(len(ev)) if self.matches(ev[i], 0)]
            if not ones:
                return None, 0
            level, chain = 0, [ones[0]]
        start = ev[chain[0]]["timestamp"]
        for k in range(level + 1, self.n):
            p = chain[-1]
            dl = self.deadline(k, start, ev[p]["timestamp"])
            nxt = [
                i
                for i in range(p + 1, len(ev))
                if self.matches(ev[i], k) and (dl is None or ev[i]["timestamp"] <= dl)
            ]
            if not nxt:
                break
            chain.append(nxt[0])
        return chain, level

    # ---------------------------------------------------------------- strict
    def strict_chain(self, ev):
        """The first of the longest runs of consecutive matching events from a step-1 event."""
        best, best_next = None, []
        anchors = [i for i in range(len(ev)) if self.matches(ev[i], 0)]
        if self.entry == "first":
            anchors = anchors[:1]
        for a in anchors:
            chain = [a]
            for k in range(1, self.n):
                i = a + k
                dl = self.deadline(k, ev[a]["timestamp"], ev[chain[-1]]["timestamp"])
                if (
                    i >= len(ev)
                    or not self.matches(ev[i], k)
                    or (dl is not None and ev[i]["timestamp"] > dl)
                ):
                    break
                chain.append(i)
            if best is None or len(chain) > len(best):
                best, best_next = chain, []
            if len(chain) == len(best) and len(chain) < self.n:
                best_next.append(
                    self.deadline(len(chain), ev[a]["timestamp"], ev[chain[-1]]["timestamp"])
                )
        nxt = None if not best_next or None in best_next else max(best_next)
        return best, nxt

    # ---------------------------------------------------------------- any order
    def any_state(self, ev):
        """(step times, step event indices, deadlines) for ``order="any"``."""
        first = []
        for k in range(self.n):
            idx = [i for i in range(len(ev)) if self.matches(ev[i], k)]
            first.append(idx[0] if idx else None)
        if first[0] is None:
            return None
        times, rows, deadlines = [], [], []
        for k in range(self.n):
            got = first[: k + 1]
            if None in got:
                break
            ts = [ev[i]["timestamp"] for i in got]
            if self.window is not None and max(ts) - min(ts) > self.window:
                break
            times.append(max(ts))
            rows.append(max(i for i in got if ev[i]["timestamp"] == max(ts)))
            if k + 1 < self.n:
                deadlines.append(min(ts) + self.window if self.window is not None else None)
        return times, rows, deadlines

    # ---------------------------------------------------------------- one path
    def path_state(self, ev, end):
        """One path's row: step times, their events, deadlines, furthest step, excluded."""
        n = self.n
        times, rows, deadlines, entry_level = [None] * n, [None] * n, [None] * (n - 1), 0
        if self.order == "any":
            got = self.any_state(ev)
            if got is None:
                return None
            t, r, d = got
            times[: len(t)], rows[: len(r)] = t, r
            deadlines[: len(d)] = d
            return self._finish(ev, end, times, rows, deadlines, ev[r[0]]["timestamp"], entry_level)
        if self.order == "strict":
            chain, nxt = self.strict_chain(ev)
        elif self.entry == "best":
            chain, nxt = self.best_chain(ev)
        else:
            chain, entry_level = self.first_chain(ev)
            nxt = None
        if chain is None:
            return None
        start = ev[chain[0]]["timestamp"]
        for j, i in enumerate(chain):
            times[entry_level + j], rows[entry_level + j] = ev[i]["timestamp"], i
        for k in range(entry_level):  # skip_ahead: earlier steps count as passed at the entry
            times[k], rows[k] = start, chain[0]
        m = entry_level + len(chain)
        for k in range(1, m + 1):
            if k < n:
                if k == m and (self.order == "strict" or self.entry == "best"):
                    deadlines[k - 1] = nxt
                else:
                    deadlines[k - 1] = self.deadline(k, start, times[k - 1])
        return self._finish(ev, end, times, rows, deadlines, start, entry_level)

    def _finish(self, ev, end, times, rows, deadlines, start, entry_level):
        excluded = False
        for tps, a, b in self.exclude:
            if rows[a - 1] is None:
                continue
            lo = rows[a - 1]
            for i, e in enumerate(ev):
                if e[self.column] not in tps or i <= lo:
                    continue
                if rows[b - 1] is not None:
                    inside = i < rows[b - 1]
                else:
                    cap = min(start + self.window, end) if self.window is not None else end
                    inside = e["timestamp"] <= cap
                excluded = excluded or inside
        return {
            "times": times,
            "rows": rows,
            "deadlines": deadlines,
            "excluded": excluded,
            "entry": entry_level,
        }


def funnel_customers(
    events,
    steps,
    *,
    path="customer",
    as_of=None,
    by=None,
    by_touch="first",
    customers=None,
    **kwargs,
) -> pl.DataFrame:
    """One row per path that reached step 1 (the package's :func:`cxlab.analysis.funnel.funnel_customers`)."""
    f = Funnel(steps, **kwargs)
    by = [by] if isinstance(by, str) else list(by or [])
    table, end = paths(events, path=path, as_of=as_of)
    table_all = {}  # each customer's events (for the signup cohort without customers)
    for key, ev in table.items():
        table_all.setdefault(key[0], []).extend(ev)
    rows = []
    for key, ev in table.items():
        st = f.path_state(ev, end)
        if st is None:
            continue
        row = {"customer_id": key[0]}
        if path == "session":
            row["session_id"] = key[1]
        m = sum(t is not None for t in st["times"])
        touch = {"first": 0, "last": m - 1}.get(
            by_touch, by_touch - 1 if isinstance(by_touch, int) else 0
        )
        for c in by:
            if c in ev[0] and c != "signup_cohort":
                i = st["rows"][touch]
                value = "(not reached)" if i is None else ev[i][c]
                row[c] = "(missing)" if value is None else str(value)
            else:
                row[c] = _customer_value(customers, key[0], c, table_all[key[0]])
        for k in range(f.n):
            row[f"step_{k + 1}_at"] = st["times"][k]
        for k in range(1, f.n):
            row[f"deadline_{k + 1}"] = st["deadlines"][k - 1]
        row["excluded"] = st["excluded"]
        row["steps_reached"] = m
        row["_entry"] = st["entry"] + 1
        last = st["rows"][f.n - 1]
        row["_revenue"] = ev[last].get("revenue") if last is not None else None
        rows.append(row)
    ids = ["customer_id", "session_id"] if path == "session" else ["customer_id"]
    schema = {
        **{c: pl.String for c in ids + by},
        **{f"step_{k + 1}_at": TS for k in range(f.n)},
        **{f"deadline_{k + 1}": TS for k in range(1, f.n)},
        "excluded": pl.Boolean,
        "steps_reached": pl.Int32,
        "_entry": pl.Int64,
        "_revenue": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").sort(ids)


def _customer_value(customers, customer_id, column, ev=None):
    """A customers column's value as text; ``signup_cohort``: the month of ``signup_date`` (of
    the customer's first event without customers)."""
    if column == "signup_cohort":
        if customers is None:
            first = min(e["timestamp"] for e in ev)
            return first.date().replace(day=1).isoformat()
        hit = customers.filter(pl.col("customer_id") == customer_id)
        day = hit.get_column("signup_date")[0] if hit.height else None
        return "(missing)" if day is None else day.replace(day=1).isoformat()
    hit = customers.filter(pl.col("customer_id") == customer_id)
    value = hit.get_column(column)[0] if hit.height else None
    return "(missing)" if value is None else str(value)


def funnel(events, steps, *, completed_windows=True, **kwargs) -> pl.DataFrame:
    """The funnel table (the package's :func:`cxlab.analysis.funnel.funnel`)."""
    state = funnel_customers(events, steps, **kwargs)
    by = kwargs.get("by")
    by = [by] if isinstance(by, str) else list(by or [])
    names = [" | ".join([s] if isinstance(s, str) else s) for s in steps]
    table, end = paths(events, path=kwargs.get("path", "customer"), as_of=kwargs.get("as_of"))
    scope = _scope(table, state, by, kwargs)
    has_revenue = "revenue" in (
        events.collect_schema().names() if isinstance(events, pl.LazyFrame) else events.columns
    )
    kept = state.filter(~pl.col("excluded"))
    rows = []
    for group, part in _groups(kept, state, by):
        started = part.filter(pl.col("step_1_at").is_not_null()).height
        for k in range(len(names)):
            rows.append(
                _step_row(part, k, len(names), names[k], end, completed_windows, has_revenue)
                | dict(zip(by, group, strict=True))
                | {
                    "_started": started,
                    "excluded": state.filter(_in(by, group) & pl.col("excluded")).height,
                    "in_scope": scope[group],
                }
            )
    if (
        has_revenue and rows
    ):  # cxlab.analysis.stats.exact_sum over all groups in one group-by (its last bits
        # depend on the number of groups), on the last step's converters
        with_revenue = [r for r in rows if r["revenue"] is not None]
        sums = pl.DataFrame(
            {
                **{c: [r[c] for r in with_revenue] for c in by},
                "_i": list(range(len(with_revenue))),
                "revenue": [r["revenue"] for r in with_revenue],
            },
            schema={**{c: pl.String for c in by}, "_i": pl.Int64, "revenue": pl.List(pl.Float64)},
        ).explode("revenue")
        sums = dict(
            sums.group_by([*by, "_i"]).agg(exact_sum("revenue")).select("_i", "revenue").rows()
        )
        for i, r in enumerate(with_revenue):
            r["revenue"] = sums.get(i, 0.0)  # no path: an empty sum
    ints = [
        "step",
        "entered",
        "converted",
        "open_window",
        "censored",
        "eligible",
        "converted_eligible",
        "_started",
        "excluded",
        "in_scope",
    ]
    schema = {
        **{c: pl.String for c in ["step_name", *by]},
        **{c: pl.Int64 for c in ints},
        **{c: pl.Float64 for c in ["median_hours", "p90_hours", "revenue"]},
    }
    out = pl.DataFrame(rows, schema=schema).sort([*by, "step"])
    out = out.with_columns(*wilson_bounds("converted_eligible", "eligible")).with_columns(
        pl.when(pl.col("eligible") > 0)
        .then(pl.col("converted_eligible") / pl.col("eligible"))
        .alias("conversion_rate"),
        (pl.col("eligible") - pl.col("converted_eligible")).alias("drop_off"),
        pl.when(pl.col("_started") > 0)
        .then(pl.col("converted") / pl.col("_started"))
        .alias("overall_rate"),
        small_n("eligible"),
        (pl.col("converted") / pl.col("in_scope")).alias("share_of_all"),
        pl.when(pl.col("converted") > 0)
        .then(pl.col("revenue") / pl.col("converted"))
        .alias("revenue_per_converter"),
    )
    cols = [
        *by,
        "step",
        "step_name",
        "entered",
        "converted",
        "open_window",
        "censored",
        "eligible",
        "converted_eligible",
        "conversion_rate",
        "ci_low",
        "ci_high",
        "drop_off",
        "overall_rate",
        "median_hours",
        "p90_hours",
        "excluded",
        "small_n",
        "in_scope",
        "share_of_all",
        "revenue",
        "revenue_per_converter",
    ]
    return out.select(cols).sort([*by, "step"])


def _in(by, group):
    return pl.all_horizontal(
        [pl.col(c) == v for c, v in zip(by, group, strict=True)] or [pl.lit(True)]
    )


def _groups(kept, state, by):
    groups = sorted(kept.select(by).unique().rows()) if by else [()]  # groups with a kept path
    return [(g, kept.filter(_in(by, g))) for g in groups]


def _step_row(part, k, n, name, end, completed, has_revenue):
    at = [part.get_column(f"step_{j + 1}_at").to_list() for j in range(n)]
    reached = [t is not None for t in at[k]]
    if k == 0:
        entered, open_w, hours = reached, [False] * len(reached), [None] * len(reached)
    else:
        entered = [t is not None for t in at[k - 1]]
        dls = part.get_column(f"deadline_{k + 1}").to_list()
        open_w = [e and d is not None and d > end for e, d in zip(entered, dls, strict=True)]
        hours = [
            (b - a) / dt.timedelta(microseconds=1) / HOUR_US if b is not None else None
            for a, b in zip(at[k - 1], at[k], strict=True)
        ]
    counted = [o if completed else False for o in open_w]
    conv_h = pl.Series([h for h, r in zip(hours, reached, strict=True) if r], dtype=pl.Float64)
    revenue = None
    if k == n - 1 and has_revenue:
        values = [
            v if r else None
            for v, r in zip(part.get_column("_revenue").to_list(), reached, strict=True)
        ]
        revenue = values  # summed by the caller
    return {
        "step": k + 1,
        "step_name": name,
        "entered": sum(entered),
        "converted": sum(reached),
        "open_window": sum(open_w),
        "censored": sum(o and not r for o, r in zip(open_w, reached, strict=True)),
        "eligible": sum(e and not c for e, c in zip(entered, counted, strict=True)),
        "converted_eligible": sum(r and not c for r, c in zip(reached, counted, strict=True)),
        "median_hours": conv_h.median(),
        "p90_hours": conv_h.quantile(0.9, interpolation="linear"),
        "revenue": revenue,
    }


def _scope(table, state, by, kwargs) -> dict:
    """Paths with an event up to as_of per group (entrants in their group, the others in the
    group of their first event)."""
    counts: dict = {}
    ids = ["customer_id", "session_id"] if kwargs.get("path") == "session" else ["customer_id"]
    seen = {tuple(r) for r in state.select(ids).rows()}
    for row in state.select(by).rows() if by else [()] * state.height:
        counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    for key, ev in table.items():
        if key in seen:
            continue
        group = []
        for c in by:
            if c in ev[0] and c != "signup_cohort":
                group.append("(missing)" if ev[0][c] is None else str(ev[0][c]))
            else:
                mine = [e for k2, evs in table.items() if k2[0] == key[0] for e in evs]
                group.append(_customer_value(kwargs.get("customers"), key[0], c, mine))
        counts[tuple(group)] = counts.get(tuple(group), 0) + 1
    return counts
