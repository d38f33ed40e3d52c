"""JQODI, the paper's heuristic (Zhou et al. 2026, §IV, Algorithms 1–4), kept polynomial.

Algorithm 1 (CreateTree) grows, for every candidate ``c = (model, bits)``, a tree whose root is the
model vertex, whose first edge (weight ``E(a, q)``) leads to the quantized-model vertex at elapsed
time ``tau(a, q)`` with the robust starting loss ``L_a + gamma_rob``, and whose epoch states ``(k,
edge server, cut, elapsed time, loss)`` are joined by edges weighted by the epoch energy (eq. 6).
States whose elapsed time exceeds ``T_max`` are not expanded; the states at epoch ``K_c`` (where the
robust loss falls below ``L_max``; paper: ``K = K_rob``) connect to the virtual vertex Θ.

Unmerged, the tree has ``O_c ** K_c`` leaves. As the paper claims polynomial time (Property 2),
states are merged: two states of the same (candidate, epoch) whose elapsed times fall in the same
cell of a grid of ``time_buckets`` cells over ``[0, T_max]`` become one, keeping the least energy (a
Bellman step). A state carries the true elapsed time of its least-energy path, and its cell is that
time rounded **up**, so a path the tree calls feasible is feasible; the price is that a merge can
drop a slightly faster, dearer state that a cheaper plan near ``T_max`` would have needed. The loss
of a state depends only on (candidate, epoch) — partitioning does not change the loss trajectory
(paper §II) — so it never separates two states. This makes CreateTree a dynamic programme over
(epoch, time cell) per candidate: ``O(sum_c K_c * B * O_c)`` time and ``O(K_c * B)`` memory for the
back-pointers, with ``B = time_buckets`` and ``O_c`` the options. One addition to Algorithm 1
(``lookahead=True``, default): a state that cannot reach Θ in time even with the fastest option is
not kept, so that it cannot shadow a state that can (see :func:`create_tree`).

Algorithms 2–3 collect the feasible paths to Θ: here one path per candidate and final time cell, the
least-energy one (so at least the least-energy path of every candidate), all of them scored.

Algorithm 4 (SelectPath), lines 2–8, scores a path ``p`` of candidate ``c`` with weight ``w`` (its
energy, quantization included) as ``score = w * (risk / opp) ** weight``; ``weight = 1`` (default)
is the paper's ``w * risk / opp``, ``weight = 0`` is the least-energy choice. With ``T(K')`` the
time the path's own option mix takes for ``K'`` epochs, ``tau + K' * (T(p) - tau) / K_c``
(order-free: a schedule's cost does not depend on the order of its epochs):

    opp  = T(K_exp) / T(K_rob)        (lines 2–4)
    risk = L_exp / L_rob              (lines 5–7; Candidate.final_loss_expected/robust)

The paper's prose calls ``opp >= 1`` and ``risk >= 1``, but its formulas give ``opp <= 1`` whenever
``K_exp <= K_rob``; the formulas (as SPEC §2 states them) are implemented, so a path whose expected
time is far below its robust time scores worse, the paper's stated aim ("choose paths with a more
accurate estimate"). In the ``epochs`` learning form both final losses count as just below
``L_max``, so ``risk = 1``. Where the expected estimator cannot reach the target,
``opp = risk = 1``. The lowest score wins; ties go to the lowest candidate index, then the earliest
cell. ``score="energy"`` picks the least-energy path instead, to measure the scoring's own effect.
The plan returned runs ``K_c`` epochs (robust by default), which is what ``evaluate`` checks.

If the tree reaches Θ for no candidate although a plan exists, the fastest plan — ``K_c`` epochs of
a fastest option, the least-energy such candidate — is returned with status ``feasible`` and
``stats["fallback"] = True``; it is feasible whenever any plan is. With the lookahead this happens
only when the fastest plan overshoots ``T_max`` by less than the time tolerance of SPEC §1.3 (or
by floating-point rounding); without it, also when merging lost every path. With no feasible
candidate at all the status is ``infeasible``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from jqodi_opt.exceptions import OptionError
from jqodi_opt.finetune.problem import TIME_TOLERANCE, Candidate, Problem
from jqodi_opt.finetune.solvers import options as checks
from jqodi_opt.finetune.solvers.jqodi_kernel import (
    KERNELS,
    ROUND_SLACK,
    cells_of,
    step_reference,
    steps_compiled,
)
from jqodi_opt.finetune.solvers.reduce import lower_envelope
from jqodi_opt.result import SolverOutput, Status

if TYPE_CHECKING:
    import networkx as nx

Score = Literal["risk", "energy"]

#: Time grid sizing when ``time_buckets`` is not given (module docstring, "Time grid").
MIN_TIME_BUCKETS = 1000
CELLS_PER_EPOCH = 1
BACKPOINTER_BYTES = 512 * 2**20
WORK_BUDGET = 400_000_000

#: A compiled chunk of the DP does about this many (state, option) expansions before the clock is
#: read again (a few milliseconds), so a time limit is honoured inside a candidate's tree.
CHUNK_EXPANSIONS = 2_000_000


@dataclass(frozen=True)
class Layer:
    """The merged states of one epoch: cells, and per cell its least-energy state."""

    cells: np.ndarray
    elapsed_s: np.ndarray
    energy_j: np.ndarray


@dataclass(frozen=True)
class CandidateTree:
    """Algorithm 1's tree of one candidate, merged on the time grid.

    Attributes
    ----------
    candidate
        Index of the candidate in ``Problem.candidates``.
    time_buckets
        ``B``: cells of the grid over ``[0, T_max]``; cell ``i`` holds elapsed times in
        ``((i - 1) * cell_s, i * cell_s]`` (cell 0: time 0).
    cell_s
        Width of one cell, ``T_max / B``.
    start_cell
        Cell of the quantized-model vertex, ``tau`` rounded up (``> B`` when ``tau > T_max``).
    num_options
        ``O_c``, the candidate's options.
    final_energy_j, final_time_s
        Per cell, at epoch ``K_c``: least epoch energy (quantization not included; ``inf`` where no
        state) and the true elapsed time of that least-energy state (``tau`` included). For a tree
        cut short by the time limit (``depth < K_c``): per cell of epoch ``depth``, its state
        completed by ``K_c - depth`` epochs of ``completion_option`` (a fastest option).
    choice, origin
        Back-pointers: the least-energy state (epoch ``k``, cell ``i``) is reached by option
        ``choice[k - 1, i]`` from the state (epoch ``k - 1``, cell ``origin[k - 1, i]``); ``-1``
        where there is no state.
    generated, kept
        Per epoch ``k = 0..K_c``: states generated within ``T_max`` (the edges from the previous
        merged layer) and states left after merging.
    layers
        The merged states of every epoch ``0..K_c``, when asked for (for drawing the tree).
    depth
        Epochs grown: ``K_c``, or fewer when the time limit stopped the growth.
    completion_option
        The option that completes a cut-short tree's states (-1 for a full tree).
    options
        The candidate's options the tree expands (its non-dominated ones by default).
    cut_short
        True when the deadline stopped the growth before epoch ``K_c``.
    """

    candidate: int
    time_buckets: int
    cell_s: float
    start_cell: int
    num_options: int
    final_energy_j: np.ndarray
    final_time_s: np.ndarray
    choice: np.ndarray
    origin: np.ndarray
    generated: np.ndarray
    kept: np.ndarray
    layers: tuple[Layer, ...] | None = None
    depth: int = -1
    completion_option: int = -1
    options: np.ndarray | None = None
    cut_short: bool = False

    @property
    def epochs(self) -> int:
        """``K_c``."""
        return int(self.choice.shape[0])

    @property
    def complete(self) -> bool:
        """True unless the time limit cut the tree short."""
        return self.completion_option < 0 and not self.cut_short

    def final_cells(self) -> np.ndarray:
        """Cells of the states at epoch ``K_c`` (or ``depth``, completed): each a path to Θ."""
        return np.flatnonzero(np.isfinite(self.final_energy_j))

    def path(self, cell: int) -> np.ndarray:
        """Epochs per option of the least-energy path ending in ``cell``."""
        counts = np.zeros(self.num_options, dtype=np.int64)
        depth = self.epochs if self.completion_option < 0 else self.depth
        if depth < self.epochs:
            counts[self.completion_option] += self.epochs - depth
        for k in range(depth - 1, -1, -1):
            option = int(self.choice[k, cell])
            if option < 0:
                raise ValueError(f"no state at epoch {k + 1}, cell {cell}")
            counts[option] += 1
            cell = int(self.origin[k, cell])
        if cell != self.start_cell:  # pragma: no cover - a broken back-pointer chain
            raise AssertionError("path does not lead back to the quantized-model vertex")
        return counts


def default_time_buckets(
    problem: Problem, candidate: int, num_options: int | None = None, trees: int = 1
) -> int:
    """The grid size ``B`` used when none is given (module docstring, "Time grid"): one cell per
    epoch, at least :data:`MIN_TIME_BUCKETS`, at most what keeps the back-pointers within
    :data:`BACKPOINTER_BYTES` and the expansions within :data:`WORK_BUDGET` (over ``trees``
    trees of ``num_options`` options each); the floor wins over both caps."""
    cand = problem.candidates[candidate]
    options = cand.num_options if num_options is None else num_options
    wanted = CELLS_PER_EPOCH * cand.epochs
    memory_cap = BACKPOINTER_BYTES // (6 * (cand.epochs + 1))  # int16 option + int32 parent
    work_cap = WORK_BUDGET // max(1, trees * cand.epochs * options)
    return int(max(MIN_TIME_BUCKETS, min(wanted, memory_cap, work_cap)))


def create_tree(
    problem: Problem,
    candidate: int,
    time_buckets: int | None = None,
    keep_layers: bool = False,
    lookahead: bool = True,
    kernel: str = "compiled",
    deadline: float | None = None,
    price: float = 0.0,
    dominance: bool = True,
) -> CandidateTree:
    """Algorithm 1 (CreateTree) for one candidate, with states merged on a time grid.

    A Bellman step per epoch: every merged state of epoch ``k - 1`` (its least-energy path, true
    elapsed time ``T``) is expanded by every option ``o`` to elapsed time ``T + t_o`` (lines
    28–37); children beyond ``T_max`` are dropped; children whose times fall in the same cell merge
    into the least-energy one (ties: the lower option index, then the earlier parent cell). A
    state's cell is ``ceil(T / cell_s)``, so the states of one cell differ by less than a cell in
    time. ``O(K_c * B * O_c)`` time; the loops run in :mod:`.jqodi_kernel` (``kernel``:
    ``"compiled"``, or ``"reference"``, the numpy original; both give the same tree).

    With ``lookahead`` (default), a child that cannot reach Θ in time even with the fastest option
    in every remaining epoch (``T' + (K_c - k) * t_min > T_max``) is dropped too, before merging.
    Such a state lies on no path to Θ, so the unmerged tree's paths to Θ are unchanged; but the
    merge then keeps the least-energy state that can still finish, instead of a cheaper one that
    cannot, which would shadow its cell. With it, some path reaches Θ whenever the fastest plan fits
    and the least energy per final cell is never higher than without it.

    ``time_buckets`` None sizes the grid from the instance (:func:`default_time_buckets`). With a
    ``deadline`` (a ``time.perf_counter()`` value) the growth stops there: the tree is cut short at
    the last epoch done (``depth``) and its states are completed with a fastest option.
    """
    if time_buckets is None:
        time_buckets = default_time_buckets(problem, candidate)
    if isinstance(time_buckets, bool) or not isinstance(time_buckets, (int, np.integer)):
        raise OptionError(f"time_buckets {time_buckets!r} not understood (a whole number >= 1).")
    if time_buckets < 1:
        raise OptionError(f"time_buckets {time_buckets} not understood (must be >= 1).")
    if kernel not in KERNELS:
        raise OptionError(f"kernel {kernel!r} not understood (choose from {', '.join(KERNELS)}).")
    cand = problem.candidates[candidate]
    last = int(time_buckets)  # index of the last cell; arrays have last + 1 entries (cell 0 too)
    cell_s = problem.time_limit_s / last
    start = int(cells_of(cand.quantize_time_s, cell_s))
    epochs = cand.epochs
    limit = problem.time_limit_s / (1.0 - ROUND_SLACK)  # the largest time whose cell is <= B
    fastest = float(cand.option_time_s.min()) if lookahead else 0.0
    dtype = np.int16 if cand.num_options < 2**15 else np.int32
    choice = np.full((epochs, last + 1), -1, dtype=dtype)
    origin = np.full((epochs, last + 1), -1, dtype=np.int32)
    generated = np.zeros(epochs + 1, dtype=np.int64)
    kept = np.zeros(epochs + 1, dtype=np.int64)
    layers: list[Layer] = []
    cells = np.zeros(0, dtype=np.int64)
    elapsed = energy = np.zeros(0)
    if start <= last and cand.quantize_time_s + epochs * fastest <= limit:  # Alg. 1 line 12
        cells = np.array([start], dtype=np.int64)
        elapsed, energy = np.array([cand.quantize_time_s]), np.array([0.0])
        generated[0] = kept[0] = 1
    if keep_layers:
        layers.append(Layer(cells, elapsed, energy))
    options = cand.pareto_options() if dominance else np.arange(cand.num_options)
    option_index = np.ascontiguousarray(options, dtype=np.int64)
    option_time = np.ascontiguousarray(cand.option_time_s[options], dtype=np.float64)
    option_energy = np.ascontiguousarray(cand.option_energy_j[options], dtype=np.float64)
    depth = 0
    if kernel == "compiled":
        slot_energy = np.full(last + 1, np.inf)
        slot_elapsed = np.full(last + 1, np.nan)
        slot_key = np.full(last + 1, np.inf)
    cut_short = False
    while depth < epochs and len(cells) > 0:
        if deadline is not None and time.perf_counter() > deadline:
            cut_short = True
            break
        if kernel == "reference":
            k = depth + 1
            cells, elapsed, energy, count = step_reference(
                cells, elapsed, energy, option_time, option_energy, last, cell_s,
                limit - (epochs - k) * fastest, choice[k - 1], origin[k - 1], price, option_index,
            )  # fmt: skip
            generated[k], kept[k] = count, len(cells)
            depth = k
        else:
            if keep_layers:  # one epoch at a time, to record every layer
                stop = depth + 2
            elif deadline is None:
                stop = epochs + 1
            else:  # a chunk of about CHUNK_EXPANSIONS expansions, then the clock again
                per_epoch = (last + 1) * len(options)  # the most a layer can expand
                stop = min(epochs + 1, depth + 1 + max(1, CHUNK_EXPANSIONS // per_epoch))
            cells, elapsed, energy, done = steps_compiled(
                cells, elapsed, energy, option_time, option_energy, last, cell_s, limit,
                fastest, epochs, depth + 1, stop, choice, origin, generated, kept,
                slot_energy, slot_elapsed, slot_key, float(price), option_index,
            )  # fmt: skip
            depth = int(done)
        if keep_layers:
            layers.append(Layer(cells, elapsed, energy))
    final_energy = np.full(last + 1, np.inf)
    final_time = np.full(last + 1, np.nan)
    completion = -1
    if depth == epochs:
        if kept[epochs] > 0:
            final_energy[cells], final_time[cells] = energy, elapsed
    elif len(cells) > 0:
        # cut short by the deadline: complete every state with a fastest option (the cheapest of
        # the fastest); with the lookahead each completion fits T_max
        fastest_options = np.flatnonzero(cand.option_time_s == cand.option_time_s.min())
        completion = int(fastest_options[np.argmin(cand.option_energy_j[fastest_options])])
        rest = epochs - depth
        done_time = elapsed + rest * cand.option_time_s[completion]
        fits = done_time <= problem.time_limit_s * (1 + TIME_TOLERANCE)
        final_energy[cells[fits]] = energy[fits] + rest * cand.option_energy_j[completion]
        final_time[cells[fits]] = done_time[fits]
    return CandidateTree(
        candidate, last, cell_s, start, cand.num_options, final_energy, final_time, choice, origin,
        generated, kept, tuple(layers) if keep_layers else None, depth, completion, option_index,
        cut_short,
    )  # fmt: skip


def path_scores(
    cand: Candidate,
    energy_j: np.ndarray,
    time_s: np.ndarray,
    weight: float = 1.0,
    risk_factor: str = "intent",
    opp_factor: str = "literal",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Algorithm 4, lines 2–8, for paths of one candidate with total energy ``energy_j`` (the path
    weight ``w``, quantization included) and true time ``time_s`` (``tau`` included).

    Returns ``(score, risk, opp)`` per path: ``score = w * (risk / opp) ** weight``, with ``risk``
    and ``opp`` as chosen by ``risk_factor`` and ``opp_factor`` (module docstring, "Scores").
    """
    energy_j = np.asarray(energy_j, dtype=float)
    time_s = np.asarray(time_s, dtype=float)
    k_exp, k_rob = cand.epochs_expected, cand.epochs_robust
    l_exp, l_rob = cand.final_loss_expected, cand.final_loss_robust
    if k_exp is None or k_rob is None or l_exp is None or l_rob is None or l_rob <= 0:
        ones = np.ones_like(energy_j)
        return energy_j.copy(), ones, ones
    tau = cand.quantize_time_s
    per_epoch = (time_s - tau) / cand.epochs  # the path's mean epoch time
    t_exp = tau + k_exp * per_epoch  # line 3
    t_rob = tau + k_rob * per_epoch  # line 2
    if opp_factor == "literal":
        opp = np.divide(t_exp, t_rob, out=np.ones_like(t_rob), where=t_rob > 0)  # line 4
    else:  # "inverse": the prose's opp >= 1
        opp = np.divide(t_rob, t_exp, out=np.ones_like(t_exp), where=t_exp > 0)
    if risk_factor == "literal" or l_exp <= 0:
        ratio = l_exp / l_rob  # line 7 as printed: <= 1
    else:  # "intent": risk >= 1, larger the more the two estimators disagree
        ratio = l_rob / l_exp
    risk = np.full_like(energy_j, ratio)
    score = energy_j * (risk / opp) ** weight  # line 8
    return score, risk, opp


def price_of_time(cand: Candidate, options: np.ndarray) -> float:
    """The LP relaxation's price of time for one candidate (J per second, >= 0): minus the slope
    of the lower convex envelope of its options' (time, energy) points at the per-epoch budget
    ``(T_max - tau) / K``; 0 when the cheapest option fits every epoch."""
    hull = lower_envelope(cand, options)
    times, energies = cand.option_time_s[hull], cand.option_energy_j[hull]
    per_epoch = cand.budget_s / cand.epochs
    i = max(int(np.searchsorted(times, per_epoch, side="right")) - 1, 0)
    if i >= len(hull) - 1:  # one option, or the cheapest fits every epoch
        return 0.0
    return float((energies[i] - energies[i + 1]) / (times[i + 1] - times[i]))


def _fastest_plan(problem: Problem) -> tuple[int, np.ndarray] | None:
    """The least-energy plan of ``K_c`` epochs of a fastest option, if one fits ``T_max``."""
    best: tuple[float, int, np.ndarray] | None = None
    limit = problem.time_limit_s
    for c, cand in enumerate(problem.candidates):
        fastest = np.flatnonzero(cand.option_time_s == cand.option_time_s.min())
        option = int(fastest[np.argmin(cand.option_energy_j[fastest])])
        if cand.quantize_time_s + cand.epochs * cand.option_time_s[option] > limit * (
            1 + TIME_TOLERANCE
        ):
            continue
        energy = cand.quantize_energy_j + cand.epochs * float(cand.option_energy_j[option])
        if best is None or energy < best[0]:
            counts = np.zeros(cand.num_options, dtype=np.int64)
            counts[option] = cand.epochs
            best = (energy, c, counts)
    return None if best is None else (best[1], best[2])


MERGES = ("both", "energy", "price")


def solve_jqodi(
    problem: Problem,
    time_limit: float | None,
    *,
    time_buckets: int | None = None,
    score: Score = "risk",
    weight: float = 1.0,
    lookahead: bool = True,
    risk_factor: str = "intent",
    opp_factor: str = "literal",
    merge: str = "both",
    dominance: bool = True,
    kernel: str = "compiled",
) -> SolverOutput:
    """JQODI (Algorithms 1–4) on ``problem``; see the module docstring.

    Parameters
    ----------
    problem
        The compiled problem.
    time_limit
        Wall-clock limit (s), read between candidates and inside a tree (every few milliseconds of
        the DP). When hit, the paths found so far — including the states of a tree cut short,
        completed with a fastest option — are scored and the status is ``time_limit``.
    time_buckets
        ``B``, cells of the time grid over ``[0, T_max]`` (None: sized per candidate by
        :func:`default_time_buckets`). Larger is closer to the unmerged tree and slower:
        ``O(sum_c K_c * B * O_c)``.
    score
        ``"risk"`` (Algorithm 4) or ``"energy"`` (least-energy path).
    weight
        Exponent of ``risk / opp`` in the score (1: the paper's score; 0: least energy).
    lookahead
        Drop states that cannot reach Θ in time before merging (see :func:`create_tree`); False
        expands every state within ``T_max``, as Algorithm 1 does.
    risk_factor
        ``"intent"`` (default: ``L_rob / L_exp >= 1``, as §IV describes risk) or ``"literal"``
        (Algorithm 4 line 7 as printed, ``L_exp / L_rob <= 1``).
    opp_factor
        ``"literal"`` (default: line 4, ``T_exp / T_rob <= 1``, which serves §IV's stated aim) or
        ``"inverse"`` (``T_rob / T_exp >= 1``, the prose's label).
    merge
        Which merged trees are grown per candidate: ``"both"`` (default), ``"energy"`` (least
        energy per cell) or ``"price"`` (least energy plus the LP price of time per cell).
    dominance
        Expand only non-dominated options (default True).
    kernel
        ``"compiled"`` (numba, default) or ``"reference"`` (numpy; same results, slower).
    """
    score = checks.choice("score", score, ("risk", "energy"))  # type: ignore[assignment]
    weight = checks.real_number("weight", weight, low=0.0)
    lookahead = checks.flag("lookahead", lookahead)
    risk_factor = checks.choice("risk_factor", risk_factor, ("intent", "literal"))
    opp_factor = checks.choice("opp_factor", opp_factor, ("literal", "inverse"))
    merge = checks.choice("merge", merge, MERGES)
    dominance = checks.flag("dominance", dominance)
    kernel = checks.choice("kernel", kernel, KERNELS)
    if time_buckets is not None:
        time_buckets = checks.whole_number("time_buckets", time_buckets)
    started = time.perf_counter()
    deadline = None if time_limit is None else started + time_limit
    exponent = 0.0 if score == "energy" else float(weight)

    scores: list[np.ndarray] = []
    owners: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]] = []  # tree, cells, risk, opp
    trees: list[CandidateTree] = []
    generated = kept = 0
    timed_out = False
    buckets_used: list[int] = []
    for c, cand in enumerate(problem.candidates):
        if deadline is not None and time.perf_counter() > deadline:
            timed_out = True
            break
        options = cand.pareto_options() if dominance else np.arange(cand.num_options)
        price = price_of_time(cand, options) if cand.budget_s > 0 else 0.0
        prices = {"energy": [0.0], "price": [price], "both": [0.0, price]}[merge]
        if merge == "both" and price == 0.0:
            prices = [0.0]
        buckets = time_buckets or default_time_buckets(problem, c, len(options), len(prices))
        buckets_used.append(buckets)
        for merge_price in prices:
            tree = create_tree(
                problem, c, buckets, lookahead=lookahead, kernel=kernel, deadline=deadline,
                price=merge_price, dominance=dominance,
            )  # fmt: skip
            trees.append(tree)
            generated += int(tree.generated.sum())
            kept += int(tree.kept.sum())
            if not tree.complete:
                timed_out = True
            cells = tree.final_cells()  # Algorithms 2-3: the paths that reach Θ
            if len(cells):
                energy = cand.quantize_energy_j + tree.final_energy_j[cells]
                path_score, risk, opp = path_scores(
                    cand, energy, tree.final_time_s[cells], exponent, risk_factor, opp_factor
                )
                scores.append(path_score)
                owners.append((len(trees) - 1, c, cells, risk, opp))
            if timed_out:
                break
        if timed_out:
            break

    stats: dict[str, Any] = {
        "time_buckets": int(max(buckets_used)) if buckets_used else 0,
        "cell_s": problem.time_limit_s / max(buckets_used) if buckets_used else math.nan,
        "score_rule": score,
        "weight": float(weight),
        "risk_factor": risk_factor,
        "opp_factor": opp_factor,
        "merge": merge,
        "lookahead": bool(lookahead),
        "kernel": kernel,
        "candidates_expanded": len({tree.candidate for tree in trees}),
        "trees": len(trees),
        "states_generated": generated,
        "states_kept": kept,
        "states_merged": generated - kept,
        "paths_scored": int(sum(len(s) for s in scores)),
        "fallback": False,
    }
    status = Status.TIME_LIMIT if timed_out else Status.FEASIBLE
    if scores:
        flat = np.concatenate(scores)
        best = int(np.argmin(flat))  # first minimum: lowest candidate index, then earliest cell
        offset = 0
        for (t, c, cells, risk, opp), part in zip(owners, scores, strict=True):
            if best < offset + len(part):
                i = best - offset
                counts = trees[t].path(int(cells[i]))
                stats.update(score=float(part[i]), risk=float(risk[i]), opp=float(opp[i]))
                elapsed = time.perf_counter() - started
                return SolverOutput(status, c, counts, solve_time_s=elapsed, stats=stats)
            offset += len(part)

    elapsed = time.perf_counter() - started
    if problem.infeasibility_reasons():
        return SolverOutput(Status.INFEASIBLE, solve_time_s=elapsed, stats=stats)
    fallback = _fastest_plan(problem)
    if fallback is None:  # pragma: no cover - infeasibility_reasons() says some fastest plan fits
        return SolverOutput(
            Status.ERROR,
            solve_time_s=elapsed,
            stats=stats,
            message="no path to Θ and no fastest plan within T_max",
        )
    stats["fallback"] = True
    if timed_out:
        return SolverOutput(
            Status.TIME_LIMIT, fallback[0], fallback[1], solve_time_s=elapsed, stats=stats,
            message="time limit before any path reached Θ; returned the fastest plan",
        )  # fmt: skip
    return SolverOutput(
        Status.FEASIBLE,
        fallback[0],
        fallback[1],
        solve_time_s=elapsed,
        stats=stats,
        message=f"no path reached Θ on a grid of {stats['time_buckets']} cells (times rounded "
        "up); returned the fastest plan instead (raise time_buckets for a finer grid)",
    )


#: Largest tree (vertices plus edges) that :func:`tree_graph` builds.
MAX_GRAPH_SIZE = 50_000


def tree_graph(
    problem: Problem, tree: CandidateTree, max_size: int = MAX_GRAPH_SIZE
) -> nx.MultiDiGraph:
    """The merged tree of one candidate as a networkx graph (e.g. for GraphML).

    Vertices: the model, the quantized model (epoch 0), one per merged state ``k<epoch>/c<cell>``
    and Θ; edges: every option from every merged state that stays within ``T_max`` (weight: the
    epoch energy, eq. 6), the quantization edge (weight ``E(a, q)``), and the states of epoch
    ``K_c`` to Θ (weight 0). The tree must come from ``create_tree(..., keep_layers=True)``.

    Raises
    ------
    ValueError
        When the tree has more than ``max_size`` vertices plus edges.
    """
    import networkx as nx

    if tree.layers is None:
        raise ValueError("build the tree with keep_layers=True to draw it.")
    size = int(tree.kept.sum() + tree.generated.sum()) + 2 * tree.kept[-1] + 4
    if size > max_size:
        raise ValueError(
            f"the tree has {size:,} vertices and edges, more than {max_size:,} to draw; "
            "use fewer time buckets or a smaller instance."
        )
    cand = problem.candidates[tree.candidate]
    losses = _robust_losses(problem, cand)
    graph = nx.MultiDiGraph(name=f"JQODI tree of {cand.name}", time_limit_s=problem.time_limit_s,
                            time_buckets=tree.time_buckets, cell_s=tree.cell_s)  # fmt: skip
    model, quantized, theta = f"model:{cand.model}", cand.name, "Theta"
    graph.add_node(model, kind="model", label=cand.model)
    graph.add_node(theta, kind="theta", label="Θ")

    def node(k: int, cell: int) -> str:
        return quantized if k == 0 else f"k{k}/c{cell}"

    for k, layer in enumerate(tree.layers):
        for cell, elapsed, energy in zip(layer.cells, layer.elapsed_s, layer.energy_j, strict=True):
            attrs: dict[str, Any] = {
                "kind": "quantized" if k == 0 else "state",
                "epoch": k,
                "cell": int(cell),
                "time_s": float(elapsed),
                "time_upper_s": float(cell * tree.cell_s),
                "energy_j": float(cand.quantize_energy_j + energy),
            }
            if losses is not None:
                attrs["loss"] = float(losses[k])
            if k > 0:
                o = int(tree.choice[k - 1, cell])
                attrs["edge_server"] = problem.edge_servers[int(cand.option_edge_server[o])]
                attrs["cut"] = int(cand.option_cut[o])
            graph.add_node(node(k, int(cell)), **attrs)
    if tree.layers[0].cells.size:
        graph.add_edge(model, quantized, weight=cand.quantize_energy_j, time_s=cand.quantize_time_s)
    for k in range(1, len(tree.layers)):
        parent = tree.layers[k - 1]
        for o in range(cand.num_options) if tree.options is None else tree.options.tolist():
            child_cell = cells_of(parent.elapsed_s + cand.option_time_s[o], tree.cell_s)
            server = problem.edge_servers[int(cand.option_edge_server[o])]
            for cell, target in zip(parent.cells, child_cell, strict=True):
                if target <= tree.time_buckets:
                    graph.add_edge(node(k - 1, int(cell)), node(k, int(target)), key=o,
                                   weight=float(cand.option_energy_j[o]), edge_server=server,
                                   cut=int(cand.option_cut[o]),
                                   time_s=float(cand.option_time_s[o]))  # fmt: skip
    if len(tree.layers) == cand.epochs + 1:
        for cell in tree.layers[-1].cells:
            graph.add_edge(node(cand.epochs, int(cell)), theta, weight=0.0)
    return graph


def _robust_losses(problem: Problem, cand: Candidate) -> np.ndarray | None:
    """Loss after each epoch ``0..K_c`` under the robust estimator, when the instance is known."""
    if problem.instance is None:
        return None
    from jqodi_opt.finetune.learning import loss_trajectory

    return loss_trajectory(problem.instance, cand.model, cand.bits, cand.epochs, "robust")
