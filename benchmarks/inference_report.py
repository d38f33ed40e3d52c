"""Figures and tables of the inference benchmarks for benchmarks/README.md (run from the repository
root after the three suites)::

    python benchmarks/inference_report.py [--results benchmarks/results]

Reads ``mu2024.sqlite``, ``nicosanti2026.sqlite`` and ``inference-gap.sqlite`` (those present),
writes the plots and CSV tables under ``results/<suite>/`` and prints the markdown tables.

The seeds' own figures beside ours are quoted here with their source: Mu et al. 2024 §VI-D (the
speed-up ranges of Figs. 6-8 and 11) and Nicosanti et al. 2026's public scale-test results
(``src/Test/Results/ScaleTest/{static,random}_scale_test.csv`` of SimoneNicosanti/Dissertation:
``total_time`` — problem build, the latency, energy and weighted solves and post-processing —
averaged over their five runs per size).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script: no display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from jqodi_opt.bench.db import read_runs

# Nicosanti et al.'s mean total_time (s) per (nodes, servers), from their CSVs (see the docstring).
NICOSANTI_CHAIN = {
    (502, 3): 3.04, (502, 6): 14.16, (1102, 3): 10.45, (1102, 6): 69.88,
    (1552, 3): 17.29, (1552, 6): 156.80, (1852, 3): 26.16, (1852, 6): 208.06,
}  # fmt: skip
NICOSANTI_DAG = {
    (702, 3): 5.22, (702, 6): 77.69, (812, 3): 6.87, (812, 6): 101.64, (922, 3): 8.73,
    (922, 6): 228.51, (1032, 3): 10.28, (1032, 6): 260.27, (1142, 3): 12.21, (1142, 6): 191.05,
}  # fmt: skip

LABELS = {
    "optimum": "proven optimum (dp / cpsat)",
    "milp": "milp",
    "qio": "qio (Mu et al.)",
    "all-local": "All_Local",
    "all-server": "All_Server",
    "neurosurgeon": "Neurosurgeon",
    "prune-partition": "Prune_Partition",
    "bottlenet": "BottleNet++",
    "dads": "DADS",
}
REGNET = "regnetx400mf-cifar10"
MU_OTHERS = ["all-local", "all-server", "neurosurgeon", "prune-partition", "bottlenet"]


def load(path: Path) -> pd.DataFrame:
    """Runs with their gap, plus the generator knobs of each instance as ``k_<knob>`` columns."""
    runs = read_runs(path)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        keys = dict(connection.execute("SELECT instance_hash, instance_key FROM instances"))
    knobs = pd.DataFrame(
        [{"instance_hash": h, **{f"k_{k}": v for k, v in json.loads(key)["sizes"].items()}}
         for h, key in keys.items()]
    )  # fmt: skip
    runs = runs.merge(knobs, on="instance_hash", how="left")
    runs["method"] = runs["solver"]
    solver_time = runs["runtime_s"].fillna(runs["wall_time_s"])
    runs["time_s"] = runs["compile_time_s"].fillna(0) + solver_time
    return runs


def markdown(frame: pd.DataFrame) -> str:
    """A pandas frame as a GitHub markdown table."""
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def _cell(value: object) -> str:
    if isinstance(value, float):
        if np.isnan(value):
            return "—"
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


# --------------------------------------------------------------------------------------------------
# Mu et al. 2024


def mu_latency(runs: pd.DataFrame) -> pd.DataFrame:
    """One latency per (sweep, model, device, point, method): qio as the median of its seeds."""
    ok = runs[runs["latency_s"].notna()].copy()
    ok["point"] = ok["axis_value"].str.split("=").str[1]
    ok["sweep"] = ok["sweep"].str.split("-").str[0]  # links-alexnet -> links
    # the proven optimum: dp (AlexNet) or cpsat (RegNet) where it proved; an unproven exact plan
    # is left out of the figures
    exact = ok["method"].isin(["dp", "cpsat"])
    ok = ok[~exact | (ok["status"] == "optimal")].copy()
    ok["method"] = ok["method"].replace({"dp": "optimum", "cpsat": "optimum"})
    keys = ["sweep", "k_model", "k_device", "point", "method"]
    return ok.groupby(keys, as_index=False)["latency_s"].median()


def mu_figures(runs: pd.DataFrame, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    lat = mu_latency(runs)
    lat.to_csv(out / "latency.csv", index=False)
    methods = [m for m in LABELS if m in set(lat["method"])]
    written = []
    # Fig. 6: latency per link, per device (one figure per model)
    links = ["3g", "4g", "5g", "wifi"]
    for model in sorted(lat["k_model"].unique()):
        part = lat[(lat["sweep"] == "links") & (lat["k_model"] == model)]
        if part.empty:
            continue
        fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
        for ax, device in zip(axes, ["pi3b", "pi4b", "tk1"], strict=True):
            width = 0.8 / len(methods)
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
        name = out / f"fig6-{model}.png"
        fig.savefig(name, dpi=110)
        plt.close(fig)
        written.append(str(name))
    # Figs. 7 (AlexNet), 8 (RegNet): latency vs rate, Pi 3B+ and TK1; Fig. 11: vs SNR
    specs = [("fig7", "rate", "alexnet-cifar10"), ("fig8", "rate", "regnetx400mf-cifar10"),
             ("fig11", "snr", "alexnet-cifar10")]  # fmt: skip
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
        name = out / f"{label}-{model}.png"
        fig.savefig(name, dpi=110)
        plt.close(fig)
        written.append(str(name))
    return written


def mu_speedups(runs: pd.DataFrame) -> pd.DataFrame:
    """The paper's speed-up ranges computed from ours (Mu et al. §VI-D), one row per claim."""
    lat = mu_latency(runs)
    wide = lat.pivot_table(
        index=["sweep", "k_model", "k_device", "point"], columns="method", values="latency_s"
    ).reset_index()
    rows = []

    def span(values: pd.Series) -> str:
        values = values.dropna()
        return f"{values.min():.3g}–{values.max():.3g}×" if len(values) else "—"

    alex = wide[(wide["sweep"] == "links") & (wide["k_model"] == "alexnet-cifar10")]
    pi3 = alex[alex["k_device"] == "pi3b"]
    g3 = pi3[pi3["point"] == "3g"]
    rows.append(("Fig. 6(a) Pi 3B+, 3G: Partition vs All_Local, All_Server", "2–3.7×",
                 span(pd.concat([g3["all-local"] / g3["neurosurgeon"],
                                 g3["all-server"] / g3["neurosurgeon"]]))))  # fmt: skip
    rest = pi3[pi3["point"] != "3g"]
    rows.append(("Fig. 6(a) Pi 3B+, 4G/5G/WiFi: Partition vs All_Local", "8.5–9.7×",
                 span(rest["all-local"] / rest["neurosurgeon"])))  # fmt: skip
    pi4 = alex[alex["k_device"] == "pi4b"]
    rows.append(("Fig. 6(b) Pi 4B: Partition vs All_Local, All_Server", "1.2–6.4×",
                 span(pd.concat([pi4["all-local"] / pi4["neurosurgeon"],
                                 pi4["all-server"] / pi4["neurosurgeon"]]))))  # fmt: skip
    tk1 = alex[alex["k_device"] == "tk1"]
    rows.append(("Fig. 6(c) TK1: Partition vs All_Server", "13–35×",
                 span(tk1["all-server"] / tk1["neurosurgeon"])))  # fmt: skip
    big = "over 10^k× (the exponent is unreadable in our copy)"
    claims = [
        ("Fig. 7(a) AlexNet, Pi 3B+", "rate", "alexnet-cifar10", "pi3b", "1.1–2.2×", "14.5–198×"),
        ("Fig. 7(b) AlexNet, TK1", "rate", "alexnet-cifar10", "tk1", "1.1–3.1×", f"51.2× – {big}"),
        ("Fig. 8(a) RegNet, Pi 3B+", "rate", REGNET, "pi3b", "1.1–2.7×", "46.4–141×"),
        ("Fig. 8(b) RegNet, TK1", "rate", REGNET, "tk1", "1.1–3.2×", f"47.4× – {big}"),
        ("Fig. 11 AlexNet, Pi 3B+", "snr", "alexnet-cifar10", "pi3b", "1.02–1.5×", "11.0–25.5×"),
    ]
    for text, sweep, model, device, second, worst in claims:
        part = wide[(wide["sweep"] == sweep) & (wide["k_model"] == model)
                    & (wide["k_device"] == device)]  # fmt: skip
        if part.empty or "qio" not in part:
            continue
        others = part[[m for m in MU_OTHERS if m in part]]
        rows.append((f"{text}: qio vs the second-best method", second,
                     span(others.min(axis=1) / part["qio"])))  # fmt: skip
        rows.append((f"{text}: qio vs the worst method", worst,
                     span(others.max(axis=1) / part["qio"])))  # fmt: skip
        if "optimum" in part:
            rows.append((f"{text}: the proven optimum vs the second-best method", "—",
                         span(others.min(axis=1) / part["optimum"])))  # fmt: skip
            rows.append((f"{text}: qio's latency over the proven optimum", "—",
                         span(part["qio"] / part["optimum"])))  # fmt: skip
    return pd.DataFrame(rows, columns=["claim (Mu et al. §VI-D)", "theirs", "ours"])


# --------------------------------------------------------------------------------------------------
# Nicosanti et al. 2026


def nicosanti_tables(runs: pd.DataFrame, out: Path) -> dict[str, pd.DataFrame]:
    out.mkdir(parents=True, exist_ok=True)
    runs = runs.copy()
    runs["nodes"] = runs["layers"] + 2  # their count includes the input and output pseudo-nodes
    runs["proven"] = runs["status"] == "optimal"
    tables = {}
    for sweep, reference in (("chain", NICOSANTI_CHAIN), ("dag", NICOSANTI_DAG)):
        part = runs[runs["sweep"].isin([sweep, f"{sweep}-cpsat"])]
        if part.empty:
            continue
        per = (
            part.groupby(["nodes", "k_servers", "entry", "k_objective"])
            .agg(time_s=("time_s", "median"), proven=("proven", "mean"), n=("proven", "size"))
            .reset_index()
        )
        rows = []
        for (nodes, servers, entry), group in per.groupby(["nodes", "k_servers", "entry"]):
            times = dict(zip(group["k_objective"], group["time_s"], strict=True))
            proven = dict(zip(group["k_objective"], group["proven"], strict=True))
            three = sum(times.get(o, np.nan) for o in ("latency", "energy", "weighted"))
            theirs = reference.get((int(nodes), int(servers)), np.nan)
            rows.append({
                "nodes (layers)": f"{nodes:,} ({nodes - 2:,})", "servers": int(servers),
                "solver": entry,
                "latency s": times.get("latency", np.nan), "energy s": times.get("energy", np.nan),
                "weighted s": times.get("weighted", np.nan), "three s": three,
                "proven": f"{min(proven.values()):.0%}",
                "theirs s": theirs, "theirs / ours": theirs / three if three > 0 else np.nan,
            })  # fmt: skip
        table = pd.DataFrame(rows)
        table.to_csv(out / f"{sweep}.csv", index=False)
        tables[sweep] = table
    front = runs[runs["front_points"].notna()]
    if not front.empty:
        table = (
            front.groupby(["sweep", "nodes", "k_servers", "entry"])
            .agg(time_s=("time_s", "median"), points=("front_points", "median"),
                 complete=("proven", "mean"))
            .reset_index()
        )  # fmt: skip
        table.to_csv(out / "front.csv", index=False)
        tables["front"] = table
    servers = runs[runs["sweep"] == "chain-servers"]
    if not servers.empty:
        table = servers.pivot_table(index="k_servers", columns="entry", values="time_s",
                                    aggfunc="median").reset_index()  # fmt: skip
        table.to_csv(out / "chain-servers.csv", index=False)
        tables["chain-servers"] = table
    # dp against milp on the same chain instances
    chains = runs[runs["sweep"].isin(["chain", "chain-servers"]) & runs["proven"]]
    pair = chains.pivot_table(index="instance_hash", columns="entry", values="runtime_s")
    if {"dp", "milp"} <= set(pair.columns):
        ratio = (pair["milp"] / pair["dp"]).dropna()
        tables["dp-vs-milp"] = pd.DataFrame(
            [{"instances": len(ratio), "median milp/dp": ratio.median(), "min": ratio.min(),
              "max": ratio.max()}]
        )  # fmt: skip
    _plot_scale(runs, out)
    return tables


def _plot_scale(runs: pd.DataFrame, out: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    panels = ((axes[0], "chain", NICOSANTI_CHAIN), (axes[1], "dag", NICOSANTI_DAG))
    for ax, sweep, reference in panels:
        part = runs[runs["sweep"] == sweep]
        for (entry, servers), group in part.groupby(["entry", "k_servers"]):
            three = group.groupby(["nodes", "seed"])["time_s"].sum().groupby("nodes").median()
            ax.plot(three.index, three.values, marker="o", label=f"{entry}, {servers} servers")
        for servers in (3, 6):
            points = sorted((n, t) for (n, s), t in reference.items() if s == servers)
            ax.plot([p[0] for p in points], [p[1] for p in points], "k--" if servers == 6 else "k:",
                    label=f"Nicosanti et al., {servers} servers")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("nodes (layers + input + output)")
        ax.set_ylabel("latency + energy + weighted, s")
        ax.set_title(f"{sweep}s")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "scale.png", dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------------------------------
# gap


def gap_table(runs: pd.DataFrame, out: Path) -> pd.DataFrame:
    out.mkdir(parents=True, exist_ok=True)
    proven = runs[runs["best_optimum"].notna()]
    rows = []
    for entry, part in proven.groupby("entry"):
        gap = part["gap"].dropna() * 100
        rows.append({
            "method": entry, "exact": bool(part["exact"].max()), "instances": len(part),
            "no plan": f"{part['objective'].isna().mean():.0%}",
            "at optimum": f"{(gap <= 1e-4).sum() / max(len(part), 1):.0%}",
            "median gap %": gap.median() if len(gap) else np.nan,
            "p90 gap %": gap.quantile(0.9) if len(gap) else np.nan,
            "max gap %": gap.max() if len(gap) else np.nan,
            "median time s": part["time_s"].median(),
        })  # fmt: skip
    table = pd.DataFrame(rows).sort_values(["exact", "median gap %"], ascending=[False, True])
    table.to_csv(out / "gap.csv", index=False)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for entry, part in proven.groupby("entry"):
        gap = np.sort(part["gap"].dropna().to_numpy() * 100)
        if len(gap) and not bool(part["exact"].max()):
            ax.step(np.maximum(gap, 1e-4), np.arange(1, len(gap) + 1) / len(part), where="post",
                    label=entry)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("gap to the proven optimum (%), 1e-4 = at the optimum")
    ax.set_ylabel("share of instances")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "gap.png", dpi=110)
    plt.close(fig)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    results: Path = args.results
    for name in ("mu2024", "nicosanti2026", "inference-gap"):
        path = results / f"{name}.sqlite"
        if not path.exists():
            continue
        runs = load(path)
        out = results / name
        print(f"\n## {name}: {len(runs)} runs, {runs['instance_hash'].nunique()} instances")
        print(dict(runs["status"].value_counts()))
        runs.to_csv(out / "runs.csv", index=False) if out.exists() else None
        if name == "mu2024":
            for path_written in mu_figures(runs, out):
                print(f"wrote {path_written}")
            speed = mu_speedups(runs)
            speed.to_csv(out / "speedups.csv", index=False)
            print(markdown(speed))
        elif name == "nicosanti2026":
            for key, table in nicosanti_tables(runs, out).items():
                print(f"\n### {key}\n")
                print(markdown(table))
        else:
            print(markdown(gap_table(runs, out)))
        runs.to_csv(out / "runs.csv", index=False)


if __name__ == "__main__":
    main()
