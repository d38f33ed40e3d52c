"""Tables, CSV and plots from a results file (``jqodi report DB``).

* :func:`gap_table` — per solver entry and family: runs, feasibility rate, proven-optimal rate,
  median / p95 / max gap (in %) to the best proven optimum of the instance;
* :func:`runtime_table` — per sweep, axis position and solver entry: median and max runtime,
  epoch-option pairs, how many runs were optimal, timed out or failed;
* :func:`plot_runtime` — runtime against epoch-option pairs (K × options, summed over candidates) on
  log-log axes, one series per solver entry;
* :func:`plot_gap` — the gap distribution per solver entry.

The plot functions draw on an ``ax`` they are given (or on a new pyplot figure, in the caller's
backend, when none is) and return it; they never choose a backend. :func:`write_report` writes its
PNGs through :func:`save_plot`, on bare :class:`matplotlib.figure.Figure` objects that need no
backend at all.

The gap of a run is ``(objective - best) / best``, ``best`` the least objective an exact solver
proved optimal on that instance (the ``runs_gap`` view of :mod:`jqodi_opt.bench.db`); runs on
instances with no proven optimum have no gap. Runtime is the solver's build + solve time, or the
wall-clock time of a run that was killed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from jqodi_opt.bench.db import read_members, read_runs

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "by_sweep", "gap_table", "load", "markdown", "plot_gap", "plot_runtime", "read_members",
    "runtime_table", "save_plot", "write_report",
]  # fmt: skip


def load(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Stored runs with their gap, plus ``time_s`` (runtime, or wall time when killed)."""
    frame = read_runs(path)
    frame["time_s"] = frame["runtime_s"].where(frame["runtime_s"].notna(), frame["wall_time_s"])
    frame["has_plan"] = frame["objective"].notna()
    return frame


def by_sweep(frame: pd.DataFrame, members: pd.DataFrame | None) -> pd.DataFrame:
    """Runs listed under every sweep they belong to (a run shared by two sweeps is stored once)."""
    if members is None or members.empty:
        return frame
    keys = ["instance_hash", "solver", "params"]
    placed = ["suite", "sweep", "entry", "axis", "axis_index", "axis_value"]
    expanded = frame.drop(columns=placed).merge(members, on=keys, how="inner")
    unlisted = frame.merge(members[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    unlisted = unlisted[unlisted["_merge"] == "left_only"].drop(columns="_merge")
    return pd.concat([expanded, unlisted], ignore_index=True)


def _pct(values: pd.Series, q: float) -> float:
    values = values.dropna()
    return float(np.quantile(values, q)) * 100.0 if len(values) else math.nan


def gap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Gap statistics per solver entry and family, with an ``all`` family row per entry."""
    rows = []
    groups = list(frame.groupby(["entry", "family"], sort=True))
    groups += [((entry, "all"), part) for entry, part in frame.groupby("entry", sort=True)]
    for (entry, family), part in groups:
        with_gap = part["gap"].dropna()
        rows.append(
            {
                "solver": entry,
                "family": family,
                "runs": len(part),
                "feasible_%": 100.0 * part["has_plan"].mean(),
                "optimal_%": 100.0 * (part["status"] == "optimal").mean(),
                "with_optimum": len(with_gap),
                "gap_median_%": _pct(with_gap, 0.5),
                "gap_p95_%": _pct(with_gap, 0.95),
                "gap_max_%": float(with_gap.max()) * 100.0 if len(with_gap) else math.nan,
                "time_median_s": float(part["time_s"].median()),
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values(["family", "solver"], key=lambda s: s.replace("all", "~"))
    return table.reset_index(drop=True)


def runtime_table(frame: pd.DataFrame, members: pd.DataFrame | None = None) -> pd.DataFrame:
    """Runtime per size: per sweep, axis position and solver entry (``members``: see
    :func:`by_sweep`)."""
    frame = by_sweep(frame, members)
    rows = []
    keys = ["sweep", "axis", "axis_index", "axis_value", "entry"]
    part_frame = frame.assign(
        axis=frame["axis"].fillna("-"), axis_value=frame["axis_value"].fillna("")
    )
    for (sweep, axis, index, value, entry), part in part_frame.groupby(keys, sort=True):
        status = part["status"].value_counts()
        rows.append(
            {
                "sweep": sweep,
                "axis": axis,
                "position": int(index),
                "size": value,
                "solver": entry,
                "runs": len(part),
                "epoch_option_pairs": float(part["epoch_option_pairs"].median()),
                "time_median_s": float(part["time_s"].median()),
                "time_max_s": float(part["time_s"].max()),
                "optimal": int(status.get("optimal", 0)),
                "feasible": int(status.get("feasible", 0)),
                "time_limit": int(status.get("time_limit", 0)),
                "error": int(status.get("error", 0)),
                "peak_memory_mb": float(part["peak_memory_mb"].max()),
            }
        )
    return pd.DataFrame(rows)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the axes of a new pyplot figure (in the caller's backend) when None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, made = plt.subplots(figsize=figsize)
    return made


def plot_runtime(frame: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """Runtime against epoch-option pairs, log-log, per solver entry (× marks a time limit).

    Draws one scatter of finished runs per entry, a scatter of × for its runs stopped by a time
    limit (when it has any) and a line through its medians per quarter-decade of size (when there
    are two or more). Draws on ``ax``, or on a new pyplot figure when None; returns the axes.
    """
    data = frame[frame["time_s"].notna() & (frame["epoch_option_pairs"] > 0)]
    ax = _axes(ax, (8, 5.5))
    for i, (entry, part) in enumerate(data.groupby("entry", sort=True)):
        color = f"C{i % 10}"
        done = part[part["status"] != "time_limit"]
        limit = part[part["status"] == "time_limit"]
        ax.scatter(done["epoch_option_pairs"], done["time_s"].clip(lower=1e-4), s=14,
                   color=color, alpha=0.6, label=entry)  # fmt: skip
        if len(limit):
            ax.scatter(limit["epoch_option_pairs"], limit["time_s"], s=30, marker="x",
                       color=color, alpha=0.9)  # fmt: skip
        # median per quarter-decade of size (seeds of one size differ a little in K and options)
        bins = np.round(np.log10(done["epoch_option_pairs"].astype(float)) * 4) / 4
        medians = done.groupby(bins)["time_s"].median()
        if len(medians) > 1:
            ax.plot(10.0**medians.index, medians.clip(lower=1e-4).values, color=color, alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epoch-option pairs (sum over candidates of K × options)")
    ax.set_ylabel("runtime (s): build + solve; × = time limit")
    ax.set_title(title or "runtime against size")
    ax.grid(True, which="both", alpha=0.3)
    if len(data):
        ax.legend(fontsize=8, ncol=2)
    return ax


def plot_gap(frame: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """Gap (%) to the best proven optimum per solver entry: box plot with the points over it.

    One box and one scatter of the runs per entry, entries in name order on the x axis. Draws on
    ``ax``, or on a new pyplot figure when None; returns the axes.
    """
    data = frame[frame["gap"].notna()]
    entries = sorted(data["entry"].unique())
    ax = _axes(ax, (max(6.0, 0.9 * len(entries) + 2), 5.0))
    values = [100.0 * data.loc[data["entry"] == e, "gap"].to_numpy() for e in entries]
    if entries:
        ax.boxplot(values, whis=(5, 95), showfliers=False)
        ax.set_xticks(range(1, len(entries) + 1), entries, rotation=30, ha="right")
        rng = np.random.default_rng(0)
        for i, vals in enumerate(values, start=1):
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(vals)), vals, s=6, alpha=0.35, color="C0")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_ylabel("gap to the best proven optimum (%)")
    ax.set_title(title or "gap distribution (box: quartiles, whiskers: 5-95 %)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    return ax


def save_plot(
    draw: Callable[[Axes], Any], path: str | os.PathLike[str], figsize: tuple[float, float]
) -> None:
    """Draws with ``draw(ax)`` on a figure of its own and writes it to ``path`` (PNG, 120 dpi).

    The figure is a bare :class:`matplotlib.figure.Figure`, not a pyplot one: writing a file
    neither needs nor changes the caller's backend, and nothing is left open in pyplot.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    draw(fig.subplots())
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """A pandas table as a GitHub markdown table (numbers to ``digits`` significant digits)."""

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if isinstance(value, (float, np.floating)):
            if float(value).is_integer() and abs(value) < 1e15:
                return str(int(value))
            return f"{value:.{digits}g}"
        return str(value)

    head = "| " + " | ".join(str(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def write_report(
    frame: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    title: str,
    members: pd.DataFrame | None = None,
) -> list[Path]:
    """Writes ``report.md``, ``gap.csv``, ``runtime.csv``, ``runtime.png`` and ``gap.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gaps, times = gap_table(frame), runtime_table(frame, members)
    gaps.to_csv(out / "gap.csv", index=False)
    times.to_csv(out / "runtime.csv", index=False)
    save_plot(lambda ax: plot_runtime(frame, ax, title=f"{title}: runtime against size"),
              out / "runtime.png", (8, 5.5))  # fmt: skip
    entries = frame.loc[frame["gap"].notna(), "entry"].nunique()
    save_plot(lambda ax: plot_gap(frame, ax, title=f"{title}: gap to the best proven optimum"),
              out / "gap.png", (max(6.0, 0.9 * entries + 2), 5.0))  # fmt: skip
    machine = frame[["cpu_model", "cores", "platform"]].drop_duplicates()
    lines = [
        f"# {title}",
        "",
        f"{len(frame)} runs on {frame['instance_hash'].nunique()} instances; "
        f"package {', '.join(sorted(frame['package_version'].dropna().unique()))}.",
        "",
        "Machine(s): "
        + "; ".join(f"{r.cpu_model}, {r.cores} cores, {r.platform}" for r in machine.itertuples()),
        "",
        "## Gap to the best proven optimum",
        "",
        markdown(gaps),
        "",
        "![gap](gap.png)",
        "",
        "## Runtime per size",
        "",
        markdown(times),
        "",
        "![runtime](runtime.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return [
        out / name for name in ("report.md", "gap.csv", "runtime.csv", "gap.png", "runtime.png")
    ]
