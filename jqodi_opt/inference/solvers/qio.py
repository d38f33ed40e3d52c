"""Mu et al.'s quantum-inspired optimizer (IEEE IoT J. 2024, Algorithm 1; SPEC §7.4, not exact).

What it searches (Mu et al. §IV-C, §V-B): one partition point of the model between the device and
one server, and the compression knobs. A candidate is a vector ``X`` in ``[0, 1]^D`` mapped onto
choices by Mu's *mapping factor*: coordinate ``x`` over ``n`` options picks option
``min(floor(x n), n - 1)``. The coordinates are

- the partition point ``c`` (layers ``0..c-1`` of the model's topological order on the device, the
  rest on the server; ``c = L`` is all on the device),
- the server, when more than one is linked to the device (Mu et al. have one),
- each layer's bit-width and pruning ratio, and each tensor's compression ratio, wherever the
  instance offers more than one value (Mu et al.: layerwise sparsity and the encoder–decoder
  parameters; quantization is the same kind of knob here). A compression coordinate matters only
  when its tensor is sent.

Algorithm 1 (the multi-scale quantum harmonic oscillator algorithm Mu et al. build on), with their
parameters ``k = 5`` solutions, ``t_max = 20`` scales and ``λ = 1.3`` by default:

1. ``k`` solutions uniform in ``[0, 1]^D``, each redrawn until it passes the accuracy check;
2. for ``t = 1..t_max`` at scale ``σ_s`` (1 at first, divided by ``λ`` after each scale):
   while the population's spread ``σ`` exceeds ``σ_s`` — *energy level stabilisation*: repeat
   (at least once, until ``|Δσ| <= σ_s``) for each solution ``X_j``: draw ``X' ~ N(X_j, σ_s² I)``
   (clipped to ``[0, 1]``), redraw while its predicted accuracy fails the budget (Algorithm 1
   lines 10–13), and keep ``X'`` if it is better than ``X_j``; then recompute ``σ``. *Energy level
   transition*: replace the worst solution by the population mean, recompute ``σ``.
3. Return the best plan seen.

``σ`` is the root-mean-square over coordinates of the per-coordinate standard deviation of the
``k`` solutions.

The **accuracy check** (Mu's *accuracy predictor*) is the instance's polynomial of SPEC §7.2 by
default; ``predictor="gradient-boosting"`` with ``samples=CSV`` fits Mu's GradientBoosting regressor
on a ``fit-accuracy`` samples file (seeded) and gates candidates with it instead — the plan returned
must still satisfy the instance's polynomial budget, since that is what ``evaluate`` checks.

Departures from the paper, each because the paper leaves the point open or the problem is wider:

- "better" compares solutions by (total relative violation of the other rules — memory, latency and
  device-energy limits, links —, objective value), a feasibility-first rule; Mu et al. have no
  such constraints. A plan is *returned* only if it breaks no rule.
- Line 25 replaces the worst solution by the mean; a solution that already is such a mean (and
  has not moved since) is passed over, else on the plateaus of a discrete problem the mean —
  often the worst — would be replaced by itself forever and the population never contract.
- Algorithm 1 line 16 reads "if ``T_j < T_min``"; we keep ``X'`` when it improves its own solution
  ``X_j`` (as the underlying MQHOA does) and track the best plan separately.
- The redraw of lines 10–13 is bounded (``max_redraws``, default 50; then ``X_j`` is kept for that
  round). An initial solution that fails the check ``max_redraws`` times is drawn with a uniform
  partition point and server and every knob unmodified — Mu's parameters generator "must
  guarantee" accurate candidates, and on a large model uniform knobs almost never are. The
  stabilisation rounds per scale (``max_rounds``) and the plans evaluated in all
  (``max_evaluations``) are bounded too, so a run always ends.
- Mu et al. minimise latency; the objective here is the instance's (``weighted`` needs the payoff
  table of the full problem, given by the caller).
- One server is chosen per plan (a coordinate), as the seed's device–server setting; a plan never
  uses two servers or a non-prefix DAG placement.

Runs are deterministic for a given ``seed`` (numpy's ``default_rng``), unless the time limit cuts
one short.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from jqodi_opt.exceptions import InputError, OptionError
from jqodi_opt.inference.accuracy import accuracy_drop
from jqodi_opt.inference.costs import assignment_costs
from jqodi_opt.inference.problem import (
    DROP_TOLERANCE,
    LIMIT_TOLERANCE,
    Assignment,
    InferenceProblem,
    assignment_violations,
)
from jqodi_opt.inference.solvers.baselines import (
    Payoff,
    PlanOutput,
    as_inference_output,
    base_assignment,
    coerce_payoff,
    cut_placement,
    objective_weights,
)
from jqodi_opt.result import Status

if TYPE_CHECKING:
    from jqodi_opt.inference.solvers.core import InferenceOutput

PREDICTORS = ("polynomial", "gradient-boosting")


@dataclass(frozen=True)
class Encoding:
    """How a vector in ``[0, 1]^D`` maps onto a plan (module docstring).

    Attributes
    ----------
    servers
        The servers a plan may use beside the device (linked to it).
    server_dim
        The coordinate choosing the server (None when there is one).
    bits_dims, pruning_dims, compression_dims
        ``(element, coordinate, allowed choice indices)`` for every layer (tensor) with more than
        one allowed value; the others take their one allowed value.
    fixed
        The assignment that every plan starts from (single allowed values filled in).
    size
        ``D``.
    unmodified
        ``(D,)``: the coordinate of each knob's unmodified value (32 bits, no pruning, ratio 1; the
        middle of its interval), NaN for the partition point and the server.
    """

    servers: tuple[int, ...]
    server_dim: int | None
    bits_dims: tuple[tuple[int, int, np.ndarray], ...]
    pruning_dims: tuple[tuple[int, int, np.ndarray], ...]
    compression_dims: tuple[tuple[int, int, np.ndarray], ...]
    fixed: Assignment
    size: int
    unmodified: np.ndarray


def pick(x: float, options: int) -> int:
    """Mu's mapping factor: coordinate ``x`` in ``[0, 1]`` to one of ``options`` choices."""
    return min(int(x * options), options - 1)


def encoding(problem: InferenceProblem) -> Encoding:
    """The encoding of ``problem``'s single-cut plans."""
    dev = problem.device
    servers = tuple(
        k for k in range(problem.num_servers)
        if k != dev and problem.linked[dev, k] and problem.linked[k, dev]
    )  # fmt: skip
    base = base_assignment(problem, np.full(problem.num_layers, dev))
    bits, pruning, compression = base.bits.copy(), base.pruning.copy(), base.compression.copy()
    dim = 1  # coordinate 0: the partition point
    server_dim = None
    if len(servers) > 1:
        server_dim, dim = dim, dim + 1

    def knob(allowed: np.ndarray, current: np.ndarray) -> tuple[tuple[int, int, np.ndarray], ...]:
        nonlocal dim
        dims = []
        for element, mask in enumerate(allowed):
            options = np.flatnonzero(mask)
            if len(options) == 1:
                current[element] = options[0]
            elif len(options) > 1:
                dims.append((element, dim, options))
                dim += 1
        return tuple(dims)

    bits_dims = knob(problem.layer_bits_allowed, bits)
    pruning_dims = knob(problem.layer_pruning_allowed, pruning)
    compression_dims = knob(problem.tensor_compression_allowed, compression)
    fixed = Assignment(base.server, bits, pruning, compression)
    unmodified = np.full(dim, np.nan)
    for dims, default in (
        (bits_dims, base.bits),
        (pruning_dims, base.pruning),
        (compression_dims, base.compression),
    ):
        for element, d, options in dims:
            hit = np.flatnonzero(options == default[element])
            unmodified[d] = (hit[0] + 0.5) / len(options) if len(hit) else 0.0
    return Encoding(
        servers, server_dim, bits_dims, pruning_dims, compression_dims, fixed, dim, unmodified
    )


def decode(problem: InferenceProblem, code: Encoding, x: np.ndarray) -> Assignment:
    """The plan of vector ``x``."""
    n = problem.num_layers
    cut = pick(float(x[0]), n + 1) if code.servers else n
    server = problem.device
    if code.servers:
        which = 0 if code.server_dim is None else pick(float(x[code.server_dim]), len(code.servers))
        server = code.servers[which]
    bits = code.fixed.bits.copy()
    pruning = code.fixed.pruning.copy()
    compression = code.fixed.compression.copy()
    for dims, target in (
        (code.bits_dims, bits),
        (code.pruning_dims, pruning),
        (code.compression_dims, compression),
    ):
        for element, d, options in dims:
            target[element] = options[pick(float(x[d]), len(options))]
    return Assignment(cut_placement(problem, server, cut), bits, pruning, compression)


class GradientBoostingPredictor:
    """Mu et al.'s accuracy predictor: GradientBoosting fitted on a ``fit-accuracy`` samples file,
    predicting the drop of a plan from its choices in the file's columns."""

    def __init__(self, problem: InferenceProblem, samples: str | Path, seed: int) -> None:
        from sklearn.ensemble import GradientBoostingRegressor

        from jqodi_opt.inference.accuracy_fit import read_samples

        data = read_samples(samples)
        layer = {name: i for i, name in enumerate(problem.layers)}
        tensor = {name: t for t, name in enumerate(problem.tensors)}
        unknown = [
            c.header for c in data.columns
            if (c.name not in tensor if c.kind == "compression" else c.name not in layer)
        ]  # fmt: skip
        if unknown:
            raise OptionError(
                f"samples {samples}: column(s) {', '.join(unknown)} name no layer or tensor of "
                f"the instance"
            )
        self.columns = [
            (c.kind, tensor[c.name] if c.kind == "compression" else layer[c.name])
            for c in data.columns
        ]
        self.model = GradientBoostingRegressor(random_state=seed).fit(data.values, data.drop)
        self.problem = problem

    def __call__(self, assignment: Assignment, tensor_sent: np.ndarray) -> float:
        """The predicted drop of ``assignment``."""
        p = self.problem
        row = []
        for kind, element in self.columns:
            if kind == "bits":
                row.append(float(p.bits[assignment.bits[element]]))
            elif kind == "pruning":
                row.append(float(p.pruning[assignment.pruning[element]]))
            else:  # a tensor that is not sent is uncompressed
                sent = tensor_sent[element]
                row.append(float(p.compression[assignment.compression[element]]) if sent else 1.0)
        return float(self.model.predict(np.array([row]))[0])


@dataclass
class Scored:
    """A candidate with its plan, (violation, value) key and whether it breaks no rule."""

    x: np.ndarray
    plan: Assignment
    key: tuple[float, float]
    feasible: bool


def run_qio(
    problem: InferenceProblem,
    time_limit: float | None = None,
    k: int = 5,
    t_max: int = 20,
    scaling: float = 1.3,
    seed: int = 0,
    predictor: str = "polynomial",
    samples: str | None = None,
    max_redraws: int = 50,
    max_rounds: int = 1000,
    max_evaluations: int = 200_000,
    payoff: Payoff | None = None,
) -> PlanOutput:
    """Mu et al.'s Algorithm 1 on ``problem`` (module docstring).

    Parameters
    ----------
    k, t_max, scaling
        Population size, number of scales and scale factor λ (Mu et al.: 5, 20, 1.3).
    seed
        Seed of the random draws.
    predictor, samples
        ``polynomial`` (the instance's accuracy polynomial) or ``gradient-boosting`` fitted on the
        ``samples`` CSV (format of ``jqodi fit-accuracy``).
    max_redraws, max_rounds, max_evaluations
        Bounds on the accuracy redraws per sample, the stabilisation rounds per scale and the plans
        evaluated in all.
    payoff
        ``(T*, E*, T^N, E^N)`` of the full problem, for the ``weighted`` objective.
    """
    check_options(problem, k, t_max, scaling, predictor, samples, max_redraws, max_rounds,
                  max_evaluations)  # fmt: skip
    weights, offset = objective_weights(problem, payoff)
    gradient_boosting = (
        GradientBoostingPredictor(problem, samples, seed)
        if predictor == "gradient-boosting" and samples
        else None
    )
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    rng = np.random.default_rng(seed)
    code = encoding(problem)
    evaluations = 0
    best: Scored | None = None

    def accurate(plan: Assignment) -> bool:
        if gradient_boosting is None:
            drop = accuracy_drop(problem, plan)
        else:
            drop = gradient_boosting(plan, assignment_costs(problem, plan).tensor_sent)
        return drop <= problem.max_drop * (1 + LIMIT_TOLERANCE) + DROP_TOLERANCE

    def score(x: np.ndarray, plan: Assignment | None = None) -> Scored:
        nonlocal evaluations, best
        evaluations += 1
        plan = decode(problem, code, x) if plan is None else plan
        costs = assignment_costs(problem, plan)
        with np.errstate(invalid="ignore"):  # 0 * inf where a needed link is missing
            value = float(weights @ [costs.latency_s, costs.energy_j, costs.device_energy_j])
        violation = _violation(problem, costs)
        key = (violation, value if math.isfinite(value) else math.inf)
        scored = Scored(x, plan, key, False)
        if violation == 0 and (best is None or value < best.key[1]):
            # every rule, including the instance's accuracy budget, checked only for a new best
            scored.feasible = not assignment_violations(problem, plan)
            if scored.feasible:
                best = scored
        return scored

    def draw(center: np.ndarray | None, sigma: float) -> tuple[np.ndarray, Assignment, bool]:
        """Algorithm 1 lines 10-13: a sample that passes the accuracy check, redrawn if needed."""
        x, plan = np.empty(0), code.fixed
        for _ in range(max_redraws):
            if center is None:
                x = rng.uniform(0.0, 1.0, code.size)
            else:
                x = np.clip(center + sigma * rng.standard_normal(code.size), 0.0, 1.0)
            plan = decode(problem, code, x)
            if accurate(plan):
                return x, plan, True
        if center is None:
            # the parameters generator must hand out accurate candidates (Mu et al. §V-B1): a
            # uniform partition point and server with every knob at its unmodified value
            x = np.where(np.isnan(code.unmodified), rng.uniform(0.0, 1.0, code.size),
                         code.unmodified)  # fmt: skip
            plan = decode(problem, code, x)
            return x, plan, accurate(plan)
        return x, plan, False

    def spread(population: list[Scored]) -> float:
        stack = np.array([s.x for s in population])
        return float(np.sqrt(np.mean(stack.std(axis=0) ** 2)))

    def out_of_budget() -> bool:
        return evaluations >= max_evaluations or (
            deadline is not None and time.perf_counter() > deadline
        )

    # line 1-5: k solutions, uniformly
    population = [score(*draw(None, 1.0)[:2]) for _ in range(k)]
    at_mean: set[int] = set()  # solutions replaced by a mean and not moved since
    sigma_s = 1.0
    scales = rounds = 0
    stopped = ""
    for _t in range(t_max):  # line 6
        scales += 1
        sigma = spread(population)
        while sigma > sigma_s and not stopped:  # line 7: energy level transition loop
            delta = math.inf
            while delta > sigma_s:  # line 8: energy level stabilisation
                rounds += 1
                for j, current in enumerate(population):  # lines 9-20
                    x, plan, ok = draw(current.x, sigma_s)
                    if not ok:
                        continue  # no accurate sample this round: X_j stays
                    candidate = score(x, plan)
                    if candidate.key < current.key:
                        population[j] = candidate
                        at_mean.discard(j)
                new_sigma = spread(population)  # lines 21-23
                delta, sigma = abs(new_sigma - sigma), new_sigma
                if out_of_budget():
                    stopped = _which(evaluations, max_evaluations)
                    break
                if rounds >= max_rounds * scales:
                    stopped = "max_rounds"
                    break
            if stopped:
                break
            # line 25: the worst solution becomes the mean; one that already is a mean is passed
            # over (on a plateau the mean is often the worst, and replacing it again would never
            # contract the population)
            if len(at_mean) >= k:
                at_mean.clear()
            worst = max((j for j in range(k) if j not in at_mean), key=lambda j: population[j].key)
            population[worst] = score(np.mean([s.x for s in population], axis=0))
            at_mean.add(worst)
            sigma = spread(population)  # line 26
        if stopped:
            break
        sigma_s /= scaling  # line 28: scale adjustment
    stats: dict[str, Any] = {
        "evaluations": evaluations,
        "scales": scales,
        "rounds": rounds,
        "dimensions": code.size,
        "seed": seed,
        "predictor": predictor,
    }
    if stopped:
        stats["stopped"] = stopped
    if best is None:
        return PlanOutput(
            Status.INFEASIBLE,
            reasons=[f"qio found no feasible plan in {evaluations} evaluations"],
            stats=stats,
        )
    return PlanOutput(Status.FEASIBLE, best.plan, best.key[1] - offset, stats=stats)


def solve_qio(
    problem: InferenceProblem,
    time_limit: float | None = None,
    k: int = 5,
    t_max: int = 20,
    scaling: float = 1.3,
    seed: int = 0,
    predictor: str = "polynomial",
    samples: str | None = None,
    max_redraws: int = 50,
    max_rounds: int = 1000,
    max_evaluations: int = 200_000,
    payoff: Any = None,
) -> InferenceOutput:
    """Mu et al.'s Algorithm 1 for :func:`jqodi_opt.solve.solve` (options as :func:`run_qio`;
    ``payoff``: the ``weighted`` objective's payoff table when the caller has it,
    :func:`~.objectives.coerce_payoff`)."""
    check_options(problem, k, t_max, scaling, predictor, samples, max_redraws, max_rounds,
                  max_evaluations)  # fmt: skip
    table = coerce_payoff(payoff)

    def run(payoff: Payoff | None, limit: float | None) -> PlanOutput:
        return run_qio(
            problem, limit, k, t_max, scaling, seed, predictor, samples, max_redraws, max_rounds,
            max_evaluations, payoff,
        )  # fmt: skip

    return as_inference_output(problem, run, time_limit, table)


def check_options(
    problem: InferenceProblem,
    k: int = 5,
    t_max: int = 20,
    scaling: float = 1.3,
    predictor: str = "polynomial",
    samples: str | None = None,
    max_redraws: int = 50,
    max_rounds: int = 1000,
    max_evaluations: int = 200_000,
    seed: int = 0,
) -> None:
    """Refuses option values :func:`run_qio` cannot take, before any work (:class:`OptionError`)."""
    if k < 2:
        raise OptionError(f"k {k} not understood (at least 2 solutions).")
    if t_max < 1:
        raise OptionError(f"t_max {t_max} not understood (at least 1).")
    if not scaling > 1:
        raise OptionError(f"scaling {scaling} not understood (λ must be > 1).")
    if predictor not in PREDICTORS:
        raise OptionError(f"predictor {predictor!r} not understood ({', '.join(PREDICTORS)}).")
    if predictor == "gradient-boosting" and not samples:
        raise OptionError("predictor 'gradient-boosting' needs samples=CSV (see fit-accuracy).")
    if predictor == "gradient-boosting" and samples:
        from jqodi_opt.inference.accuracy_fit import read_samples

        try:
            read_samples(samples)
        except InputError as exc:  # a bad samples file is a bad option value: one line, exit 2
            raise OptionError("; ".join(exc.lines()[:3])) from None
    if min(max_redraws, max_rounds, max_evaluations) < 1:
        raise OptionError("max_redraws, max_rounds and max_evaluations must be >= 1.")


def _which(evaluations: int, max_evaluations: int) -> str:
    return "max_evaluations" if evaluations >= max_evaluations else "time limit"


def _violation(problem: InferenceProblem, costs: Any) -> float:
    """Total relative excess over the limits and memory (inf for a missing link)."""
    if not math.isfinite(costs.latency_s):
        return math.inf
    excess = 0.0
    for used, cap in (
        (costs.latency_s, problem.latency_limit_s),
        (costs.device_energy_j, problem.device_energy_limit_j),
        *zip(costs.memory_bytes, problem.server_memory_bytes, strict=True),
    ):
        if math.isfinite(cap) and used > cap * (1 + LIMIT_TOLERANCE):
            excess += (used - cap) / max(cap, 1e-300)
    return excess
