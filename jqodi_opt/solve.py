"""One entry point for every solver: ``solve(problem, solver=..., time_limit=..., **options)``.

The solver name and its options are checked before anything is built; the backend module is imported
only then. Every backend returns a :class:`~jqodi_opt.result.SolverOutput` in the problem's index
space; this module turns it into a :class:`~jqodi_opt.result.Result`, passing the plan through the
independent :func:`~jqodi_opt.finetune.evaluate.evaluate` first — a plan that fails it becomes an
``error``.
"""

from __future__ import annotations

import importlib
import inspect
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from jqodi_opt.exceptions import OptionError, SolverNotFound, SolverRefused
from jqodi_opt.finetune.evaluate import evaluate
from jqodi_opt.finetune.plan import make_plan
from jqodi_opt.finetune.problem import OPTIMALITY_GAP, Problem
from jqodi_opt.finetune.solvers.options import real_number
from jqodi_opt.result import Result, SolverOutput, Status, settle_proof

#: Objective agreement between exact solvers (SPEC §1.3).
OBJECTIVE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SolverInfo:
    """A registered solver: where its backend lives and what it promises."""

    module: str
    function: str
    exact: bool
    description: str


SOLVERS: dict[str, SolverInfo] = {
    "milp": SolverInfo(
        "jqodi_opt.finetune.solvers.milp", "solve_milp", True, "MCK MILP in Pyomo, solved by HiGHS"
    ),
    "cpsat": SolverInfo(
        "jqodi_opt.finetune.solvers.cpsat", "solve_cpsat", True, "the same model in OR-Tools CP-SAT"
    ),
    "exhaustive": SolverInfo(
        "jqodi_opt.finetune.solvers.exhaustive",
        "solve_exhaustive",
        True,
        "brute force (paper's Optimum)",
    ),
    "jqodi": SolverInfo(
        "jqodi_opt.finetune.solvers.jqodi",
        "solve_jqodi",
        False,
        "paper's heuristic, Algorithms 1-4",
    ),
    "full-model": SolverInfo(
        "jqodi_opt.finetune.solvers.baselines",
        "solve_full_model",
        False,
        "32-bit only (paper baseline)",
    ),
    "minimal-model": SolverInfo(
        "jqodi_opt.finetune.solvers.baselines",
        "solve_minimal_model",
        False,
        "smallest bit-width only (paper baseline)",
    ),
    "all-local": SolverInfo(
        "jqodi_opt.finetune.solvers.baselines",
        "solve_all_local",
        False,
        "cut at n: all on the device",
    ),
    "all-server": SolverInfo(
        "jqodi_opt.finetune.solvers.baselines",
        "solve_all_server",
        False,
        "cut at 0: all on the server",
    ),
    "static": SolverInfo(
        "jqodi_opt.finetune.solvers.baselines",
        "solve_static",
        False,
        "one (server, cut) for all epochs",
    ),
}


#: Inference solvers (SPEC §7.4), same :class:`SolverInfo`.
INFERENCE_SOLVERS: dict[str, SolverInfo] = {
    "milp": SolverInfo(
        "jqodi_opt.inference.solvers.milp", "solve_milp", True,
        "placement x bits x pruning x compression MILP (per-edge flows), solved by HiGHS",
    ),
    "cpsat": SolverInfo(
        "jqodi_opt.inference.solvers.cpsat", "solve_cpsat", True,
        "the same model in OR-Tools CP-SAT (integer-scaled, plans feasible in floating point)",
    ),
    "dp": SolverInfo(
        "jqodi_opt.inference.solvers.dp", "solve_dp", True,
        "shortest path / label-setting DP over a chain's layers (refuses a DAG)",
    ),
    "dag-dp": SolverInfo(
        "jqodi_opt.inference.solvers.dagdp", "solve_dagdp", True,
        "label-setting DP over a DAG's frontier, bounded by a first narrow pass",
    ),
    "exhaustive": SolverInfo(
        "jqodi_opt.inference.solvers.exhaustive", "solve_exhaustive", True,
        "every plan of a tiny instance",
    ),
    # the seeds' methods and baselines (not exact; ibase)
    "qio": SolverInfo(
        "jqodi_opt.inference.solvers.qio", "solve_qio", False,
        "Mu et al.'s quantum-inspired optimizer (Algorithm 1; k=5, t_max=20, lambda=1.3)",
    ),
    "all-local": SolverInfo(
        "jqodi_opt.inference.solvers.baselines", "solve_all_local", False,
        "whole original model on the device (Mu baseline)",
    ),
    "all-server": SolverInfo(
        "jqodi_opt.inference.solvers.baselines", "solve_all_server", False,
        "whole original model on the best single server (Mu baseline)",
    ),
    "neurosurgeon": SolverInfo(
        "jqodi_opt.inference.solvers.baselines", "solve_neurosurgeon", False,
        "best single cut, device then one server, original model",
    ),
    "prune-partition": SolverInfo(
        "jqodi_opt.inference.solvers.baselines", "solve_prune_partition", False,
        "best single cut with per-layer pruning only (Mu baseline)",
    ),
    "bottlenet": SolverInfo(
        "jqodi_opt.inference.solvers.baselines", "solve_bottlenet", False,
        "best single cut with feature compression only (Mu baseline)",
    ),
    "dads": SolverInfo(
        "jqodi_opt.inference.solvers.dads", "solve_dads", False,
        "DADS: minimum s-t cut between the device and one server (networkx)",
    ),
}  # fmt: skip

#: The registry of each problem family.
FAMILIES: dict[str, dict[str, SolverInfo]] = {"finetune": SOLVERS, "inference": INFERENCE_SOLVERS}


def family_of(problem: Any) -> str:
    """``"inference"`` for an :class:`~jqodi_opt.inference.problem.InferenceProblem`, else
    ``"finetune"``."""
    from jqodi_opt.inference.problem import InferenceProblem

    return "inference" if isinstance(problem, InferenceProblem) else "finetune"


def backend(solver: str, family: str = "finetune") -> Callable[..., Any]:
    """The backend function of ``solver`` in ``family``'s registry, imported on first use."""
    registry = FAMILIES[family]
    if solver not in registry:
        raise SolverNotFound(
            f"unknown solver {solver!r} for a {family} problem; choose from {', '.join(registry)}."
        )
    info = registry[solver]
    module = importlib.import_module(info.module)
    function: Callable[..., SolverOutput] = getattr(module, info.function)
    return function


def check_options(solver: str, function: Callable[..., Any], options: dict[str, Any]) -> None:
    """Refuses options the backend does not take, naming them and the ones it does."""
    params = inspect.signature(function).parameters
    allowed = [name for name in params if name not in ("problem", "time_limit")]
    unknown = [name for name in options if name not in allowed]
    if unknown:
        raise OptionError(
            f"solver {solver!r} does not take option(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(allowed) or 'none'}."
        )


def solve(
    problem: Any, solver: str = "milp", time_limit: float | None = None, **options: Any
) -> Result:
    """Solves ``problem`` with ``solver`` and returns a checked :class:`Result`.

    Parameters
    ----------
    problem
        The compiled problem: fine-tuning (:func:`jqodi_opt.finetune.problem.compile_problem`) or
        inference (:func:`jqodi_opt.inference.problem.compile_inference`); the solver comes from
        that family's registry.
    solver
        A name from :data:`SOLVERS` (fine-tuning) or :data:`INFERENCE_SOLVERS` (inference).
    time_limit
        Wall-clock limit in seconds for the backend (None: no limit).
    **options
        Backend options (e.g. ``formulation``, ``mip_rel_gap``, ``num_workers`` for ``milp``).

    Raises
    ------
    TypeError
        When ``problem`` is not a compiled problem (an instance, a dict, ...).
    SolverNotFound
        For an unknown solver name.
    OptionError
        For a time limit that is not a positive number, an option the backend does not take, or an
        option value it cannot take (a ``ValueError``).
    SolverRefused
        When the backend declines the instance (``exhaustive`` above its size limit).
    """
    if time_limit is not None:
        time_limit = real_number("time_limit", time_limit, low=0.0, low_open=True)
    family = family_of(problem)
    if family == "finetune" and not isinstance(problem, Problem):
        raise TypeError(
            f"solve() takes a compiled problem, not {type(problem).__name__}: "
            "compile_problem(instance) or compile_inference(instance) first."
        )
    function = backend(solver, family)
    check_options(solver, function, options)
    if problem.instance is None:
        raise ValueError("problem has no instance to check plans against; compile it from one.")
    if family == "inference":
        return _solve_inference(problem, solver, function, time_limit, options)

    if not problem.candidates:
        return Result(
            solver, Status.INFEASIBLE, reasons=problem.infeasibility_reasons(),
            instance_name=problem.name,
        )  # fmt: skip
    start = time.perf_counter()
    try:
        output = function(problem, time_limit, **options)
    except (OptionError, SolverRefused):  # the caller's request, refused before any work
        raise
    except Exception as exc:  # a backend crash is reported, not raised
        elapsed = time.perf_counter() - start
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Result(
            solver, Status.ERROR, solve_time_s=elapsed, reasons=[detail],
            instance_name=problem.name,
        )  # fmt: skip
    return finish(problem, solver, output)


def _solve_inference(
    problem: Any,
    solver: str,
    function: Callable[..., Any],
    time_limit: float | None,
    options: dict[str, Any],
) -> Result:
    """Runs an inference backend; its plan goes through ``evaluate_inference``
    (:func:`jqodi_opt.inference.solvers.finish.finish_inference`)."""
    from jqodi_opt.inference.solvers.finish import finish_inference

    start = time.perf_counter()
    try:
        output = function(problem, time_limit, **options)
    except (OptionError, SolverRefused):
        raise
    except Exception as exc:  # a backend crash is reported, not raised
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Result(
            solver, Status.ERROR, solve_time_s=time.perf_counter() - start, reasons=[detail],
            instance_name=problem.name, family="inference",
        )  # fmt: skip
    return finish_inference(problem, solver, output, INFERENCE_SOLVERS[solver].exact)


def finish(problem: Problem, solver: str, output: SolverOutput) -> Result:
    """Turns a backend's output into a :class:`Result`, checking its plan with ``evaluate``."""
    result = Result(
        solver=solver,
        status=output.status,
        bound=output.bound,
        build_time_s=output.build_time_s,
        solve_time_s=output.solve_time_s,
        stats=dict(output.stats),
        reasons=[output.message] if output.message else [],
        instance_name=problem.name,
    )
    if output.status is Status.INFEASIBLE:
        reasons = problem.infeasibility_reasons()
        if reasons:
            result.reasons = reasons
        elif not SOLVERS[solver].exact and output.reasons:
            # A baseline's restriction (or a heuristic's search) can be infeasible on a feasible
            # problem; it says why itself.
            result.reasons = list(output.reasons)
        else:
            # Infeasibility is decided exactly (some candidate's fastest plan fits T_max), so an
            # exact solver contradicting it has failed.
            result.status = Status.ERROR
            result.reasons = [
                "the solver reports infeasible, but the fastest plan of some candidate fits T_max"
            ]
        return result
    if output.candidate is None or output.option_epochs is None:
        if output.status in (Status.OPTIMAL, Status.FEASIBLE):
            result.status = Status.ERROR
            result.reasons.append(f"solver reported {output.status} without a plan")
        return result

    plan = make_plan(problem, output.candidate, np.asarray(output.option_epochs), solver=solver)
    assert problem.instance is not None
    check = evaluate(problem.instance, plan, problem.estimator)
    if not check.feasible:
        result.status = Status.ERROR
        result.reasons.extend(f"plan rejected by evaluate: {v}" for v in check.violations)
        return result
    # The evaluated figures, the status (after the proof check) and the bound are decided first;
    # the plan is then stamped once with all of them, and Result reads nothing else back.
    energy = check.energy_j
    result.objective = energy
    settle_proof(
        result, energy, output.bound, output.status is Status.OPTIMAL,
        gap_limit=OPTIMALITY_GAP, unit=" J",
    )  # fmt: skip
    result.plan = plan.model_copy(
        update={
            "status": str(result.status),
            "energy_j": energy,
            "time_s": check.time_s,
            "final_loss": check.final_loss,
            "bound_j": result.bound,
            "gap": result.gap,
            "runtime_s": result.runtime_s,
        }
    )
    return result
