"""Plots draw on the axes they are given, return them, and never choose a backend.

Checked through the artists (lines, scatter points, labels), not through images.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from jqodi_opt import read_instance
from jqodi_opt.bench.report import plot_gap, plot_runtime, save_plot
from jqodi_opt.finetune.compare import compare
from jqodi_opt.finetune.plotting import plot_comparison
from jqodi_opt.read import build_instance

from .conftest import DATA
from .test_compare import OVERRUN


def runs() -> pd.DataFrame:
    """Entry ``a``: three finished runs at 10, 100, 1000 pairs; ``b``: one finished, one stopped
    by its time limit; ``c``: one run on an instance with no proven optimum (no gap)."""
    return pd.DataFrame(
        {
            "entry": ["a", "a", "a", "b", "b", "c"],
            "epoch_option_pairs": [10, 100, 1000, 100, 1000, 10],
            "time_s": [0.01, 0.1, 1.0, 0.5, 20.0, 0.2],
            "status": ["optimal", "optimal", "optimal", "feasible", "time_limit", "feasible"],
            "gap": [0.0, 0.0, 0.0, 0.02, 0.10, math.nan],
        }
    )


def scatters(ax: Axes) -> list[np.ndarray]:
    """The points of each scatter on ``ax``, in drawing order."""
    return [np.asarray(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)]


def legend(ax: Axes) -> list[str]:
    """The legend's labels."""
    box = ax.get_legend()
    assert box is not None
    return [t.get_text() for t in box.get_texts()]


def xs(line: Line2D) -> np.ndarray:
    return np.asarray(line.get_xdata(), dtype=float)


def ys(line: Line2D) -> np.ndarray:
    return np.asarray(line.get_ydata(), dtype=float)


def test_plot_runtime_draws_on_the_given_axes() -> None:
    fig = Figure()
    ax = fig.subplots()
    assert plot_runtime(runs(), ax, title="sizes") is ax
    points = scatters(ax)
    # a: finished; b: finished + time limit; c: finished
    assert [len(p) for p in points] == [3, 1, 1, 1]
    assert points[2].tolist() == [[1000.0, 20.0]]  # b's time-limit cross
    # a median line only where an entry has two or more size bins: entry a, through 3 points
    assert len(ax.lines) == 1
    np.testing.assert_allclose(xs(ax.lines[0]), [10.0, 100.0, 1000.0])
    assert legend(ax) == ["a", "b", "c"]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_title() == "sizes" and ax.get_xlabel().startswith("epoch-option pairs")


def test_plot_gap_draws_on_the_given_axes() -> None:
    fig = Figure()
    ax = fig.subplots()
    assert plot_gap(runs(), ax) is ax
    # one box and one scatter per entry with a gap; c has none
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    points = scatters(ax)
    assert [len(p) for p in points] == [3, 2]
    np.testing.assert_allclose(np.sort(points[1][:, 1]), [2.0, 10.0])  # in percent
    assert ax.get_ylabel() == "gap to the best proven optimum (%)"


def test_plot_comparison_draws_on_the_given_axes() -> None:
    instance = build_instance(OVERRUN)
    comparison = compare(instance, ["milp", "full-model", "all-local", "minimal-model"])
    fig = Figure()
    axes = fig.subplots(1, 3)
    by_energy, by_time, ends = plot_comparison(comparison, instance, axes)
    assert (by_energy, by_time, ends) == tuple(axes)
    labels = ["Optimum", "Full Model (over T_max)", "All local (over T_max)", "Minimal Model"]
    assert legend(by_energy) == labels
    # (a): one loss line per plan plus the L_max line; (b): plus the T_max line
    assert len(by_energy.lines) == 4 + 1 and len(by_time.lines) == 4 + 2
    # (c): one end point per plan (o: target met, as every truth curve here reaches it) + T_max
    points = [line for line in ends.lines if line.get_marker() in ("o", "s")]
    assert len(points) == 4 and {p.get_marker() for p in points} == {"o"}
    full = next(p for p in points if p.get_label() == "Full Model (over T_max)")
    assert xs(full)[0] == pytest.approx(10.0, rel=1e-6)  # 20 x T_max of 0.5 s
    assert ys(full)[0] == pytest.approx(10.0, rel=1e-6)
    assert ends.get_xlabel() == "time taken (s)" and ends.get_ylabel() == "energy (J)"
    with pytest.raises(ValueError, match="3 axes"):
        plot_comparison(comparison, instance, axes[:2])


def test_plots_keep_the_callers_backend(tmp_path) -> None:
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    plt.switch_backend("pdf")
    try:
        instance = read_instance(DATA / "tiny_truth.json")
        axes = plot_comparison(compare(instance, ["jqodi", "static"]), instance)
        ax = plot_gap(runs())
        assert matplotlib.get_backend() == "pdf"
        assert axes[0].figure is not ax.figure  # each made its own pyplot figure
        plt.close("all")
        save_plot(lambda a: plot_runtime(runs(), a), tmp_path / "runtime.png", (4, 3))
        assert (tmp_path / "runtime.png").read_bytes()[:4] == b"\x89PNG"
        assert matplotlib.get_backend() == "pdf" and not plt.get_fignums()
    finally:
        plt.switch_backend(before)
