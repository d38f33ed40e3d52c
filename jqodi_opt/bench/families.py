"""The two problem families of the benchmark harness, behind one small interface.

A suite's ``family`` names either a fine-tuning generator family
(:data:`jqodi_opt.finetune.generate.FAMILIES`: ``paper-like``, ``tradeoff``, ``uncorrelated``) or an
inference one (:data:`jqodi_opt.inference.generate.FAMILIES`: ``chain``, ``dag``, ``profile``,
``mu2024``). The runner and the worker ask this module, and nothing else, how to check a sweep's
size knobs, generate an instance, compile it and describe it; everything else (storage, resume,
isolation, Dask) is the same for both.

Inference families differ from fine-tuning ones in two ways the suite file sees: their knobs may
be numbers or names (``model = "alexnet-cifar10"``, ``objective = "weighted"``), and they take no
``tightness`` (an inference instance has no time budget to place; its spec stores 0).
"""

from __future__ import annotations

import importlib
from typing import Any

from jqodi_opt.finetune import generate as finetune_generate
from jqodi_opt.inference import generate as inference_generate

FINETUNE_FAMILIES = finetune_generate.FAMILIES
INFERENCE_FAMILIES = inference_generate.FAMILIES
FAMILIES = (*FINETUNE_FAMILIES, *INFERENCE_FAMILIES)

#: Size knobs of the fine-tuning families (generate's keyword arguments).
FINETUNE_KNOBS = ("models", "bitwidths", "blocks", "cuts", "edge_servers", "epochs")


def is_inference(family: str) -> bool:
    """Whether ``family`` generates ``jqodi-inference/1`` instances."""
    return family in INFERENCE_FAMILIES


def knob_names(family: str) -> tuple[str, ...]:
    """The size knobs a sweep of ``family`` may set."""
    if is_inference(family):
        return tuple(inference_generate.KNOBS[family])
    return FINETUNE_KNOBS


def generator_version(family: str) -> int:
    """The generator version that the instance key records."""
    if is_inference(family):
        return inference_generate.GENERATOR_VERSION
    return finetune_generate.GENERATOR_VERSION


def resolve(family: str, knobs: dict[str, Any]) -> dict[str, Any]:
    """Every knob of ``family`` with ``knobs`` put in, checked; the pinned values a spec keeps.

    Raises
    ------
    ValueError, TypeError
        For an unknown knob or a value out of range (the message names the knob).
    """
    if is_inference(family):
        return {k: v for k, v in inference_generate.resolve_knobs(family, **knobs).items()
                if v is not None}  # fmt: skip
    sizes = finetune_generate.resolve_sizes(family, **knobs)
    return {k: v for k, v in vars(sizes).items() if v is not None}


def generate(family: str, *, seed: int, tightness: float = 0.5, **knobs: Any) -> dict[str, Any]:
    """The instance document of one spec (``tightness`` is ignored by inference families)."""
    if is_inference(family):
        return inference_generate.generate_inference_document(family, seed=seed, **knobs)
    return finetune_generate.generate_document(family, seed=seed, tightness=tightness, **knobs)


def document_hash(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (the same function for both families)."""
    return finetune_generate.instance_hash(document)


def compile_document(family: str, document: dict[str, Any], estimator: str = "robust") -> Any:
    """The compiled problem a solver reads: a fine-tuning ``Problem`` or an ``InferenceProblem``."""
    if is_inference(family):
        from jqodi_opt.inference.problem import compile_inference
        from jqodi_opt.inference.read import build_inference

        return compile_inference(build_inference(document, source=str(document.get("name"))))
    from jqodi_opt.finetune.problem import compile_problem
    from jqodi_opt.read import build_instance

    return compile_problem(build_instance(document), estimator=estimator)  # type: ignore[arg-type]


#: Instance columns that describe an inference instance (the rest stay empty for it).
INFERENCE_INFO = ("layers", "servers", "graph_edges", "choices", "objective_name")


def describe(family: str, document: dict[str, Any], problem: Any) -> dict[str, Any]:
    """Sizes of a generated, compiled instance for the ``instances`` table and every run row."""
    if is_inference(family):
        choices = int(
            problem.layer_bits_allowed.sum()
            + problem.layer_pruning_allowed.sum()
            + problem.tensor_compression_allowed.sum()
        )
        return {
            "layers": problem.num_layers,
            "servers": problem.num_servers,
            "graph_edges": len(problem.edge_tensor),
            "choices": choices,
            "objective_name": problem.objective,
        }
    return {
        "candidates": len(problem.candidates),
        "options": max((c.num_options for c in problem.candidates), default=0),
        "epoch_option_pairs": problem.num_epoch_options,
        "time_limit_s": document["limits"]["time_s"],
    }


def solve_inference(
    problem: Any, solver: str, time_limit: float | None, options: dict[str, Any]
) -> dict[str, Any]:
    """Solves an inference problem through :func:`jqodi_opt.solve.solve`; the row's result fields.

    ``objective`` is the value of the instance's own objective for the plan (latency in s, energy
    in J, or the normalised weighted value), ``latency_s``, ``energy_j``, ``device_energy_j`` and
    ``accuracy_drop`` the plan's measures as the independent evaluation gives them. A run that
    returns a Pareto front records its number of points in ``front_points``.
    """
    from jqodi_opt.solve import solve

    if solver == FRONT:
        return _front(problem, time_limit, options)
    result = solve(problem, solver=solver, time_limit=time_limit, **options)
    out: dict[str, Any] = {
        "status": str(result.status),
        "objective": result.objective,
        "bound": result.bound,
        "solver_gap": result.gap,
        "build_time_s": result.build_time_s,
        "solve_time_s": result.solve_time_s,
        "runtime_s": result.runtime_s,
        "message": "; ".join(result.reasons)[:2000] or None,
    }
    plan = result.plan
    if plan is not None:
        for key in ("latency_s", "energy_j", "device_energy_j", "accuracy_drop"):
            out[key] = getattr(plan, key, None)
    front = getattr(result, "front", None)
    if front is not None:
        out["front_points"] = len(front)
    return out


def solver_registry(family: str) -> dict[str, Any]:
    """The registered solvers (name -> :class:`~jqodi_opt.solve.SolverInfo`) of ``family``."""
    solve_module = importlib.import_module("jqodi_opt.solve")  # the module, not the function
    if is_inference(family):
        registry: dict[str, Any] = dict(getattr(solve_module, "INFERENCE_SOLVERS", {}))
        registry[FRONT] = solve_module.SolverInfo(
            "jqodi_opt.inference.pareto", "pareto_front", True,
            "the exact latency-energy front (benchmark entry; options backend, sweep)",
        )  # fmt: skip
        return registry
    return solve_module.SOLVERS


def all_solvers() -> dict[str, Any]:
    """Every registered solver of either family (a name may be in both, e.g. ``milp``)."""
    return {**solver_registry(INFERENCE_FAMILIES[0]), **solver_registry(FINETUNE_FAMILIES[0])}


#: The benchmark entry that computes the exact Pareto front (:func:`jqodi_opt.inference.pareto.
#: pareto_front`) instead of one objective.
FRONT = "pareto"


def _front(problem: Any, time_limit: float | None, options: dict[str, Any]) -> dict[str, Any]:
    """A front run's fields: ``front_points``, its time, and ``optimal`` when the front is complete
    (every point proven). ``objective`` stays empty, so a front never enters the gap of a
    single-objective run. Options: ``backend`` (the exact solver, default ``milp``) and ``sweep``
    (also run the weighted-sum sweep; default false: the front alone is timed)."""
    import numpy as np

    unknown = sorted(set(options) - {"backend", "sweep"})
    if unknown:
        raise ValueError(f"{FRONT} takes options backend and sweep, not {', '.join(unknown)}")
    pareto = importlib.import_module("jqodi_opt.inference.pareto")
    sweep = None if options.get("sweep", False) else np.zeros(0)
    front = pareto.pareto_front(
        problem, solver=options.get("backend", "milp"), time_limit=time_limit, sweep=sweep
    )
    if front.complete:
        status = "optimal"
    elif time_limit is not None and front.runtime_s >= 0.98 * time_limit:
        status = "time_limit"
    else:
        status = "feasible"
    return {
        "status": status,
        "objective": None,
        "front_points": len(front.front),
        "runtime_s": front.runtime_s,
        "solve_time_s": front.runtime_s,
        "message": "; ".join(front.reasons)[:2000] or None,
    }
