"""DADS (Hu et al., *Dynamic Adaptive DNN Surgery for Inference Acceleration on the Edge*, INFOCOM
2019): the placement of a DAG between the device and one server as a minimum s–t cut (SPEC §7.4).

DADS's graph, built per server ``s`` linked to the device (networkx ``minimum_cut``; the best server
is taken):

- a **source** ``D`` (the device side) and a **sink** ``S`` (the server side); a layer left on the
  source side of the cut runs on the device, one on the sink side on ``s``;
- for each layer ``i``: ``D -> i`` with capacity = its cost on ``s`` (paid when ``i`` lands on the
  server side) and ``i -> S`` with its cost on the device (paid when it stays);
- for each tensor ``t`` with consumers, DADS's auxiliary node so that a tensor read by several
  layers on the far side is paid **once** (SPEC §7.1: once per destination server): ``t -> t+``
  with the cost of sending ``t`` device → ``s`` and ``t+ -> j`` uncapacitated for each consumer
  ``j``; the model's input is a tensor fixed on the device side (``D -> input`` uncapacitated).
  DADS sends data one way only (device → server); here a layer on the device may also consume a
  tensor made on the server, which costs a send back, so each tensor also gets ``j -> t-``
  (uncapacitated, for each consumer ``j``) and ``t- -> t`` with the cost of sending ``t``
  server → device; a model output that returns to the device gets ``D -> t-`` uncapacitated.

Every source-side/sink-side partition then has cut capacity equal to the plan's cost, so the
minimum cut is the best device + one-server placement of the original model (32 bits, no pruning,
no compression — DADS has none of these). The costs are the instance's objective measure per item
(latency as in DADS; energy and device energy are additive the same way; ``weighted`` with the
caller's payoff table). The resulting plan is checked against every rule of the instance (memory,
accuracy, limits); a server whose min-cut plan breaks one is reported and skipped — DADS has no
constraints of its own, so it is not re-optimised under them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from jqodi_opt.inference.problem import InferenceProblem, assignment_violations
from jqodi_opt.inference.solvers.baselines import (
    DEVICE_ENERGY,
    ENERGY,
    LATENCY,
    Payoff,
    PlanOutput,
    as_inference_output,
    base_assignment,
    coerce_payoff,
    index_of,
    measures,
    objective_weights,
)
from jqodi_opt.result import Status

if TYPE_CHECKING:
    from jqodi_opt.inference.solvers.core import InferenceOutput

SOURCE, SINK = "device", "server"


def dads_graph(problem: InferenceProblem, server: int, weights: np.ndarray) -> nx.DiGraph:
    """DADS's flow graph for the device and ``server`` (module docstring); nodes are layer indices,
    ``("in", t)`` / ``("out", t)`` the auxiliary nodes of tensor ``t`` and ``("tensor", 0)`` the
    model's input."""
    dev, b32 = problem.device, problem.bits32
    prune0 = index_of(problem.pruning, 0.0)
    comp1 = index_of(problem.compression, 1.0)
    r = 0 if prune0 is None else prune0
    c = 0 if comp1 is None else comp1
    graph = nx.DiGraph()
    graph.add_node(SOURCE)
    graph.add_node(SINK)

    def compute_cost(i: int, k: int) -> float:
        t = problem.compute_time_s[i, k, b32, r]
        e = problem.compute_energy_j[i, k, b32, r]
        return float(weights @ np.array([t, e, e if k == dev else 0.0]))

    def send_cost(t: int, src: int, dst: int) -> float:
        time_s = problem.send_time_s[t, src, dst, b32, c]
        energy = problem.send_energy_j[t, src, dst, b32, c]
        return float(weights @ np.array([time_s, energy, energy if src == dev else 0.0]))

    def node(t: int) -> object:  # the node producing tensor t
        return ("tensor", 0) if t == 0 else t - 1

    graph.add_edge(SOURCE, ("tensor", 0))  # the input is made on the device (no capacity: inf)
    for i in range(problem.num_layers):
        graph.add_edge(SOURCE, i, capacity=compute_cost(i, server))  # paid when i is on the server
        graph.add_edge(i, SINK, capacity=compute_cost(i, dev))  # paid when i stays on the device
    for t in range(problem.num_tensors):
        consumers = problem.tensor_consumers[t]
        if len(consumers):
            graph.add_edge(node(t), ("in", t), capacity=send_cost(t, dev, server))
            for j in consumers:
                graph.add_edge(("in", t), int(j))
        if t >= 1 and (len(consumers) or problem.tensor_returns[t]):
            graph.add_edge(("out", t), node(t), capacity=send_cost(t, server, dev))
            for j in consumers:
                graph.add_edge(int(j), ("out", t))
            if problem.tensor_returns[t]:
                graph.add_edge(SOURCE, ("out", t))
    return graph


def run_dads(
    problem: InferenceProblem,
    time_limit: float | None = None,
    payoff: Payoff | None = None,
) -> PlanOutput:
    """DADS's minimum-cut placement on the best server (module docstring)."""
    start = time.perf_counter()
    weights, offset = objective_weights(problem, payoff)
    dev = problem.device
    servers = [
        k for k in range(problem.num_servers)
        if k != dev and problem.linked[dev, k] and problem.linked[k, dev]
    ]  # fmt: skip
    if not servers:
        return PlanOutput(Status.INFEASIBLE, reasons=["dads: no server is linked to the device"])
    best = None
    reasons: list[str] = []
    cuts: dict[str, float] = {}
    for s in servers:
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
        graph = dads_graph(problem, s, weights)
        cut_value, (device_side, _) = nx.minimum_cut(graph, SOURCE, SINK)
        placement = np.array(
            [dev if i in device_side else s for i in range(problem.num_layers)], dtype=np.int64
        )
        plan = base_assignment(problem, placement)
        value = float(weights @ measures(problem, plan))
        cuts[problem.servers[s]] = float(cut_value)
        violations = assignment_violations(problem, plan)
        if violations:
            reasons.append(f"dads with {problem.servers[s]!r}: {'; '.join(violations)}")
            continue
        if best is None or value < best[0]:
            best = (value, plan)
    stats = {"cut_values": cuts, "servers": len(servers)}
    if best is None:
        if not reasons:
            return PlanOutput(Status.TIME_LIMIT, reasons=["time limit"], stats=stats)
        return PlanOutput(Status.INFEASIBLE, reasons=reasons, stats=stats)
    return PlanOutput(Status.FEASIBLE, best[1], best[0] - offset, stats=stats)


def solve_dads(
    problem: InferenceProblem, time_limit: float | None = None, payoff: Any = None
) -> InferenceOutput:
    """DADS for :func:`jqodi_opt.solve.solve` (``payoff``: the ``weighted`` objective's payoff
    table when the caller has it, :func:`~.objectives.coerce_payoff`)."""
    return as_inference_output(
        problem,
        lambda table, limit: run_dads(problem, limit, table),
        time_limit,
        coerce_payoff(payoff),
    )


__all__ = ["DEVICE_ENERGY", "ENERGY", "LATENCY", "dads_graph", "run_dads", "solve_dads"]
