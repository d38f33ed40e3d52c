"""Plots of a comparison, after the paper's Fig. 7: (a) loss against cumulative energy, (b) loss
against elapsed time, (c) time against energy where each plan ends — a circle when it reaches the
loss target, a square when it does not.

Each plan is drawn as run against the truth curve when the instance has one for its (model, bits)
(:func:`jqodi_opt.finetune.simulate.simulate`), otherwise against the estimator it was made with
(dashed). A row with no plan within ``T_max`` is drawn by its least-energy plan without the limit
(:class:`jqodi_opt.finetune.compare.Overrun`), labelled "over T_max", as the paper's Fig. 7 draws
*Full Model* beyond its time limit.

The function draws on axes it is given and creates a figure (with ``matplotlib.pyplot``, so in the
caller's backend) only when none are given; it never chooses a backend. Writing a file is the
caller's business (``fig.savefig(path)``). The command line selects the Agg backend itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jqodi_opt.finetune.compare import Comparison
from jqodi_opt.finetune.instance import Instance
from jqodi_opt.finetune.simulate import Curve, Simulation, has_truth, simulate

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Label suffix of a row drawn by its plan over the time limit.
OVER_TIME_LIMIT = "over T_max"


def comparison_trajectories(
    comparison: Comparison, instance: Instance
) -> list[tuple[str, Simulation]]:
    """``(label, simulation)`` per row with a plan: the truth run, or else the planned one.

    A row with an overrun plan (no plan within ``T_max``) gets that plan, labelled
    ``"<label> (over T_max)"``.
    """
    lines = []
    for row in comparison.rows:
        plan = row.result.plan
        label = row.label
        if plan is None and row.overrun is not None:
            plan, label = row.overrun.plan, f"{row.label} ({OVER_TIME_LIMIT})"
        if plan is None:
            continue
        sim = row.simulation
        if sim is None:
            curve: Curve = "truth" if has_truth(instance, plan.model, plan.bits) else plan.estimator
            sim = simulate(instance, plan, curve=curve)
        lines.append((label, sim))
    return lines


def plot_comparison(
    comparison: Comparison,
    instance: Instance,
    axes: Sequence[Axes] | None = None,
) -> tuple[Axes, Axes, Axes]:
    """Draws Fig. 7 (a)–(c) for ``comparison``.

    Parameters
    ----------
    comparison, instance
        What :func:`jqodi_opt.finetune.compare.compare` returned, and its instance.
    axes
        Three axes to draw (a), (b), (c) on. When None, a new 1 × 3 figure is made with
        ``matplotlib.pyplot`` (and titled with the instance name and limits).

    Returns
    -------
    tuple of Axes
        The three axes drawn on; ``axes[0].figure`` is their figure.
    """
    if axes is None:
        import matplotlib.pyplot as plt

        fig, made = plt.subplots(1, 3, figsize=(15, 4.5))
        by_energy, by_time, ends = made
        fig.suptitle(
            f"{comparison.instance}: T_max {comparison.time_limit_s:g} s, "
            f"L_max {comparison.loss_limit:g}"
        )
    else:
        if len(axes) != 3:
            raise ValueError(f"plot_comparison draws on 3 axes, got {len(axes)}.")
        by_energy, by_time, ends = axes
    lines = comparison_trajectories(comparison, instance)
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
    if axes is None:
        by_energy.figure.tight_layout()
    return by_energy, by_time, ends
