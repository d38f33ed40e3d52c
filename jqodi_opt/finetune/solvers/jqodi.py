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
from jqodi_opt.result import SolverOutput, Status

if TYPE_CHECKING:
    import networkx as nx

Score = Literal["risk", "energy"]

#: Relative slack when rounding a time up to whole cells: a time that is an exact multiple of the
#: cell stays that multiple despite floating-point division (error <= 1e-12 of the time, well inside
#: the 1e-9 time tolerance of SPEC §1.3).
_ROUND_SLACK = 1e-12


def _cells(seconds: np.ndarray | float, cell_s: float) -> np.ndarray:
    """``ceil(seconds / cell_s)`` as integers, i.e. the time rounded up to whole cells."""
    ratio = np.asarray(seconds, dtype=float) / cell_s
    return np.ceil(ratio * (1.0 - _ROUND_SLACK)).astype(np.int64)


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
        state) and the true elapsed time of that least-energy state (``tau`` included).
    choice, origin
        Back-pointers: the least-energy state (epoch ``k``, cell ``i``) is reached by option
        ``choice[k - 1, i]`` from the state (epoch ``k - 1``, cell ``origin[k - 1, i]``); ``-1``
        where there is no state.
    generated, kept
        Per epoch ``k = 0..K_c``: states generated within ``T_max`` (the edges from the previous
        merged layer) and states left after merging.
    layers
        The merged states of every epoch ``0..K_c``, when asked for (for drawing the tree).
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

    @property
    def epochs(self) -> int:
        """``K_c``."""
        return int(self.choice.shape[0])

    def final_cells(self) -> np.ndarray:
        """Cells of the states at epoch ``K_c``: each one is a path to Θ."""
        return np.flatnonzero(np.isfinite(self.final_energy_j))

    def path(self, cell: int) -> np.ndarray:
        """Epochs per option of the least-energy path ending in ``cell`` at epoch ``K_c``."""
        counts = np.zeros(self.num_options, dtype=np.int64)
        for k in range(self.epochs - 1, -1, -1):
            option = int(self.choice[k, cell])
            if option < 0:
                raise ValueError(f"no state at epoch {k + 1}, cell {cell}")
            counts[option] += 1
            cell = int(self.origin[k, cell])
        if cell != self.start_cell:  # pragma: no cover - a broken back-pointer chain
            raise AssertionError("path does not lead back to the quantized-model vertex")
        return counts


def _first_per_cell(target: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Mask keeping, of entries with equal ``target`` (sorted), the least energy (first on ties)."""
    keep = np.ones(len(target), dtype=bool)
    same = np.flatnonzero(target[1:] == target[:-1])
    if len(same) == 0:
        return keep
    if len(same) > 1 and np.any(np.diff(same) == 1):  # a run of three or more: sort it out
        order = np.lexsort((np.arange(len(target)), energy, target))
        first = np.r_[True, target[order][1:] != target[order][:-1]]
        keep[:] = False
        keep[order[first]] = True
        return keep
    keep[np.where(energy[same + 1] < energy[same], same, same + 1)] = False
    return keep


def create_tree(
    problem: Problem,
    candidate: int,
    time_buckets: int = 1000,
    keep_layers: bool = False,
    lookahead: bool = True,
) -> CandidateTree:
    """Algorithm 1 (CreateTree) for one candidate, with states merged on a time grid.

    A Bellman step per epoch: every merged state of epoch ``k - 1`` (its least-energy path, true
    elapsed time ``T``) is expanded by every option ``o`` to elapsed time ``T + t_o`` (lines
    28–37); children beyond ``T_max`` are dropped; children whose times fall in the same cell merge
    into the least-energy one (ties: the lower option index, then the earlier parent cell). A
    state's cell is ``ceil(T / cell_s)``, so the states of one cell differ by less than a cell in
    time. ``O(K_c * B * O_c)`` time (the children of one option come out sorted by cell, so merging
    needs no sort).

    With ``lookahead`` (default), a child that cannot reach Θ in time even with the fastest option
    in every remaining epoch (``T' + (K_c - k) * t_min > T_max``) is dropped too, before merging.
    Such a state lies on no path to Θ, so the unmerged tree's paths to Θ are unchanged; but the
    merge then keeps the least-energy state that can still finish, instead of a cheaper one that
    cannot, which would shadow its cell. With it, some path reaches Θ whenever the fastest plan fits
    and the least energy per final cell is never higher than without it.
    """
    if isinstance(time_buckets, bool) or not isinstance(time_buckets, (int, np.integer)):
        raise OptionError(f"time_buckets {time_buckets!r} not understood (a whole number >= 1).")
    if time_buckets < 1:
        raise OptionError(f"time_buckets {time_buckets} not understood (must be >= 1).")
    cand = problem.candidates[candidate]
    last = int(time_buckets)  # index of the last cell; arrays have last + 1 entries (cell 0 too)
    cell_s = problem.time_limit_s / last
    start = int(_cells(cand.quantize_time_s, cell_s))
    epochs = cand.epochs
    limit = problem.time_limit_s / (1.0 - _ROUND_SLACK)  # the largest time whose cell is <= B
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
    for k in range(1, epochs + 1):
        if len(cells) == 0:
            break
        new_energy = np.full(last + 1, np.inf)
        new_elapsed = np.full(last + 1, np.nan)
        arrived, parent = choice[k - 1], origin[k - 1]
        deadline = limit - (epochs - k) * fastest  # latest time to be here and still finish
        count = 0
        for o in range(cand.num_options):
            child_time = elapsed + cand.option_time_s[o]  # T' = T + tau_run + tau_tran
            child_cell = _cells(child_time, cell_s)  # sorted, as the parents are
            fits = min(
                int(np.searchsorted(child_cell, last, side="right")),  # T' <= T_max
                int(np.searchsorted(child_time, deadline, side="right")),  # can still finish
            )
            if fits == 0:
                continue
            count += fits
            child_cell, child_time = child_cell[:fits], child_time[:fits]
            child_energy = energy[:fits] + cand.option_energy_j[o]  # eq. (6): edge weight
            first = _first_per_cell(child_cell, child_energy)
            child_cell, child_time = child_cell[first], child_time[first]
            child_energy, from_cell = child_energy[first], cells[:fits][first]
            better = child_energy < new_energy[child_cell]  # strict: ties keep the lower option
            where = child_cell[better]
            new_energy[where] = child_energy[better]
            new_elapsed[where] = child_time[better]
            arrived[where] = o
            parent[where] = from_cell[better]
        cells = np.flatnonzero(np.isfinite(new_energy))
        elapsed, energy = new_elapsed[cells], new_energy[cells]
        generated[k], kept[k] = count, len(cells)
        if keep_layers:
            layers.append(Layer(cells, elapsed, energy))
    final_energy = np.full(last + 1, np.inf)
    final_time = np.full(last + 1, np.nan)
    if kept[epochs] > 0:
        final_energy[cells], final_time[cells] = energy, elapsed
    return CandidateTree(
        candidate, last, cell_s, start, cand.num_options, final_energy, final_time, choice, origin,
        generated, kept, tuple(layers) if keep_layers else None,
    )  # fmt: skip


def path_scores(
    cand: Candidate, energy_j: np.ndarray, time_s: np.ndarray, weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Algorithm 4, lines 2–8, for paths of one candidate with total energy ``energy_j`` (the path
    weight ``w``, quantization included) and true time ``time_s`` (``tau`` included).

    Returns ``(score, risk, opp)`` per path: ``score = w * (risk / opp) ** weight``.
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
    opp = np.divide(t_exp, t_rob, out=np.ones_like(t_rob), where=t_rob > 0)  # line 4
    risk = np.full_like(energy_j, l_exp / l_rob)  # lines 5-7
    score = energy_j * (risk / opp) ** weight  # line 8
    return score, risk, opp


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


def solve_jqodi(
    problem: Problem,
    time_limit: float | None,
    *,
    time_buckets: int = 1000,
    score: Score = "risk",
    weight: float = 1.0,
    lookahead: bool = True,
) -> SolverOutput:
    """JQODI (Algorithms 1–4) on ``problem``; see the module docstring.

    Parameters
    ----------
    problem
        The compiled problem.
    time_limit
        Wall-clock limit (s): checked between candidates; when hit, the paths found so far are
        scored and the status is ``time_limit``.
    time_buckets
        ``B``, cells of the time grid over ``[0, T_max]`` (default 1000). Larger is closer to the
        unmerged tree and slower: ``O(sum_c K_c * B * O_c)``.
    score
        ``"risk"`` (Algorithm 4) or ``"energy"`` (least-energy path).
    weight
        Exponent of ``risk / opp`` in the score (1: the paper's score; 0: least energy).
    lookahead
        Drop states that cannot reach Θ in time before merging (see :func:`create_tree`); False
        expands every state within ``T_max``, as Algorithm 1 does.
    """
    if score not in ("risk", "energy"):
        raise OptionError(f"score {score!r} not understood (risk or energy).")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
        raise OptionError(f"weight {weight!r} not understood (a number >= 0).")
    if not math.isfinite(weight):
        raise OptionError(f"weight {weight!r} not understood (must be finite).")
    started = time.perf_counter()
    exponent = 0.0 if score == "energy" else float(weight)

    scores: list[np.ndarray] = []
    owners: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # candidate, cells, risk, opp
    trees: dict[int, CandidateTree] = {}
    generated = kept = 0
    timed_out = False
    for c, cand in enumerate(problem.candidates):
        if time_limit is not None and time.perf_counter() - started > time_limit:
            timed_out = True
            break
        tree = create_tree(problem, c, time_buckets, lookahead=bool(lookahead))
        trees[c] = tree
        generated += int(tree.generated.sum())
        kept += int(tree.kept.sum())
        cells = tree.final_cells()  # Algorithms 2-3: the paths that reach Θ
        if len(cells) == 0:
            continue
        energy = cand.quantize_energy_j + tree.final_energy_j[cells]
        path_score, risk, opp = path_scores(cand, energy, tree.final_time_s[cells], exponent)
        scores.append(path_score)
        owners.append((c, cells, risk, opp))

    stats: dict[str, Any] = {
        "time_buckets": int(time_buckets),
        "cell_s": problem.time_limit_s / time_buckets,
        "score_rule": score,
        "weight": float(weight),
        "lookahead": bool(lookahead),
        "candidates_expanded": len(trees),
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
        for (c, cells, risk, opp), part in zip(owners, scores, strict=True):
            if best < offset + len(part):
                i = best - offset
                counts = trees[c].path(int(cells[i]))
                stats.update(score=float(part[i]), risk=float(risk[i]), opp=float(opp[i]))
                elapsed = time.perf_counter() - started
                return SolverOutput(status, c, counts, solve_time_s=elapsed, stats=stats)
            offset += len(part)

    elapsed = time.perf_counter() - started
    if problem.infeasibility_reasons():
        return SolverOutput(Status.INFEASIBLE, solve_time_s=elapsed, stats=stats)
    if timed_out:
        return SolverOutput(
            Status.TIME_LIMIT,
            solve_time_s=elapsed,
            stats=stats,
            message="time limit before any path reached Θ",
        )
    fallback = _fastest_plan(problem)
    if fallback is None:  # pragma: no cover - infeasibility_reasons() says some fastest plan fits
        return SolverOutput(
            Status.ERROR,
            solve_time_s=elapsed,
            stats=stats,
            message="no path to Θ and no fastest plan within T_max",
        )
    stats["fallback"] = True
    return SolverOutput(
        Status.FEASIBLE,
        fallback[0],
        fallback[1],
        solve_time_s=elapsed,
        stats=stats,
        message=f"no path reached Θ on a grid of {time_buckets} cells (times rounded up); "
        "returned the fastest plan instead (raise time_buckets for a finer grid)",
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
        for o in range(cand.num_options):
            child_cell = _cells(parent.elapsed_s + cand.option_time_s[o], tree.cell_s)
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
