"""A straightforward pandas implementation of the benchmarked analyses (for comparison only).

Written the way an analyst would write it in a notebook: idiomatic pandas (sort once by
customer and time, groupby / shift / merge), no Python row loops, no tricks. It computes the
same kinds of tables as the cxlab pipeline in ``run.py`` (stages with the first-purchase
rule, per-customer journeys, stage transitions, an ordered windowed funnel, the stage x
touchpoint heatmap with reach and drop-out, touchpoint transitions, a step matrix and
customer features), not every column of them. pyarrow is not installed here, so the Parquet
file is read with polars and handed to pandas column by column (numpy arrays); that read is
counted in the ``load`` step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd  # noqa: TID251 - the baseline is pandas on purpose
import polars as pl


def load(
    events_path, customers_path, feedback_path, mapping: dict[str, str]
) -> dict[str, pd.DataFrame]:
    """Read, rename, drop rows without id/time/touchpoint and exact duplicates."""
    df = pl.read_parquet(events_path)
    ev = pd.DataFrame({mapping.get(c, c): df[c].to_numpy() for c in df.columns})
    ev["source_row"] = np.arange(1, len(ev) + 1, dtype=np.uint32)
    ev["customer_id"] = ev["customer_id"].astype(object)
    for c in ("customer_id", "touchpoint", "channel"):
        ev[c] = ev[c].where(ev[c].isna(), ev[c].astype(str).str.strip())
    ev = ev.dropna(subset=["customer_id", "timestamp", "touchpoint"])
    ev = ev[
        ~ev.duplicated(
            subset=["customer_id", "timestamp", "touchpoint", "channel", "session_id", "revenue"]
        )
    ]
    cu = pl.read_parquet(customers_path)
    cu = pd.DataFrame({c: cu[c].to_numpy() for c in cu.columns})
    fb = pl.read_parquet(feedback_path)
    fb = pd.DataFrame({c: fb[c].to_numpy() for c in fb.columns})
    return {"events": ev, "customers": cu, "feedback": fb}


STAGES = ["awareness", "consideration", "purchase", "retention", "advocacy"]


def assign_stages(ev: pd.DataFrame, journey_map: dict[str, str]) -> pd.DataFrame:
    ev = ev.sort_values(["customer_id", "timestamp", "source_row"], kind="stable").reset_index(
        drop=True
    )
    stage = ev["touchpoint"].map(journey_map)
    is_p = ev["touchpoint"].eq("purchase")
    n_before = is_p.astype(np.int32).groupby(ev["customer_id"]).cumsum()
    stage = stage.where(~(is_p & (n_before > 1)), "retention")
    ev["stage"] = pd.Categorical(stage, categories=STAGES, ordered=True)
    ev["stage_code"] = ev["stage"].cat.codes  # -1 = unmapped
    return ev


def customer_journeys(ev: pd.DataFrame) -> pd.DataFrame:
    g = ev.groupby("customer_id", sort=True)
    out = g.agg(
        first_event_at=("timestamp", "min"),
        last_event_at=("timestamp", "max"),
        n_events=("timestamp", "size"),
        furthest=("stage_code", "max"),
    )
    mapped = ev[ev["stage_code"] >= 0]
    firsts = mapped.groupby(["customer_id", "stage_code"])["timestamp"].min().unstack()
    counts = mapped.groupby(["customer_id", "stage_code"]).size().unstack(fill_value=0)
    out = out.join(firsts.add_prefix("first_"), how="left").join(
        counts.add_prefix("events_"), how="left"
    )
    current = mapped.groupby("customer_id")["stage_code"].last()
    return out.assign(current=current)


def stage_transitions(ev: pd.DataFrame) -> pd.DataFrame:
    m = ev[ev["stage_code"] >= 0][["customer_id", "stage_code"]]
    same = m["customer_id"].eq(m["customer_id"].shift())
    m = m[~same | m["stage_code"].ne(m["stage_code"].shift())]
    prev = m["stage_code"].shift()
    first = ~m["customer_id"].eq(m["customer_id"].shift())
    frm = prev.where(~first, -1)
    pairs = pd.DataFrame({"customer_id": m["customer_id"], "from": frm, "to": m["stage_code"]})
    last = ~m["customer_id"].eq(m["customer_id"].shift(-1))
    ends = pd.DataFrame(
        {"customer_id": m["customer_id"][last], "from": m["stage_code"][last], "to": 9}
    )
    allp = pd.concat([pairs, ends])
    out = allp.groupby(["from", "to"]).agg(
        transitions=("customer_id", "size"), customers=("customer_id", "nunique")
    )
    out["share"] = out["transitions"] / out.groupby(level=0)["transitions"].transform("sum")
    return out.reset_index()


def funnel(ev: pd.DataFrame, steps: list[str], window: pd.Timedelta) -> pd.DataFrame:
    cols = ["customer_id", "timestamp", "source_row"]
    first = (
        ev[ev["touchpoint"] == steps[0]].groupby("customer_id")[["timestamp", "source_row"]].first()
    )
    state = first.rename(columns={"timestamp": "t1", "source_row": "r1"})
    prev_t, prev_r = "t1", "r1"
    for k, step in enumerate(steps[1:], start=2):
        cand = ev.loc[ev["touchpoint"] == step, cols].merge(
            state[list(dict.fromkeys([prev_t, prev_r, "t1"]))].dropna(),
            left_on="customer_id",
            right_index=True,
        )
        after = (cand["timestamp"] > cand[prev_t]) | (
            (cand["timestamp"] == cand[prev_t]) & (cand["source_row"] > cand[prev_r])
        )
        cand = cand[after & (cand["timestamp"] <= cand["t1"] + window)]
        nxt = cand.groupby("customer_id")[["timestamp", "source_row"]].first()
        state = state.join(
            nxt.rename(columns={"timestamp": f"t{k}", "source_row": f"r{k}"}), how="left"
        )
        prev_t, prev_r = f"t{k}", f"r{k}"
    reached = [state[f"t{k}"].notna().sum() for k in range(1, len(steps) + 1)]
    return pd.DataFrame({"step": steps, "converted": reached})


def touchpoint_heatmap(ev: pd.DataFrame) -> pd.DataFrame:
    m = ev[ev["stage_code"] >= 0]
    cells = m.groupby(["stage_code", "touchpoint"]).agg(
        events=("customer_id", "size"), customers=("customer_id", "nunique")
    )
    stage_customers = m.groupby("stage_code")["customer_id"].nunique().rename("stage_customers")
    furthest = m.groupby("customer_id")["stage_code"].max().rename("furthest")
    cs = m[["customer_id", "stage_code"]].drop_duplicates().join(furthest, on="customer_id")
    cs["dropped"] = cs["stage_code"] == cs["furthest"]
    touched = (
        m[["customer_id", "stage_code", "touchpoint"]]
        .drop_duplicates()
        .merge(cs[["customer_id", "stage_code", "dropped"]], on=["customer_id", "stage_code"])
        .groupby(["stage_code", "touchpoint"])
        .agg(n_touched=("dropped", "size"), dropped_touched=("dropped", "sum"))
    )
    out = cells.join(stage_customers, on="stage_code").join(touched)
    out["reach"] = out["customers"] / out["stage_customers"]
    out["intensity"] = out["events"] / out["customers"]
    return out.reset_index()


def transitions(ev: pd.DataFrame) -> pd.DataFrame:
    nxt = ev["touchpoint"].shift(-1)
    same = ev["customer_id"].eq(ev["customer_id"].shift(-1))
    secs = (ev["timestamp"].shift(-1) - ev["timestamp"]).dt.total_seconds()
    pairs = pd.DataFrame(
        {
            "source": ev["touchpoint"],
            "target": nxt,
            "customer_id": ev["customer_id"],
            "seconds": secs,
        }
    )[same]
    out = pairs.groupby(["source", "target"]).agg(
        events=("customer_id", "size"),
        customers=("customer_id", "nunique"),
        mean_seconds=("seconds", "mean"),
        median_seconds=("seconds", "median"),
    )
    out["probability"] = out["events"] / out.groupby(level=0)["events"].transform("sum")
    return out.reset_index()


def step_matrix(ev: pd.DataFrame, max_steps: int = 10) -> pd.DataFrame:
    step = ev.groupby("customer_id").cumcount() + 1
    n_paths = ev["customer_id"].nunique()
    sub = pd.DataFrame({"step": step, "touchpoint": ev["touchpoint"]})[step <= max_steps]
    counts = sub.groupby(["step", "touchpoint"]).size().unstack(fill_value=0)
    return counts / n_paths


def customer_features(ev: pd.DataFrame, as_of) -> pd.DataFrame:
    is_p = ev["touchpoint"].eq("purchase")
    fp = ev["timestamp"].where(is_p).groupby(ev["customer_id"]).transform("min")
    support = ev["touchpoint"].isin(["support_call", "support_email", "chat"]) & (
        ev["timestamp"] > fp
    )
    tmp = pd.DataFrame(
        {
            "customer_id": ev["customer_id"],
            "timestamp": ev["timestamp"],
            "p": is_p,
            "rev": ev["revenue"].fillna(0.0),
            "support": support,
            "lp": ev["timestamp"].where(is_p),
        }
    )
    for i, s in enumerate(STAGES):
        tmp[f"stage_{s}_events"] = ev["stage_code"].eq(i)
    for ch in ev["channel"].value_counts().index[:10]:
        tmp[f"channel_{ch}_share"] = ev["channel"].eq(ch)
    g = tmp.groupby("customer_id", sort=True)
    out = g.agg(
        frequency=("p", "size"),
        n_purchases=("p", "sum"),
        monetary=("rev", "sum"),
        support_contacts=("support", "sum"),
        last_event=("timestamp", "max"),
        last_purchase=("lp", "max"),
    )
    out = out.join(g[[c for c in tmp.columns if c.startswith("stage_")]].sum())
    out = out.join(g[[c for c in tmp.columns if c.startswith("channel_")]].mean())
    out["recency_days"] = (as_of - out["last_event"]).dt.total_seconds() / 86400
    return out
