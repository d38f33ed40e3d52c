"""Plots of a comparison, after the paper's Fig. 7: (a) loss against cumulative energy, (b) loss
against elapsed time, (c) time against energy where each plan ends — a circle when it reaches the
loss target, a square when it does not.

Each plan is drawn as run against the truth curve when the instance has one for its (model, bits)
(:func:`jqodi_opt.finetune.simulate.simulate`), otherwise against the estimator it was made with
(dashed).
Uses matplotlib's Agg backend: no display needed.
"""

from __future__ import annotations

import os

from jqodi_opt.finetune.compare import Comparison
from jqodi_opt.finetune.instance import Instance
from jqodi_opt.finetune.simulate import Simulation, simulate


def comparison_trajectories(
    comparison: Comparison, instance: Instance
) -> list[tuple[str, Simulation]]:
    """``(label, simulation)`` per row with a plan: the truth run, or else the planned one."""
    lines = []
    for row in comparison.rows:
        plan = row.result.plan
        if plan is None:
            continue
        sim = row.simulation or simulate(instance, plan, curve=plan.estimator)
        lines.append((row.label, sim))
    return lines


def plot_comparison(
    comparison: Comparison, instance: Instance, path: str | os.PathLike[str]
) -> None:
    """Draws Fig. 7 (a)–(c) for ``comparison`` and saves it to ``path`` (format from the suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = comparison_trajectories(comparison, instance)
    fig, (by_energy, by_time, ends) = plt.subplots(1, 3, figsize=(15, 4.5))
    for i, (label, sim) in enumerate(lines):
        color = f"C{i % 10}"
        style = "-" if sim.curve == "truth" else "--"
        name = label if sim.curve == "truth" else f"{label} ({sim.curve} curve)"
        by_energy.plot(sim.cumulative_energy_j, sim.loss, style, color=color, label=name)
        by_time.plot(sim.cumulative_time_s, sim.loss, style, color=color, label=name)
        marker = "o" if sim.target_met else "s"
        ends.plot(sim.time_s, sim.energy_j, marker, color=color, label=name, markersize=8)
    for axis in (by_energy, by_time):
        axis.axhline(comparison.loss_limit, color="grey", linewidth=0.8, linestyle=":")
        axis.set_ylabel("loss")
    by_time.axvline(comparison.time_limit_s, color="grey", linewidth=0.8, linestyle=":")
    ends.axvline(comparison.time_limit_s, color="grey", linewidth=0.8, linestyle=":")
    by_energy.set_xlabel("cumulative energy (J)")
    by_time.set_xlabel("time taken (s)")
    ends.set_xlabel("time taken (s)")
    ends.set_ylabel("energy (J)")
    by_energy.set_title("(a) loss vs energy")
    by_time.set_title("(b) loss vs time")
    ends.set_title("(c) end point: o target met, □ not")
    if lines:
        by_energy.legend(fontsize="small")
    fig.suptitle(
        f"{comparison.instance}: T_max {comparison.time_limit_s:g} s, "
        f"L_max {comparison.loss_limit:g}"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
