"""Explorer reaction times on ~10M events: the heatmap cube against the event-level heatmap.

Replays a sequence of widget changes of ``notebooks/explore/02_journey_and_touchpoints.ipynb``
(segment, channel, week range, heatmap metric) on one large bookshop client and times, for
each reaction, in the same process and run:

(a) cube path (what the notebook does now)
    ``cube.heatmap(segment, channel, start, end)`` from a :func:`cxlab.analysis.cube.heatmap_cube`
    built once, plus the funnel (``funnel`` on ``cube.filter_events(...)`` of the prepared
    events, by channel), recomputed only when its inputs (segment, weeks) change, as the
    notebook's cache does; like the notebook, it keeps each segment's events, so a new week
    range filters those rather than every event. The first draw's funnel (every event and
    week) is made with the cube when the client loads, as the notebook does: timed with the
    build, not with the first draw.
(c) the explorer's drawing
    the funnel and heatmap chart specs, sent to the offline chart widgets the explorer reuses
    (``cxlab.display.notebook.Explorer``); (a) + (c) is the kernel's whole reaction.
(b) old way (the baseline)
    ``touchpoint_heatmap`` on the filtered prepared events (filtering included), plus the same
    funnel. The old notebook cached the all-channel heatmap per (segment, dates), so a
    metric-only change cost it nothing: the "old notebook" column keeps that cache.

The data is made once with ``cxlab sample --customers N --browsing B --clients bookshop
--format parquet`` under ``benchmarks/data/`` (git-ignored) when missing. Prints a markdown
table; raw numbers go to ``benchmarks/out/bench_explorer.json`` (git-ignored).

Usage::

    .venv/bin/python benchmarks/bench_explorer.py                 # 100k customers, ~10M events
    .venv/bin/python benchmarks/bench_explorer.py --customers 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import time
from pathlib import Path

from run import OUT, ensure_data  # benchmarks/run.py: one data layout for every benchmark

STEPS = ("site_visit", "add_to_cart", "checkout", "purchase")
WINDOW = "14d"


def reactions(cube) -> list[tuple[str, dict]]:
    """20 widget changes: (what changed, the full widget state after it)."""
    n = cube.n_buckets
    segs = [s for s in cube.segments if s != "(missing)"] or [cube.segments[0]]
    chans = sorted(cube.channels, key=lambda c: c != "web")  # web first: the biggest channel
    mid = n // 2
    state = {"segment": None, "channel": None, "weeks": (0, n - 1), "metric": "reach"}
    changes = [
        ("open (everything)", {}),
        ("metric -> pain", {"metric": "pain"}),
        (f"segment -> {segs[0]}", {"segment": segs[0]}),
        (f"channel -> {chans[min(1, len(chans) - 1)]}", {"channel": chans[min(1, len(chans) - 1)]}),
        ("weeks -> a quarter", {"weeks": (max(0, mid - 6), mid + 6)}),
        ("metric -> satisfaction", {"metric": "satisfaction"}),
        (f"channel -> {chans[0]}", {"channel": chans[0]}),
        (f"segment -> {segs[-1]}", {"segment": segs[-1]}),
        ("weeks -> last 8", {"weeks": (max(0, n - 8), n - 1)}),
        ("channel -> (all)", {"channel": None}),
        ("segment -> (all)", {"segment": None}),
        ("weeks -> all", {"weeks": (0, n - 1)}),
        (f"channel -> {chans[-1]}", {"channel": chans[-1]}),
        (f"segment -> {segs[min(1, len(segs) - 1)]}", {"segment": segs[min(1, len(segs) - 1)]}),
        ("weeks -> first 13", {"weeks": (0, min(12, n - 1))}),
        ("metric -> intensity", {"metric": "intensity"}),
        (f"segment -> {segs[min(2, len(segs) - 1)]}", {"segment": segs[min(2, len(segs) - 1)]}),
        ("channel -> (all)", {"channel": None}),
        ("weeks -> one week", {"weeks": (mid, mid)}),
        ("segment -> (all), weeks -> all", {"segment": None, "weeks": (0, n - 1)}),
    ]
    out = []
    for label, change in changes:
        state = {**state, **change}
        out.append((label, dict(state)))
    return out


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--customers",
        type=int,
        default=100_000,
        help="customers of the generated bookshop (default 100000: ~10M events with --browsing 90)",
    )
    ap.add_argument(
        "--browsing",
        type=float,
        default=90,
        help="extra browsing events per customer given to cxlab sample (default 90)",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=OUT / "bench_explorer.json",
        help="where to write the raw numbers",
    )
    args = ap.parse_args()

    import polars as pl

    from cxlab.analysis.cube import heatmap_cube
    from cxlab.analysis.funnel import funnel
    from cxlab.analysis.heatmap import touchpoint_heatmap
    from cxlab.analysis.journey import assign_stages
    from cxlab.io.client import load_client

    folder = ensure_data(args.customers, args.browsing)
    client, t_load = timed(lambda: load_client(folder, prepare=True))  # loaded in prepared order
    cfg = client.config
    events = client.events
    staged, t_stages = timed(
        lambda: assign_stages(events, cfg.journey_map, cfg.purchase_touchpoints)
    )
    cube, t_cube = timed(lambda: heatmap_cube(staged, client.feedback, client.customers))
    # as the notebook prepares a client: the first draw's funnel (every event and week, the
    # default steps) is made with the cube, so the first draw reads it
    everything = (None, (0, cube.n_buckets - 1))
    first_funnel, t_first = timed(
        lambda: funnel(
            cube.filter_events(staged, start=cube.edges[0], end=cube.edges[cube.n_buckets - 1]),
            list(STEPS),
            window=WINDOW,
            by="channel",
        )
    )
    print(
        f"{staged.height:,} events, {client.customers.height:,} customers, {client.feedback.height:,} answers"
    )
    print(
        f"load + prepare {t_load:.2f} s, stages {t_stages:.2f} s, cube {t_cube:.2f} s "
        f"+ first funnel {t_first:.2f} s (made with the cube): {cube}\n",
        flush=True,
    )

    # (c) what the explorer adds per reaction: the two chart specs and their update in the
    # offline chart widgets it reuses (cxlab.display.notebook.Explorer; no browser here)
    import altair as alt

    from cxlab.analysis.stats import wilson_bounds
    from cxlab.display.charts.journey import funnel_chart, heatmap_chart
    from cxlab.display.notebook import setup_notebook

    setup_notebook()
    widgets_pool: list = []

    def draw(h, f, channel, metric):
        if channel is None:  # the notebook's combine_channels: per-channel counts add up
            counts = [
                "entered",
                "converted",
                "open_window",
                "censored",
                "eligible",
                "converted_eligible",
                "drop_off",
            ]
            g = f.group_by("step", "step_name").agg(pl.col(counts).sum()).sort("step")
            f = g.with_columns(
                (pl.col("converted_eligible") / pl.col("eligible")).alias("conversion_rate"),
                *wilson_bounds("converted_eligible", "eligible"),
                (pl.col("converted") / (g["converted"][0] or 1)).alias("overall_rate"),
            )
        else:
            f = f.filter(pl.col("channel") == channel).drop("channel")
        with alt.utils.schemapi.debug_mode(False):  # as the Explorer builds them: unvalidated
            charts = [funnel_chart(f, title="Funnel"), heatmap_chart(h, metric, title=metric)]
        for i, c in enumerate(charts):
            if i < len(widgets_pool):
                widgets_pool[i].spec = c.to_dict(validate=False)  # as the Explorer does
            else:
                widgets_pool.append(alt.JupyterChart(c))

    funnels: dict[tuple, pl.DataFrame] = {everything: first_funnel}
    by_segment: dict[str | None, pl.DataFrame] = {}
    old_cache: set[tuple] = set()
    rows = []
    for label, s in reactions(cube):
        start, end = cube.edges[s["weeks"][0]], cube.edges[s["weeks"][1]]
        h, t_new = timed(
            lambda s=s, start=start, end=end: cube.heatmap(s["segment"], s["channel"], start, end)
        )
        key = (s["segment"], s["weeks"])
        t_funnel = 0.0
        if key not in funnels:

            def run_funnel(s=s, start=start, end=end):
                # the notebook keeps each segment's events: a week range filters those
                if s["segment"] not in by_segment:
                    by_segment[s["segment"]] = cube.filter_events(staged, segment=s["segment"])
                ev = cube.filter_events(by_segment[s["segment"]], start=start, end=end)
                return funnel(ev, list(STEPS), window=WINDOW, by="channel")

            funnels[key], t_funnel = timed(run_funnel)
        _, t_draw = timed(
            lambda s=s, h=h, key=key: draw(h, funnels[key], s["channel"], s["metric"])
        )
        old, t_old = timed(
            lambda s=s, start=start, end=end: touchpoint_heatmap(
                cube.filter_events(
                    staged, segment=s["segment"], channel=s["channel"], start=start, end=end
                ),
                client.feedback,
            )
        )
        assert h.equals(old), f"cube and touchpoint_heatmap differ at {label}"
        # the old notebook: all-channel heatmaps cached per (segment, dates); a channel recomputed
        old_key = (s["segment"], s["weeks"])
        t_old_nb = 0.0 if s["channel"] is None and old_key in old_cache else t_old
        if s["channel"] is None:
            old_cache.add(old_key)
        rows.append(
            {
                "reaction": label,
                "cube_heatmap_s": t_new,
                "funnel_s": t_funnel,
                "new_total_s": t_new + t_funnel,
                "charts_s": t_draw,
                "explorer_total_s": t_new + t_funnel + t_draw,
                "old_heatmap_s": t_old,
                "old_notebook_total_s": t_old_nb + t_funnel,
            }
        )

    def ms(x: float) -> str:
        return f"{x * 1000:,.0f} ms"

    print(
        "| reaction | cube heatmap | funnel (when its inputs change) | (a) cube path total | "
        "(c) charts | (a)+(c) explorer | (b) old heatmap | (b) old notebook total | "
        "old heatmap / cube heatmap |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['reaction']} | {ms(r['cube_heatmap_s'])} | {ms(r['funnel_s'])} | {ms(r['new_total_s'])} | "
            f"{ms(r['charts_s'])} | {ms(r['explorer_total_s'])} | "
            f"{ms(r['old_heatmap_s'])} | {ms(r['old_notebook_total_s'])} | "
            f"{r['old_heatmap_s'] / r['cube_heatmap_s']:.0f}× |"
        )
    summary = {}
    for col in (
        "cube_heatmap_s",
        "funnel_s",
        "new_total_s",
        "charts_s",
        "explorer_total_s",
        "old_heatmap_s",
        "old_notebook_total_s",
    ):
        values = [r[col] for r in rows]
        summary[col] = {"median": statistics.median(values), "max": max(values)}
    for stat in ("median", "max"):
        c, o = summary["cube_heatmap_s"][stat], summary["old_heatmap_s"][stat]
        print(
            f"| **{stat}** | {ms(c)} | {ms(summary['funnel_s'][stat])} | {ms(summary['new_total_s'][stat])} | "
            f"{ms(summary['charts_s'][stat])} | {ms(summary['explorer_total_s'][stat])} | "
            f"{ms(o)} | {ms(summary['old_notebook_total_s'][stat])} | {o / c:.0f}× |"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"\ncube build {t_cube:.2f} s + first funnel {t_first:.2f} s (once per client, when it "
        f"loads); peak RSS {rss:.2f} GB; "
        f"every cube heatmap equalled touchpoint_heatmap on the filtered events."
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "folder": str(folder),
                "events": staged.height,
                "load_prepare_s": t_load,
                "stages_s": t_stages,
                "cube_s": t_cube,
                "first_funnel_s": t_first,
                "cube": repr(cube),
                "reactions": rows,
                "summary": summary,
                "peak_rss_gb": rss,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
