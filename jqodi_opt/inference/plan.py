"""The inference plan (``jqodi-inference-plan/1``, SPEC §7.5).

For every layer its server, bit-width, pruning ratio and the compression ratio of its output tensor,
plus the compression of the model's input; in the model's layer order.

A compression ratio counts only where its tensor is sent; for a tensor that stays it is ignored
(write 1). The numbers in a plan are the producer's claim; :func:`~jqodi_opt.inference.evaluate.
evaluate_inference` recomputes them from the instance alone. ``objective`` is the objective's name
(``latency``, ``energy``, ``device-energy``, ``weighted``) and ``objective_value`` its value for
the plan (for ``weighted``: the normalised value the solver minimised); ``bound`` and ``gap`` refer
to it.
Solvers build plans with :func:`make_inference_plan` from an
:class:`~jqodi_opt.inference.problem.Assignment`; :func:`assignment_of` goes the other way.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jqodi_opt.exceptions import PlanError, short
from jqodi_opt.inference.problem import Assignment, InferenceProblem
from jqodi_opt.inference.read import describe_error
from jqodi_opt.read import load_document, write_json_atomic

FORMAT = "jqodi-inference-plan/1"

Name = Annotated[str, Field(min_length=1, max_length=200)]


class LayerChoice(BaseModel):
    """Where and how one layer runs. Defaults: 32 bits, no pruning, no compression."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    layer: Name
    server: Name
    bits: Annotated[int, Field(ge=1, le=32)] = 32
    pruning: Annotated[float, Field(ge=0, lt=1)] = 0.0
    compression: Annotated[float, Field(gt=0, le=1)] = 1.0


class InferencePlan(BaseModel):
    """A split-inference plan; its numbers are informative, :mod:`~jqodi_opt.inference.evaluate`
    recomputes them."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    format: Literal["jqodi-inference-plan/1"] = "jqodi-inference-plan/1"
    instance: str = ""
    solver: str = ""
    status: str = ""
    objective: Literal["latency", "energy", "device-energy", "weighted"] | None = None
    layers: Annotated[list[LayerChoice], Field(min_length=1)]
    input_compression: Annotated[float, Field(gt=0, le=1)] = 1.0
    objective_value: float | None = None
    latency_s: float | None = None
    energy_j: float | None = None
    device_energy_j: float | None = None
    accuracy_drop: float | None = None
    bound: float | None = None
    gap: float | None = None
    runtime_s: float | None = None
    reasons: list[str] | None = None

    def summary(self) -> str:
        """The placement in one line, runs of layers per server: ``conv1..conv3@pi, fc@p100``."""
        runs: list[tuple[str, str, str]] = []
        for choice in self.layers:
            if runs and runs[-1][2] == choice.server:
                runs[-1] = (runs[-1][0], choice.layer, choice.server)
            else:
                runs.append((choice.layer, choice.layer, choice.server))
        return ", ".join(f"{a}@{s}" if a == b else f"{a}..{b}@{s}" for a, b, s in runs)

    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON-ready mapping (unset numbers left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def make_inference_plan(
    problem: InferenceProblem,
    assignment: Assignment,
    solver: str = "",
    status: str = "",
    **numbers: float | None,
) -> InferencePlan:
    """The plan of an assignment; latency, energy, device energy and accuracy drop from the arrays.

    ``numbers`` may set ``objective_value``, ``bound``, ``gap`` and ``runtime_s``.
    """
    from jqodi_opt.inference.accuracy import accuracy_drop
    from jqodi_opt.inference.costs import assignment_costs

    costs = assignment_costs(problem, assignment)
    layers = [
        LayerChoice(
            layer=name,
            server=problem.servers[int(assignment.server[i])],
            bits=int(problem.bits[assignment.bits[i]]),
            pruning=float(problem.pruning[assignment.pruning[i]]),
            compression=float(problem.compression[assignment.compression[i + 1]])
            if costs.tensor_sent[i + 1]
            else 1.0,
        )
        for i, name in enumerate(problem.layers)
    ]
    return InferencePlan(
        instance=problem.name,
        solver=solver,
        status=status,
        objective=problem.objective,  # type: ignore[arg-type]
        layers=layers,
        input_compression=float(problem.compression[assignment.compression[0]])
        if costs.tensor_sent[0]
        else 1.0,
        latency_s=_finite(costs.latency_s),
        energy_j=_finite(costs.energy_j),
        device_energy_j=_finite(costs.device_energy_j),
        accuracy_drop=accuracy_drop(problem, assignment),
        **numbers,  # type: ignore[arg-type]
    )


def _finite(value: float) -> float | None:
    """``value``, or None when it is not finite (a plan that needs a missing link)."""
    return value if np.isfinite(value) else None


def assignment_of(problem: InferenceProblem, plan: InferencePlan) -> Assignment:
    """The index form of ``plan`` for ``problem``.

    Raises
    ------
    ValueError
        When the plan names a layer, server or choice the problem does not have, or does not list
        every layer once in the model's order. A tensor that is not sent, with a ratio that is not
        among the problem's, gets index of the largest ratio (it is ignored).
    """
    by_name = {c.layer: c for c in plan.layers}
    if len(by_name) != len(plan.layers) or set(by_name) != set(problem.layers):
        raise ValueError("the plan must list every layer of the model exactly once")
    ordered = [by_name[name] for name in problem.layers]
    server_index = {name: k for k, name in enumerate(problem.servers)}

    def position(values: np.ndarray, value: float, what: str) -> int:
        hits = np.flatnonzero(np.isclose(values, value, rtol=0, atol=1e-12))
        if not len(hits):
            raise ValueError(f"{what} {value:g} is not a choice of the instance")
        return int(hits[0])

    server, bits, pruning = [], [], []
    compression = []
    for c in ordered:
        if c.server not in server_index:
            raise ValueError(f"unknown server {short(c.server)}")
        server.append(server_index[c.server])
        bits.append(position(problem.bits.astype(float), c.bits, "bit-width"))
        pruning.append(position(problem.pruning, c.pruning, "pruning ratio"))
    for ratio in [plan.input_compression, *(c.compression for c in ordered)]:
        hits = np.flatnonzero(np.isclose(problem.compression, ratio, rtol=0, atol=1e-12))
        compression.append(int(hits[0]) if len(hits) else -1)
    assignment = Assignment(
        server=np.array(server, dtype=np.int64),
        bits=np.array(bits, dtype=np.int64),
        pruning=np.array(pruning, dtype=np.int64),
        compression=np.array(compression, dtype=np.int64),
    )
    from jqodi_opt.inference.costs import tensor_destinations

    sent = tensor_destinations(problem, assignment.server).any(axis=1)
    unknown = assignment.compression < 0
    if (unknown & sent).any():
        t = int(np.flatnonzero(unknown & sent)[0])
        ratio = plan.input_compression if t == 0 else ordered[t - 1].compression
        raise ValueError(f"compression ratio {ratio:g} is not a choice of the instance")
    assignment.compression[unknown] = len(problem.compression) - 1
    return assignment


def build_inference_plan(document: Any, source: str = "<plan>") -> InferencePlan:
    """Builds an :class:`InferencePlan` from a parsed document.

    Raises
    ------
    PlanError
        Naming the file and the field path of each problem.
    """
    if not isinstance(document, dict):
        raise PlanError(source, [("", "the document must be a mapping (a JSON object)")])
    if document.get("format") != FORMAT:
        got = short(document.get("format"))
        raise PlanError(source, [("format", f"must be {FORMAT!r} (got {got})")])
    if document.get("status") == "infeasible" and "layers" not in document:
        raise PlanError(source, [("status", "an infeasible result holds no plan to check")])
    try:
        return InferencePlan.model_validate(document)
    except ValidationError as exc:
        raise PlanError(source, [describe_error(e) for e in exc.errors()]) from None


def read_inference_plan(path: str | os.PathLike[str]) -> InferencePlan:
    """Reads a ``jqodi-inference-plan/1`` file (JSON, or YAML by suffix)."""
    return build_inference_plan(load_document(path, error=PlanError), source=str(path))


def write_inference_plan(
    plan: InferencePlan | dict[str, Any], path: str | os.PathLike[str]
) -> None:
    """Writes a plan (or an infeasible-result document) as JSON, atomically."""
    write_json_atomic(plan.to_dict() if isinstance(plan, InferencePlan) else plan, path)
