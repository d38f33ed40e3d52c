"""The plan (``jqodi-plan/1``, SPEC §3.2): which model, which bits, and per epoch where to cut and
which edge server runs the deep part. ``schedule`` is run-length encoded in epoch order.

Solvers produce plans through :func:`make_plan`; :func:`jqodi_opt.finetune.evaluate.evaluate`
checks any plan
against the instance alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jqodi_opt.exceptions import PlanError, describe_pydantic_error, short
from jqodi_opt.finetune.instance import MAX_EPOCHS, Instance
from jqodi_opt.finetune.problem import Problem
from jqodi_opt.read import load_document, write_json_atomic

FORMAT = "jqodi-plan/1"
#: Statuses of a solve that may end without a plan.
NO_PLAN_STATUSES = ("infeasible", "time_limit", "error")
_NO_PLAN_FIELDS = {"format", "instance", "solver", "status", "reasons", "runtime_s", "bound_j"}


class ScheduleEntry(BaseModel):
    """``epochs`` consecutive epochs that cut at ``cut`` and offload to ``edge_server``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    edge_server: Annotated[str, Field(min_length=1)]
    cut: Annotated[int, Field(ge=0)]
    epochs: Annotated[int, Field(ge=1, le=MAX_EPOCHS)]


class Plan(BaseModel):
    """A deployment plan; the numbers in it are the producer's claim, ``evaluate`` recomputes them.

    Attributes
    ----------
    model, bits
        The chosen candidate.
    schedule
        Run-length encoded epochs in order.
    energy_j, time_s, final_loss
        What the producer computed (informative only).
    bound_j, gap
        The solver's best bound and relative gap, where it has one.
    estimator
        The learning estimator that gave the epoch count.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    format: Literal["jqodi-plan/1"] = "jqodi-plan/1"
    instance: str = ""
    solver: str = ""
    status: str = ""
    estimator: Literal["expected", "robust"] = "robust"
    model: Annotated[str, Field(min_length=1)]
    bits: Annotated[int, Field(ge=1, le=32)]
    schedule: Annotated[list[ScheduleEntry], Field(min_length=1)]
    energy_j: float | None = None
    time_s: float | None = None
    final_loss: float | None = None
    bound_j: float | None = None
    gap: float | None = None
    runtime_s: float | None = None

    @property
    def num_epochs(self) -> int:
        """Total epochs in the schedule."""
        return sum(entry.epochs for entry in self.schedule)

    def epoch_options(self) -> list[tuple[str, int]]:
        """``(edge_server, cut)`` of every epoch, in order (the schedule expanded)."""
        return [(e.edge_server, e.cut) for e in self.schedule for _ in range(e.epochs)]

    def summary(self) -> str:
        """The schedule in one line, e.g. ``rtx3090/cut1 x20, rtx3090/cut2 x9``."""
        return ", ".join(f"{e.edge_server}/cut{e.cut} x{e.epochs}" for e in self.schedule)

    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON-ready mapping (unset numbers left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def make_plan(
    problem: Problem, candidate: int, option_epochs: np.ndarray, solver: str = "", status: str = ""
) -> Plan:
    """Builds the plan that runs ``option_epochs[o]`` epochs of option ``o`` of one candidate.

    Options are laid out in the candidate's option order (each option's epochs consecutive).
    ``energy_j`` and ``time_s`` are computed from the compiled problem.
    """
    cand = problem.candidates[candidate]
    counts = np.rint(np.asarray(option_epochs)).astype(np.int64)
    used = np.flatnonzero(counts > 0)
    schedule = [
        ScheduleEntry(
            edge_server=problem.edge_servers[int(cand.option_edge_server[o])],
            cut=int(cand.option_cut[o]),
            epochs=int(counts[o]),
        )
        for o in used
    ]
    final_loss = (
        cand.final_loss_robust if problem.estimator == "robust" else cand.final_loss_expected
    )
    return Plan(
        instance=problem.name,
        solver=solver,
        status=status,
        estimator=problem.estimator,
        model=cand.model,
        bits=cand.bits,
        schedule=schedule,
        energy_j=cand.quantize_energy_j + float(counts @ cand.option_energy_j),
        time_s=cand.quantize_time_s + float(counts @ cand.option_time_s),
        final_loss=final_loss,
    )


def build_plan(document: Any, source: str = "<plan>") -> Plan:
    """Builds a :class:`Plan` from a parsed document.

    Raises
    ------
    PlanError
        Naming the file and the field path of each problem.
    """
    if not isinstance(document, dict):
        raise PlanError(source, [("", "the document must be a mapping (a JSON object)")])
    if document.get("format") != FORMAT:
        raise PlanError(
            source, [("format", f"must be {FORMAT!r} (got {short(document.get('format'))})")]
        )
    status = document.get("status")
    if status in NO_PLAN_STATUSES and "schedule" not in document:
        raise PlanError(source, [("status", f"a {status} result holds no plan to check")])
    try:
        plan = Plan.model_validate(document)
    except ValidationError as exc:
        raise PlanError(source, [describe_pydantic_error(e) for e in exc.errors()]) from None
    if plan.num_epochs > MAX_EPOCHS:
        raise PlanError(
            source, [("schedule", f"{plan.num_epochs:,} epochs in all, more than {MAX_EPOCHS:,}")]
        )
    return plan


def check_plan_size(plan: Plan, instance: Instance, source: str = "<plan>") -> None:
    """Refuses a plan with more epochs than the instance's ``max_epochs``, before anything is
    expanded epoch by epoch (``simulate`` allocates per epoch).

    Raises
    ------
    PlanError
        Naming ``schedule`` and both numbers.
    """
    if plan.num_epochs > instance.max_epochs:
        raise PlanError(
            source,
            [("schedule", f"{plan.num_epochs:,} epochs in all, more than the instance's "
                          f"max_epochs {instance.max_epochs:,}")],
        )  # fmt: skip


def read_plan(path: str | os.PathLike[str]) -> Plan:
    """Reads a ``jqodi-plan/1`` file."""
    return build_plan(load_document(path, error=PlanError), source=str(path))


@dataclass(frozen=True)
class NoPlan:
    """A ``jqodi-plan/1`` document without a plan: what ``solve --out`` writes when the solve
    ended ``infeasible``, ``time_limit`` with nothing found, or ``error`` (SPEC §4)."""

    status: str
    solver: str
    reasons: list[str]


def read_outcome(path: str | os.PathLike[str]) -> Plan | NoPlan:
    """Reads a ``jqodi-plan/1`` file that may hold a plan or only a solve's outcome.

    Raises
    ------
    PlanError
        When the file is neither a valid plan nor a valid no-plan document.
    """
    source = str(path)
    document = load_document(path, error=PlanError)
    if (
        isinstance(document, dict)
        and document.get("format") == FORMAT
        and document.get("status") in NO_PLAN_STATUSES
        and "schedule" not in document
    ):
        unknown = sorted(set(document) - _NO_PLAN_FIELDS)
        if unknown:
            raise PlanError(source, [(unknown[0], "unknown field")])
        reasons = document.get("reasons", [])
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise PlanError(source, [("reasons", "must be a list of strings")])
        solver = document.get("solver", "")
        return NoPlan(str(document["status"]), solver if isinstance(solver, str) else "", reasons)
    return build_plan(document, source)


def write_plan(
    plan: Plan | dict[str, Any],
    path: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Writes a plan (or an infeasible-result document) as JSON, atomically.

    Only to a regular file or a new name, never to one of ``inputs`` (:mod:`jqodi_opt.output`).

    Raises
    ------
    OutputError
        When the path is refused or the write fails.
    """
    write_json_atomic(plan.to_dict() if isinstance(plan, Plan) else plan, path, inputs)
