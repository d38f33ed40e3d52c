"""From a backend's :class:`~.core.InferenceOutput` to the package's one
:class:`~jqodi_opt.result.Result`, through the independent
:func:`~jqodi_opt.inference.evaluate.evaluate_inference`.

The objective value, latency, energy, device energy and accuracy drop of the result are
``evaluate``'s, never the backend's. The backend's own pricing must agree with them to
:data:`PRICING_TOLERANCE` (a disagreement means a modelling error, and the result is an ``error``).
``gap = (value - bound) / max(|value|, floor)`` with ``floor`` 1 for the normalised ``weighted``
objective (its values are of order 1 and its optimum may be 0) and 1e-12 otherwise; ``optimal``
stands only when that gap is within :data:`~jqodi_opt.finetune.problem.OPTIMALITY_GAP` (plus
:data:`~jqodi_opt.result.BOUND_SLACK`).
"""

from __future__ import annotations

import math

import numpy as np

from jqodi_opt.finetune.problem import OPTIMALITY_GAP
from jqodi_opt.inference.evaluate import evaluate_inference
from jqodi_opt.inference.plan import FORMAT, make_inference_plan
from jqodi_opt.inference.problem import InferenceProblem
from jqodi_opt.inference.solvers.core import InferenceOutput
from jqodi_opt.result import Result, Status, settle_proof

#: Relative agreement asked between a backend's pricing of its plan and ``evaluate``'s.
PRICING_TOLERANCE = 1e-7


def gap_floor(problem: InferenceProblem, output: InferenceOutput) -> float:
    """Denominator floor of the relative gap (module docstring)."""
    return 1.0 if output.offset else 1e-12


def finish_inference(
    problem: InferenceProblem, solver: str, output: InferenceOutput, exact: bool
) -> Result:
    """The :class:`Result` of ``output``, its plan checked by ``evaluate_inference``."""
    result = Result(
        solver=solver,
        status=output.status,
        bound=output.bound,
        build_time_s=output.build_time_s,
        solve_time_s=output.solve_time_s,
        stats=dict(output.stats),
        reasons=[output.message] if output.message else [],
        instance_name=problem.name,
        family="inference",
    )
    if output.payoff is not None:
        result.stats["payoff"] = dict(output.payoff)
    if output.status is Status.INFEASIBLE:
        if output.reasons:
            result.reasons = list(output.reasons)
        elif exact:
            result.reasons = [
                f"no plan meets memory, the accuracy budget and the limits ({solver} proved it)"
            ]
        return result
    if output.assignment is None:
        if output.status in (Status.OPTIMAL, Status.FEASIBLE):
            result.status = Status.ERROR
            result.reasons.append(f"solver reported {output.status} without a plan")
        return result

    plan = make_inference_plan(problem, output.assignment, solver=solver, status=str(output.status))
    assert problem.instance is not None
    check = evaluate_inference(problem.instance, plan)
    if not check.feasible:
        result.status = Status.ERROR
        result.reasons.extend(f"plan rejected by evaluate: {v}" for v in check.violations)
        return result
    cost = np.array([check.latency_s, check.energy_j, check.device_energy_j])
    if output.cost is not None:
        own = np.asarray(output.cost, dtype=float)
        scale = np.maximum(np.abs(cost), 1e-300)
        if np.any(np.abs(own - cost) > PRICING_TOLERANCE * scale + 1e-15):
            result.status = Status.ERROR
            result.reasons.append(
                f"the solver priced its plan at {own.tolist()} (latency, energy, device energy), "
                f"evaluate at {cost.tolist()}"
            )
            return result
    value = float(np.dot(output.objective_weights, cost)) - output.offset
    result.objective = value
    settle_proof(
        result, value, output.bound, output.status is Status.OPTIMAL,
        gap_limit=OPTIMALITY_GAP, floor=gap_floor(problem, output),
    )  # fmt: skip
    result.plan = plan.model_copy(
        update={
            "status": str(result.status),
            "objective_value": value,
            "latency_s": check.latency_s,
            "energy_j": check.energy_j,
            "device_energy_j": check.device_energy_j,
            "accuracy_drop": check.accuracy_drop,
            "bound": result.bound,
            "gap": result.gap,
            "runtime_s": result.runtime_s,
            "reasons": list(result.reasons) or None,
        }
    )
    return result


def no_plan_document(result: Result) -> dict[str, object]:
    """The ``jqodi-inference-plan/1`` document of a result without a plan."""
    doc: dict[str, object] = {
        "format": FORMAT,
        "instance": result.instance_name,
        "solver": result.solver,
        "status": str(result.status),
        "reasons": list(result.reasons),
        "runtime_s": result.runtime_s,
    }
    if result.bound is not None and math.isfinite(result.bound):
        doc["bound"] = result.bound
    return doc
