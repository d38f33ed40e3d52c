"""Every table and figure of the "Inference benchmarks" section of benchmarks/README.md, from the
three results files, in one command (run from the repository root after the three suites)::

    python benchmarks/inference_report.py [--results benchmarks/results] [--readme README]

Reads ``mu2024.sqlite``, ``nicosanti2026.sqlite`` and ``inference-gap.sqlite`` under
``--results`` (those present; none present is an error) and writes under ``results/<suite>/``:

* ``nicosanti2026/``: ``chain.md``, ``dag.md`` (time per objective and the three together, with
  Nicosanti et al.'s time beside and the ratio), ``front.md`` (the complete exact front),
  ``servers.md`` (1-6 servers at 1,852 layers), ``targets.md`` (the issue's targets, measured and
  judged), ``phases.md`` (where the time of the 1,852 x 6 chain goes), ``limits.md`` (where each
  exact solver stops proving), ``scale.png``;
* ``mu2024/``: ``speedups.md`` (Mu et al.'s speed-up claims beside ours), ``optima.md`` (which
  set-ups have a proven optimum), ``fig6-*.png``, ``fig7-*.png``, ``fig8-*.png``, ``fig11-*.png``,
  ``latency.csv``;
* ``inference-gap/``: ``gap.md`` (gap distribution per method), ``by-sweep.md`` (median / max gap
  per sweep), ``exact.md`` (the exact solvers), ``gap.png``;
* every suite: ``summary.md`` (runs, statuses, when, on what) and ``runs.csv``; each ``.md`` table
  also as ``.csv``.

With ``--readme``, every block of that file between ``<!-- report: SUITE/NAME.md -->`` and
``<!-- /report -->`` is replaced by the file it names (the prose around the tables is not touched).

Runs: every run a suite listed (the ``members`` table) with its stored row; a listed run with no
row was dropped after a smaller size of its cell ran out the limit (or the suite was stopped
before it: ``summary.md`` counts them) and shows as ``dropped``. Times: ``compile_time_s +
runtime_s`` (compiling the instance, building the solver's model, solving, evaluating the plan
independently) — the wall time for a run that was killed — median over seeds of the runs that
proved. A cell reads ``1.23`` when every seed proved, ``1.23 (2/3)`` when two of three did (the
median of those), ``limit`` when none did, ``dropped`` when none ran.

The seeds' own figures beside ours are quoted with their source: Mu et al. 2024 §VI-D (the
speed-up ranges of Figs. 6-8 and 11) and Nicosanti et al. 2026's public scale-test results
(``src/Test/Results/ScaleTest/{static,random}_scale_test.csv`` of SimoneNicosanti/Dissertation:
``total_time`` — problem build, the latency, energy and weighted solves and post-processing —
averaged over their five runs per size).
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script: no display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from jqodi_opt.bench.db import read_members, read_runs

SUITES = ("mu2024", "nicosanti2026", "inference-gap")
OBJECTIVES = ("latency", "energy", "weighted")

# Nicosanti et al.'s mean total_time (s) per (nodes, servers), from their CSVs (see the docstring).
NICOSANTI_CHAIN = {
    (502, 3): 3.04, (502, 6): 14.16, (1102, 3): 10.45, (1102, 6): 69.88,
    (1552, 3): 17.29, (1552, 6): 156.80, (1852, 3): 26.16, (1852, 6): 208.06,
}  # fmt: skip
NICOSANTI_DAG = {
    (702, 3): 5.22, (702, 6): 77.69, (812, 3): 6.87, (812, 6): 101.64, (922, 3): 8.73,
    (922, 6): 228.51, (1032, 3): 10.28, (1032, 6): 260.27, (1142, 3): 12.21, (1142, 6): 191.05,
}  # fmt: skip
REFERENCE = {"chain": NICOSANTI_CHAIN, "dag": NICOSANTI_DAG}

# The targets (issue 12, "Targets"): seconds, and dp's speed-up over milp on chains.
TARGET_CHAIN_THREE_S = 3.0  # 1,852-layer chain x 6 servers: latency + energy + weighted
TARGET_CHAIN_FRONT_S = 30.0  # ... and its complete exact front
TARGET_DAG_EACH_S = 5.0  # 1,142-node DAG x 6 servers: each objective
TARGET_DP_OVER_MILP = 10.0  # dp >= 10x faster than milp on the same chain instances
CHAIN_TARGET = ("chain", 1852, 6)
DAG_TARGET = ("dag", 1142, 6)

LABELS = {
    "optimum": "proven optimum (best exact)",
    "qio": "qio (Mu et al.)",
    "all-local": "All_Local",
    "all-server": "All_Server",
    "neurosurgeon": "Neurosurgeon",
    "prune-partition": "Prune_Partition",
    "bottlenet": "BottleNet++",
    "dads": "DADS",
}
REGNET = "regnetx400mf-cifar10"
ALEXNET = "alexnet-cifar10"
MU_OTHERS = ["all-local", "all-server", "neurosurgeon", "prune-partition", "bottlenet"]
DROPPED = "dropped"
_RUN_KEYS = ["instance_hash", "solver", "params"]
_PLACED = ["suite", "sweep", "entry", "axis", "axis_index", "axis_value"]


# --------------------------------------------------------------------------------------------------
# loading and formatting


def load(path: Path) -> pd.DataFrame:
    """Every run the suite listed, with its stored row (status ``dropped`` when it has none).

    A run shared by two sweeps (stored once) appears under each. Adds the generator knobs of each
    instance as ``k_<knob>`` columns, its ``layers`` and ``servers`` (from the ``instances`` table,
    so dropped runs have them too), ``nodes`` (layers + input + output, Nicosanti et al.'s count),
    ``method`` (the registered solver), ``time_s`` and ``proven``.
    """
    runs = read_runs(path)
    members = read_members(path)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        instances = pd.read_sql_query(
            "SELECT instance_hash, instance_key, layers AS i_layers, servers AS i_servers "
            "FROM instances",
            connection,
        )
    instances = instances.drop_duplicates("instance_hash")
    knobs = pd.DataFrame([_knobs(h, key) for h, key in zip(
        instances["instance_hash"], instances["instance_key"], strict=True)])  # fmt: skip
    if members.empty:  # a file written before the members table: only stored runs
        frame = runs
    else:
        frame = members.merge(runs.drop(columns=_PLACED), on=_RUN_KEYS, how="left")
        frame["status"] = frame["status"].fillna(DROPPED)
    frame = frame.merge(instances.drop(columns="instance_key"), on="instance_hash", how="left")
    if not knobs.empty:
        frame = frame.merge(knobs, on="instance_hash", how="left")
    return with_derived(frame)


def _knobs(instance_hash: str, key: str) -> dict[str, object]:
    """An instance's family, seed and generator knobs (``k_<knob>``) from its spec key."""
    spec = json.loads(key)
    knobs = {f"k_{k}": v for k, v in spec["sizes"].items()}
    found = {"instance_hash": instance_hash, "i_family": spec["family"], "i_seed": spec["seed"]}
    return found | knobs


def with_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds ``family``/``seed``/``layers``/``servers`` (from the instance when the run has none:
    a dropped run), ``nodes``, ``method``, ``time_s`` and ``proven`` to a frame of runs."""
    frame = frame.copy()
    for column in ("family", "seed", "layers", "servers"):
        if f"i_{column}" in frame:
            frame[column] = frame[column].fillna(frame[f"i_{column}"])
    frame["nodes"] = frame["layers"] + 2  # their count includes the input and output pseudo-nodes
    frame["method"] = frame["solver"]
    solver_time = frame["runtime_s"].where(frame["runtime_s"].notna(), frame["wall_time_s"])
    frame["time_s"] = frame["compile_time_s"].fillna(0) + solver_time
    frame["proven"] = frame["status"] == "optimal"
    return frame


def markdown(frame: pd.DataFrame) -> str:
    """A pandas frame as a GitHub markdown table."""
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body]) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "—"
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def seconds(value: float) -> str:
    """A time in seconds, three significant digits (``—`` for none)."""
    return "—" if value is None or not np.isfinite(value) else f"{value:.3g}"


def time_cell(group: pd.DataFrame) -> str:
    """One cell of a time table: the median time of the runs that proved, ``(k/n)`` when only
    some did, ``limit`` when none did (``error`` etc. when that is what they ended in),
    ``dropped`` when none ran."""
    if group.empty:
        return ""
    ran = group[group["status"] != DROPPED]
    if ran.empty:
        return DROPPED
    ok = group[group["proven"]]
    if ok.empty:
        ends = sorted(set(ran["status"]) - {"time_limit"})
        return "/".join(["limit"] * ("time_limit" in set(ran["status"])) + ends)
    median = seconds(ok["time_s"].median())
    return median if len(ok) == len(group) else f"{median} ({len(ok)}/{len(group)})"


def distinct(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run key (a run listed by two sweeps is one run), a stored row before a
    dropped one."""
    dropped = (frame["status"] == DROPPED).rename("_dropped")
    ordered = frame.assign(_dropped=dropped).sort_values("_dropped", kind="stable")
    return ordered.drop_duplicates(_RUN_KEYS).drop(columns="_dropped")


def proven_time(group: pd.DataFrame) -> float:
    """Median time of ``group`` when every run in it proved, else NaN."""
    if group.empty or not group["proven"].all():
        return float("nan")
    return float(group["time_s"].median())


def as_int(value: object) -> int:
    """A group key (a number pandas types as Hashable) as an int."""
    return int(float(str(value)))


def nodes_label(nodes: float) -> str:
    """``1,852 (1,850)``: Nicosanti et al.'s node count and our layers."""
    return f"{int(nodes):,} ({int(nodes) - 2:,})"


def write_table(table: pd.DataFrame, out: Path, name: str, written: list[Path]) -> None:
    """``name.md`` and ``name.csv`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(markdown(table))
    table.to_csv(out / f"{name}.csv", index=False)
    written.append(out / f"{name}.md")


def summary(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """What a results file holds: runs listed, run, dropped, statuses, when and on what."""
    ran = frame[frame["status"] != DROPPED].drop_duplicates(_RUN_KEYS)
    statuses = ", ".join(f"{n} {s}" for s, n in ran["status"].value_counts().items())

    def values(column: str) -> str:
        present = ran[column].dropna().unique() if column in ran else []
        return ", ".join(sorted(str(int(v)) if isinstance(v, float) else str(v) for v in present))

    rows = [
        ("suite", name),
        ("runs listed (distinct)", f"{len(frame.drop_duplicates(_RUN_KEYS)):,}"),
        ("runs stored", f"{len(ran):,} ({statuses})"),
        ("runs dropped or not run", f"{int((frame['status'] == DROPPED).sum()):,}"),
        ("instances", f"{frame['instance_hash'].nunique():,}"),
        ("first / last run finished (UTC)",
         f"{ran['finished_at'].min()} / {ran['finished_at'].max()}" if len(ran) else "—"),
        ("package version", values("package_version")),
        ("CPU, cores", f"{values('cpu_model')}, {values('cores')}"),
        ("worker-seconds (sum of run wall times)", seconds(ran["wall_time_s"].sum())),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["", "value"])


# --------------------------------------------------------------------------------------------------
# Nicosanti et al. 2026


def scale_table(frame: pd.DataFrame, family: str) -> pd.DataFrame:
    """Per size, servers and solver: time per objective, the three together, the share proven,
    Nicosanti et al.'s time and ``theirs / ours`` (> 1: we are faster). ``three`` adds the three
    objectives' medians and needs every run of the three proven."""
    part = frame[frame["sweep"].isin([family, f"{family}-cpsat"])]
    reference = REFERENCE[family]
    rows = []
    for (nodes, servers, entry), group in part.groupby(["nodes", "servers", "entry"]):
        cells = {o: group[group["k_objective"] == o] for o in OBJECTIVES}
        times = [proven_time(cells[o]) for o in OBJECTIVES]
        three = float(sum(times)) if all(np.isfinite(times)) else float("nan")
        theirs = reference.get((int(nodes), int(servers)), float("nan"))
        rows.append({
            "nodes (layers)": nodes_label(nodes), "servers": int(servers), "solver": entry,
            **{f"{o} s": time_cell(cells[o]) for o in OBJECTIVES},
            "three s": seconds(three),
            "proven": f"{int(group['proven'].sum())}/{len(group)}",
            "theirs s": seconds(theirs),
            "theirs / ours": seconds(theirs / three) if three > 0 else "—",
        })  # fmt: skip
    return pd.DataFrame(rows)


def front_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The complete exact front per instance size: time (of the seeds that completed it), its
    points per seed (``+`` when the run stopped at the limit, with the points found so far)."""
    part = distinct(frame[frame["solver"] == "pareto"])
    rows = []
    for (family, nodes, servers, entry), group in part.groupby(
        ["family_name", "nodes", "servers", "entry"]
    ):
        ran = group[group["status"] != DROPPED].sort_values("seed")
        points = [
            f"{int(p)}{'' if ok else '+'}" if pd.notna(p) else "—"
            for p, ok in zip(ran["front_points"], ran["proven"], strict=True)
        ]
        rows.append({
            "instance": f"{family} {as_int(nodes):,} × {as_int(servers)}", "backend": entry,
            "time s": time_cell(group), "points per seed": ", ".join(points) or "—",
            "complete": f"{int(group['proven'].sum())}/{len(group)}",
        })  # fmt: skip
    return pd.DataFrame(rows)


def servers_table(frame: pd.DataFrame) -> pd.DataFrame:
    """1-6 servers at the largest chain (latency): time per solver and milp / dp per instance."""
    part = frame[frame["sweep"] == "chain-servers"]
    rows = []
    for servers, group in part.groupby("servers"):
        row: dict[str, object] = {"servers": int(servers)}
        for entry, runs in group.groupby("entry"):
            row[f"{entry} s"] = time_cell(runs)
        row["milp / dp (median)"] = seconds(ratio_median(group, "milp", "dp"))
        rows.append(row)
    return pd.DataFrame(rows)


def ratio_median(frame: pd.DataFrame, slow: str, fast: str) -> float:
    """Median over instances where both proved of ``time(slow) / time(fast)``."""
    pair = per_instance(frame, [slow, fast])
    return float((pair[slow] / pair[fast]).median()) if len(pair) else float("nan")


def per_instance(frame: pd.DataFrame, entries: list[str]) -> pd.DataFrame:
    """Proven runs' times, one row per instance, one column per entry; instances where every
    entry proved."""
    proven = frame[frame["proven"] & frame["entry"].isin(entries)]
    wide = proven.drop_duplicates(["instance_hash", "entry"]).pivot(
        index="instance_hash", columns="entry", values="time_s"
    )
    return wide.dropna() if set(entries) <= set(wide.columns) else wide.iloc[0:0]


def at(frame: pd.DataFrame, point: tuple[str, int, int]) -> pd.DataFrame:
    """The runs at one target point (family, nodes, servers)."""
    family, nodes, servers = point
    return distinct(frame[
        (frame["family_name"] == family) & (frame["nodes"] == nodes) & (frame["servers"] == servers)
    ])  # fmt: skip


def targets_tables(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The target points (1,852 x 6 chain, 1,142 x 6 DAG): times per solver, and the issue's
    targets measured and judged (``met`` / ``missed`` / ``not measured``)."""
    rows = []
    best: dict[str, tuple[float, str]] = {}
    for point in (CHAIN_TARGET, DAG_TARGET):
        part = at(frame, point)
        single = part[part["solver"] != "pareto"]
        for entry, group in single.groupby("entry"):
            cells = {o: group[group["k_objective"] == o] for o in OBJECTIVES}
            times = [proven_time(cells[o]) for o in OBJECTIVES]
            three = float(sum(times)) if all(np.isfinite(times)) else float("nan")
            theirs = REFERENCE[point[0]][point[1:]]
            if np.isfinite(three) and three < best.get(point[0], (np.inf, ""))[0]:
                best[point[0]] = (three, str(entry))
            rows.append({
                "instance": f"{point[0]} {point[1]:,} × {point[2]}", "solver": entry,
                **{o: time_cell(cells[o]) for o in OBJECTIVES}, "three": seconds(three),
                "theirs": seconds(theirs),
                "theirs / ours": seconds(theirs / three) if three > 0 else "—",
            })  # fmt: skip
        for entry, group in part[part["solver"] == "pareto"].groupby("entry"):
            rows.append({"instance": f"{point[0]} {point[1]:,} × {point[2]}", "solver": entry,
                         "front": time_cell(group)})  # fmt: skip
    times = pd.DataFrame(rows)

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else ("**met**" if ok else "**missed**")

    chain = at(frame, CHAIN_TARGET)
    dag = at(frame, DAG_TARGET)
    judged = []
    three, entry = best.get("chain", (float("nan"), ""))
    weighted = chain[(chain["k_objective"] == "weighted") & (chain["solver"] != "pareto")]
    alone = min(
        (t for _, g in weighted.groupby("entry") if np.isfinite(t := proven_time(g))),
        default=float("nan"),
    )
    judged.append((
        f"1,852-layer chain × 6: latency + energy + weighted proven ≤ {TARGET_CHAIN_THREE_S:g} s "
        "together (theirs 208 s)",
        (f"{seconds(three)} s ({entry}, three runs)" if entry else "not all three proven")
        + "; the weighted run alone (it proves both single-objective optima first, its payoff "
        f"table) {seconds(alone)} s",
        verdict(None if not np.isfinite(three) else three <= TARGET_CHAIN_THREE_S),
    ))  # fmt: skip
    fronts = chain[chain["solver"] == "pareto"]
    complete = fronts[fronts["proven"]]
    ran = fronts[fronts["status"] != DROPPED]
    front_ok = None
    if len(ran):
        front_ok = bool(fronts["proven"].all()) and proven_time(fronts) <= TARGET_CHAIN_FRONT_S
    points = ", ".join(str(int(p)) for p in complete["front_points"])
    front_time = time_cell(fronts)
    if not len(ran):
        front_text = "not run"
    elif complete.empty:
        front_text = f"{front_time}: no seed's front completed"
    else:
        front_text = f"{front_time} s (fronts of {points} points)"
    judged.append((
        f"the complete exact front of that chain ≤ {TARGET_CHAIN_FRONT_S:g} s",
        front_text,
        verdict(front_ok),
    ))  # fmt: skip
    singles = dag[dag["solver"] != "pareto"]
    each = {
        (entry, o): proven_time(group[group["k_objective"] == o])
        for entry, group in singles.groupby("entry") for o in OBJECTIVES
    }  # fmt: skip
    per_entry = {
        entry: max(each[(entry, o)] for o in OBJECTIVES) for entry in singles["entry"].unique()
    }
    finite = {e: t for e, t in per_entry.items() if np.isfinite(t)}
    dag_entry = min(finite, key=finite.__getitem__) if finite else ""
    judged.append((
        f"DAG 1,142 × 6: each objective proven ≤ {TARGET_DAG_EACH_S:g} s (theirs 191 s for three)",
        ", ".join(f"{o} {seconds(each[(dag_entry, o)])} s" for o in OBJECTIVES) + f" ({dag_entry})"
        if dag_entry else "not proven",
        verdict(None if not dag_entry else finite[dag_entry] <= TARGET_DAG_EACH_S),
    ))  # fmt: skip
    chains = frame[(frame["family_name"] == "chain") & (frame["solver"] != "pareto")]
    pair = per_instance(chains, ["milp", "dp"])
    ratio = pair["milp"] / pair["dp"]
    at_target = per_instance(chain, ["milp", "dp"])
    judged.append((
        f"`dp` ≥ {TARGET_DP_OVER_MILP:g}× faster than `milp` on the same chains",
        f"median milp / dp {seconds(ratio.median())}× over {len(ratio)} instances "
        f"(range {seconds(ratio.min())}–{seconds(ratio.max())}×); at 1,852 × 6: "
        f"{seconds((at_target['milp'] / at_target['dp']).median())}×",
        verdict(None if ratio.empty else bool(ratio.median() >= TARGET_DP_OVER_MILP)),
    ))  # fmt: skip
    return times, pd.DataFrame(judged, columns=["target", "measured", "verdict"])


def phases_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Where the time of the 1,852 x 6 chain goes, per solver and objective (medians of the
    proven runs): compiling the instance, building the model, solving; the total the tables use
    (compile + build + solve); and the run's wall clock (which adds starting the process,
    generating the instance and evaluating the plan independently)."""
    part = at(frame, CHAIN_TARGET)
    part = part[part["proven"] & (part["solver"] != "pareto")]
    rows = []
    for (entry, objective), group in part.groupby(["entry", "k_objective"]):
        compile_s, build, solve, wall = (
            group[c].median() for c in ("compile_time_s", "build_time_s", "solve_time_s",
                                        "wall_time_s")
        )  # fmt: skip
        rows.append({
            "solver": entry, "objective": objective, "compile s": compile_s, "build s": build,
            "solve s": solve, "total s": group["time_s"].median(), "wall s": wall,
        })  # fmt: skip
    return pd.DataFrame(rows)


def limits_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Where each exact solver stops proving: per family, solver, objective and servers, the
    largest size at which every seed proved and the first at which one did not."""
    part = frame[frame["sweep"].isin(["chain", "dag", "chain-cpsat", "dag-cpsat"])]
    front = frame[frame["sweep"].isin(["chain-front", "dag-front", "chain-front-target"])]
    both = distinct(pd.concat([part, front.assign(k_objective="front")]))
    rows = []
    keys = ["family_name", "entry", "k_objective", "servers"]
    for (family, entry, objective, servers), group in both.groupby(keys):
        sizes = group.groupby("nodes")["proven"].agg(["all", "size"])
        proven = [as_int(n) for n, row in sizes.iterrows() if row["all"]]
        failed = [as_int(n) for n, row in sizes.iterrows() if not row["all"]]
        first = min(failed) if failed else None
        statuses = group[group["nodes"] == first]["status"] if first else pd.Series(dtype=str)
        rows.append({
            "family": family, "solver": entry, "objective": objective, "servers": as_int(servers),
            "sizes with every seed proven": f"{len(proven)} of {len(sizes)}",
            "largest such size (nodes)": f"{max(proven):,}" if proven else "none",
            "smallest size with a seed not proven": "—" if first is None else (
                f"{first:,} ({', '.join(f'{n} {s}' for s, n in statuses.value_counts().items())})"
            ),
        })  # fmt: skip
    return pd.DataFrame(rows)


def plot_scale(frame: pd.DataFrame, path: Path) -> None:
    """Latency + energy + weighted (every run proven) against nodes, ours and Nicosanti et al.'s,
    chains and DAGs, log time axis."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, family in zip(axes, ("chain", "dag"), strict=True):
        part = frame[(frame["sweep"] == family)]
        for (entry, servers), group in part.groupby(["entry", "servers"]):
            points = []
            for nodes, runs in group.groupby("nodes"):
                times = [proven_time(runs[runs["k_objective"] == o]) for o in OBJECTIVES]
                if all(np.isfinite(times)):
                    points.append((nodes, sum(times)))
            if points:
                ax.plot(*zip(*points, strict=True), marker="o",
                        label=f"ours: {entry}, {int(servers)} servers")  # fmt: skip
        for servers in (3, 6):
            ref = sorted((n, t) for (n, s), t in REFERENCE[family].items() if s == servers)
            ax.plot(*zip(*ref, strict=True), "k--" if servers == 6 else "k:",
                    label=f"Nicosanti et al., {servers} servers")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("nodes (layers + input + output)")
        ax.set_ylabel("latency + energy + weighted, s")
        ax.set_title(f"{family}s (only sizes where all three proved)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def nicosanti_report(frame: pd.DataFrame, out: Path) -> list[Path]:
    """Every Nicosanti table and the scale plot; returns the files written."""
    frame = frame.assign(family_name=frame["family"])
    written: list[Path] = []
    for family in ("chain", "dag"):
        table = scale_table(frame, family)
        if not table.empty:
            write_table(table, out, family, written)
    for name, table in (
        ("front", front_table(frame)),
        ("servers", servers_table(frame)),
        ("phases", phases_table(frame)),
        ("limits", limits_table(frame)),
    ):
        if not table.empty:
            write_table(table, out, name, written)  # fmt: skip
    times, judged = targets_tables(frame)
    if not times.empty:
        out.mkdir(parents=True, exist_ok=True)
        (out / "targets.md").write_text(markdown(times.fillna("")) + "\n" + markdown(judged))
        times.to_csv(out / "targets.csv", index=False)
        written.append(out / "targets.md")
    plot_scale(frame, out / "scale.png")
    written.append(out / "scale.png")
    return written


# --------------------------------------------------------------------------------------------------
# Mu et al. 2024


def mu_latency(frame: pd.DataFrame) -> pd.DataFrame:
    """One latency per (sweep, model, device, point, method): ``optimum`` the least latency an
    exact solver proved (its unproven plans left out), ``qio`` the median of its seeds."""
    ok = frame[frame["latency_s"].notna()].copy()
    ok["point"] = ok["axis_value"].str.split("=").str[1]
    ok["sweep"] = ok["sweep"].str.split("-").str[0]  # links-alexnet -> links
    ok = ok[(ok["exact"] != 1) | ok["proven"]].copy()
    exact = ok["exact"] == 1
    ok.loc[exact, "method"] = "optimum"
    keys = ["sweep", "k_model", "k_device", "point", "method"]
    median = ok[~exact].groupby(keys, as_index=False)["latency_s"].median()
    least = ok[exact].groupby(keys, as_index=False)["latency_s"].min()
    return pd.concat([median, least], ignore_index=True)


def mu_optima(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model and sweep: set-ups with a proven optimum, and which exact solver proved them."""
    rows = []
    part = frame.assign(group=frame["sweep"].str.split("-").str[0])
    for (model, sweep), group in part.groupby(["k_model", "group"]):
        exact = group[group["exact"] == 1]
        setups = group["instance_hash"].nunique()
        proven = exact[exact["proven"]]
        tried = exact.groupby("entry")["instance_hash"].nunique()
        by_entry = ", ".join(
            f"{entry} {runs['instance_hash'].nunique()}/{tried[entry]} "
            f"(median {seconds(runs['time_s'].median())} s)"
            for entry, runs in proven.groupby("entry")
        )
        rows.append({
            "model": model, "sweep": sweep, "set-ups": setups,
            "with a proven optimum": proven["instance_hash"].nunique(),
            "proved by (of those run)": by_entry or "none",
        })  # fmt: skip
    return pd.DataFrame(rows)


def mu_figures(lat: pd.DataFrame, out: Path) -> list[Path]:
    """Figs. 6 (per link), 7-8 (per rate) and 11 (per SNR) reproduced from ``mu_latency``."""
    out.mkdir(parents=True, exist_ok=True)
    methods = [m for m in LABELS if m in set(lat["method"])]
    written = []
    links = ["3g", "4g", "5g", "wifi"]
    for model in sorted(lat["k_model"].unique()):
        part = lat[(lat["sweep"] == "links") & (lat["k_model"] == model)]
        if part.empty:
            continue
        fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
        width = 0.8 / max(len(methods), 1)
        for ax, device in zip(axes, ["pi3b", "pi4b", "tk1"], strict=True):
            for j, method in enumerate(methods):
                rows = part[(part["k_device"] == device) & (part["method"] == method)]
                values = [rows[rows["point"] == link]["latency_s"].min() for link in links]
                ax.bar(np.arange(4) + j * width, values, width, label=LABELS[method])
            ax.set_xticks(np.arange(4) + 0.4 - width / 2, [x.upper() for x in links])
            ax.set_yscale("log")
            ax.set_title(device)
        axes[0].set_ylabel("latency (s)")
        axes[-1].legend(fontsize=7)
        fig.suptitle(f"Fig. 6 reproduced: latency vs link, {model}")
        fig.tight_layout()
        written.append(out / f"fig6-{model}.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    specs = [("fig7", "rate", ALEXNET), ("fig8", "rate", REGNET), ("fig11", "snr", ALEXNET)]
    for label, sweep, model in specs:
        part = lat[(lat["sweep"] == sweep) & (lat["k_model"] == model)]
        if part.empty:
            continue
        devices = sorted(part["k_device"].unique(), key=["pi3b", "pi4b", "tk1"].index)
        fig, axes = plt.subplots(1, len(devices), figsize=(6 * len(devices), 4), squeeze=False)
        for ax, device in zip(axes[0], devices, strict=True):
            for method in methods:
                rows = part[(part["k_device"] == device) & (part["method"] == method)].copy()
                rows["x"] = rows["point"].astype(float)
                rows = rows.sort_values("x")
                style = "-" if method in ("optimum", "qio") else "--"
                ax.plot(rows["x"], rows["latency_s"], style, marker="o", ms=3,
                        label=LABELS[method])  # fmt: skip
            if sweep == "rate":
                ax.set_xscale("log")
                ax.set_xlabel("uplink rate (Mbit/s)")
            else:
                ax.set_xlabel("SNR (dB), 1 MHz Shannon link")
            ax.set_yscale("log")
            ax.set_ylabel("latency (s)")
            ax.set_title(f"{model}, {device}")
        axes[0][-1].legend(fontsize=7)
        fig.tight_layout()
        written.append(out / f"{label}-{model}.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


def _span(values: pd.Series) -> str:
    values = values.dropna()
    return f"{values.min():.3g}–{values.max():.3g}× (n={len(values)})" if len(values) else "—"


def mu_speedups(lat: pd.DataFrame) -> pd.DataFrame:
    """The paper's speed-up ranges (Mu et al. §VI-D) computed from ours, one row per claim:
    min–max over the points of the sweep, and how many points."""
    wide = lat.pivot_table(
        index=["sweep", "k_model", "k_device", "point"], columns="method", values="latency_s"
    ).reset_index()
    for method in ["optimum", "qio", *MU_OTHERS]:
        if method not in wide:
            wide[method] = np.nan
    rows = []
    alex = wide[(wide["sweep"] == "links") & (wide["k_model"] == ALEXNET)]
    pi3 = alex[alex["k_device"] == "pi3b"]
    g3 = pi3[pi3["point"] == "3g"]
    rows.append(("Fig. 6(a) Pi 3B+, 3G: Partition vs All_Local, All_Server", "2–3.7×",
                 _span(pd.concat([g3["all-local"] / g3["neurosurgeon"],
                                  g3["all-server"] / g3["neurosurgeon"]]))))  # fmt: skip
    rest = pi3[pi3["point"] != "3g"]
    rows.append(("Fig. 6(a) Pi 3B+, 4G/5G/WiFi: Partition vs All_Local", "8.5–9.7×",
                 _span(rest["all-local"] / rest["neurosurgeon"])))  # fmt: skip
    pi4 = alex[alex["k_device"] == "pi4b"]
    rows.append(("Fig. 6(b) Pi 4B: Partition vs All_Local, All_Server", "1.2–6.4×",
                 _span(pd.concat([pi4["all-local"] / pi4["neurosurgeon"],
                                  pi4["all-server"] / pi4["neurosurgeon"]]))))  # fmt: skip
    tk1 = alex[alex["k_device"] == "tk1"]
    rows.append(("Fig. 6(c) TK1: Partition vs All_Server", "13–35×",
                 _span(tk1["all-server"] / tk1["neurosurgeon"])))  # fmt: skip
    big = "over 10^k× (the exponent is unreadable in our copy)"
    claims = [
        ("Fig. 7(a) AlexNet, Pi 3B+", "rate", ALEXNET, "pi3b", "1.1–2.2×", "14.5–198×"),
        ("Fig. 7(b) AlexNet, TK1", "rate", ALEXNET, "tk1", "1.1–3.1×", f"51.2× – {big}"),
        ("Fig. 8(a) RegNet, Pi 3B+", "rate", REGNET, "pi3b", "1.1–2.7×", "46.4–141×"),
        ("Fig. 8(b) RegNet, TK1", "rate", REGNET, "tk1", "1.1–3.2×", f"47.4× – {big}"),
        ("Fig. 11 AlexNet, Pi 3B+", "snr", ALEXNET, "pi3b", "1.02–1.5×", "11.0–25.5×"),
    ]
    for text, sweep, model, device, second, worst in claims:
        part = wide[(wide["sweep"] == sweep) & (wide["k_model"] == model)
                    & (wide["k_device"] == device)]  # fmt: skip
        if part.empty:
            continue
        others = part[MU_OTHERS]
        rows.append((f"{text}: qio vs the second-best method", second,
                     _span(others.min(axis=1) / part["qio"])))  # fmt: skip
        rows.append((f"{text}: qio vs the worst method", worst,
                     _span(others.max(axis=1) / part["qio"])))  # fmt: skip
        rows.append((f"{text}: the proven optimum vs the second-best method", "—",
                     _span(others.min(axis=1) / part["optimum"])))  # fmt: skip
        rows.append((f"{text}: qio's latency over the proven optimum", "—",
                     _span(part["qio"] / part["optimum"])))  # fmt: skip
    return pd.DataFrame(rows, columns=["claim (Mu et al. §VI-D)", "theirs", "ours"])


def mu_report(frame: pd.DataFrame, out: Path) -> list[Path]:
    """Figures, the speed-up claims and the optima coverage; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    lat = mu_latency(frame)
    lat.to_csv(out / "latency.csv", index=False)
    written = mu_figures(lat, out)
    write_table(mu_speedups(lat), out, "speedups", written)
    write_table(mu_optima(frame), out, "optima", written)
    return written


# --------------------------------------------------------------------------------------------------
# heuristics against proven optima


def gap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method, over the instances with a proven optimum: share with no plan, share at the
    optimum, median / p90 / max gap (%), median time; exact methods first."""
    proven = frame[frame["best_optimum"].notna() & (frame["status"] != DROPPED)]
    rows = []
    for entry, part in proven.groupby("entry"):
        gap = part["gap"].dropna() * 100
        rows.append({
            "method": entry, "exact": bool(part["exact"].max()),
            "instances": part["instance_hash"].nunique(),
            "no plan": f"{part['objective'].isna().mean():.0%}",
            "at optimum": f"{(gap <= 1e-4).sum() / max(len(part), 1):.0%}",
            "median gap %": gap.median() if len(gap) else np.nan,
            "p90 gap %": gap.quantile(0.9) if len(gap) else np.nan,
            "max gap %": gap.max() if len(gap) else np.nan,
            "median time s": part["time_s"].median(),
        })  # fmt: skip
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).sort_values(["exact", "median gap %"], ascending=[False, True])
    return table.reset_index(drop=True)


def gap_by_sweep(frame: pd.DataFrame) -> pd.DataFrame:
    """Median / max gap (%) per sweep and heuristic method (instances with a proven optimum)."""
    heuristic = frame[(frame["exact"] == 0) & frame["gap"].notna()]
    table = heuristic.groupby(["sweep", "entry"])["gap"].agg(["median", "max", "size"])
    table = (table * [100, 100, 1]).reset_index()
    table.columns = ["sweep", "method", "median gap %", "max gap %", "runs"]
    return table


def exact_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per exact solver and sweep: runs, proven, timed out, refused (no plan otherwise), median
    time of the proven; the largest relative disagreement between two proven optima."""
    exact = frame[(frame["exact"] == 1) & (frame["status"] != DROPPED)]
    proven = exact[exact["proven"]]
    spread = proven.groupby("instance_hash")["objective"].agg(lambda s: s.max() / s.min() - 1)
    rows = []
    for (sweep, entry), part in exact.groupby(["sweep", "entry"]):
        statuses = part["status"].value_counts()
        mine = spread.reindex(part[part["proven"]]["instance_hash"]).dropna()
        rows.append({
            "sweep": sweep, "solver": entry, "runs": len(part),
            "proven": int(statuses.get("optimal", 0)),
            "time limit": int(statuses.get("time_limit", 0)),
            "other": ", ".join(f"{n} {s}" for s, n in statuses.items()
                               if s not in ("optimal", "time_limit")) or "—",
            "median time s (proven)": part[part["proven"]]["time_s"].median(),
            "max disagreement": mine.max() if len(mine) else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)


def plot_gap(frame: pd.DataFrame, path: Path) -> None:
    """The gap's cumulative distribution per heuristic method (log gap axis)."""
    proven = frame[frame["best_optimum"].notna() & (frame["exact"] == 0)]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for entry, part in proven.groupby("entry"):
        gap = np.sort(part["gap"].dropna().to_numpy() * 100)
        if len(gap):
            ax.step(np.maximum(gap, 1e-4), np.arange(1, len(gap) + 1) / len(part), where="post",
                    label=entry)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("gap to the proven optimum (%), 1e-4 = at the optimum")
    ax.set_ylabel("share of instances")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def gap_report(frame: pd.DataFrame, out: Path) -> list[Path]:
    """The gap tables and plot; returns the files written."""
    written: list[Path] = []
    for name, table in (
        ("gap", gap_table(frame)),
        ("by-sweep", gap_by_sweep(frame)),
        ("exact", exact_table(frame)),
    ):
        if not table.empty:
            write_table(table, out, name, written)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    plot_gap(frame, out / "gap.png")
    written.append(out / "gap.png")
    return written


# --------------------------------------------------------------------------------------------------
# README


_BLOCK = re.compile(r"(<!-- report: (?P<name>[\w./-]+) -->\n)(?P<body>.*?)(<!-- /report -->)", re.S)


def splice(text: str, results: Path) -> tuple[str, list[str]]:
    """``text`` with every ``<!-- report: NAME -->`` … ``<!-- /report -->`` block's body replaced
    by the file ``results/NAME``; returns it and the names that had no file (left as they were)."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        source = results / match["name"]
        if not source.is_file():
            missing.append(match["name"])
            return match[0]
        return f"{match[1]}{source.read_text()}{match[4]}"

    return _BLOCK.sub(replace, text), missing


# --------------------------------------------------------------------------------------------------


def report(results: Path, suites: Iterable[str] = SUITES) -> list[Path]:
    """Every table and figure of the suites whose results file is present; the files written."""
    written: list[Path] = []
    for name in suites:
        path = results / f"{name}.sqlite"
        if not path.exists():
            print(f"{path}: not found, skipped", file=sys.stderr)
            continue
        frame = load(path)
        out = results / name
        out.mkdir(parents=True, exist_ok=True)
        write_table(summary(frame, name), out, "summary", written)
        frame[frame["status"] != DROPPED].to_csv(out / "runs.csv", index=False)
        if name == "mu2024":
            written += mu_report(frame, out)
        elif name == "nicosanti2026":
            written += nicosanti_report(frame, out)
        else:
            written += gap_report(frame, out)
    return written


def main(argv: list[str] | None = None) -> int:
    """The command line: write everything, optionally splice the tables into the README."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--readme", type=Path, help="splice the tables into this README")
    args = parser.parse_args(argv)
    written = report(args.results)
    if not written:
        print(f"{args.results}: none of {', '.join(SUITES)}.sqlite found", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    if args.readme is not None:
        text, missing = splice(args.readme.read_text(), args.results)
        args.readme.write_text(text)
        print(f"spliced the tables into {args.readme}")
        for name in missing:
            print(f"{args.readme}: no {args.results / name}: that block left as it was")
    return 0


if __name__ == "__main__":
    sys.exit(main())
