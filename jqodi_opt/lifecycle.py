"""Fine-tune, then serve: the model and bit-width cheapest to own (SPEC §8).

A ``jqodi-instance/1`` with a ``serving`` section defines, for every candidate ``c = (a, q)`` that
can reach the loss target, two problems on the same hardware:

- fine-tuning (SPEC §1): the MCK over ``c``'s epochs alone, optimum ``E_ft*(c)``;
- serving (SPEC §7): one request of model ``a`` with every layer at ``q`` bits, least energy
  ``E_inf*(c)`` per request (:func:`serving_instance` builds it).

The lifecycle optimum for ``N`` requests is ``min_c E_ft*(c) + N · E_inf*(c)``, exact because
the two phases share nothing but the choice of ``c``: each candidate's two subproblems are solved
to proven optimality and the best sum is taken. Over ``N`` the candidates are lines; their lower
envelope (:func:`lower_envelope`) says at which request volumes the best ``(a, q)`` changes. The
**sequential** choice is the fine-tuning optimum (the JQODI paper's *Optimum*, which its heuristic
aims at), then its best inference plan; its excess over the lifecycle optimum is the regret.

How the serving problem maps the fine-tuning hardware (choices SPEC §8 leaves open):

- servers: the device (tier ``device``), every edge server (``edge``) and the cloud (``cloud``);
  power ``= energy_per_flop × speed_flops`` (SPEC §8), so compute energy per FLOP is the same in
  both phases;
- speed-up of ``q``-bit layers ``= 1 / compute_scale(q)`` on every server: the fine-tuning model
  scales compute work by ``compute_scale(q)`` (default ``q/32``, SPEC §1.1), and serving keeps the
  same assumption;
- links: each device–edge link (its rate, or Shannon rate, and energy per bit) and each edge–cloud
  link (``cloud_rate_bps``, ``cloud_energy_per_bit``); no device–cloud link (a tensor reaches the
  cloud through an edge server's layers only, SPEC §7.1 has no multi-hop routing);
- the model: the chain of blocks, each a layer with its forward ``flops``, ``params`` and
  ``output_bytes``, the input of the model's ``input_bytes`` (else ``serving.input_bytes``); no
  pruning (a fine-tuned model is served as trained); ``serving.compression`` on sent tensors;
  accuracy terms that name a block or tensor of this model (others belong to other models and are
  left out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jqodi_opt.exceptions import SolverRefused
from jqodi_opt.finetune.instance import Instance, Model
from jqodi_opt.finetune.problem import Problem, compile_problem
from jqodi_opt.graph import INPUT
from jqodi_opt.inference.instance import InferenceInstance
from jqodi_opt.inference.problem import compile_inference
from jqodi_opt.inference.read import build_inference
from jqodi_opt.result import Result, Status
from jqodi_opt.solve import solve

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Name given to the cloud server in the serving problem (made unique against the others).
CLOUD = "cloud"


@dataclass
class CandidateCost:
    """One candidate's two optima: its line ``E_ft* + N · E_inf*``.

    Attributes
    ----------
    model, bits
        The candidate.
    finetune, inference
        The results of its fine-tuning and serving problems (plans checked by ``evaluate``).
    reason
        Why the candidate has no line (a subproblem infeasible or not proven), else empty.
    """

    model: str
    bits: int
    finetune: Result
    inference: Result | None
    reason: str = ""

    @property
    def name(self) -> str:
        """``model@bits``."""
        return f"{self.model}@{self.bits}"

    @property
    def finetune_j(self) -> float | None:
        """``E_ft*(c)``: the proven least fine-tuning energy, or None."""
        return self.finetune.objective if self.finetune.status is Status.OPTIMAL else None

    @property
    def inference_j(self) -> float | None:
        """``E_inf*(c)``: the proven least energy of one request, or None."""
        if self.inference is None or self.inference.status is not Status.OPTIMAL:
            return None
        plan: Any = self.inference.plan
        return None if plan is None else float(plan.energy_j)

    @property
    def usable(self) -> bool:
        """Both optima proven: the candidate has a line."""
        return self.finetune_j is not None and self.inference_j is not None

    def total_j(self, requests: float) -> float:
        """``E_ft*(c) + N · E_inf*(c)`` (``inf`` without a line)."""
        if not self.usable:
            return math.inf
        assert self.finetune_j is not None and self.inference_j is not None
        return self.finetune_j + requests * self.inference_j


@dataclass(frozen=True)
class Breakpoint:
    """From ``requests`` on (up to the next breakpoint), ``model@bits`` is cheapest to own."""

    requests: float
    model: str
    bits: int


@dataclass
class Lifecycle:
    """The lifecycle optimum at ``requests``, the sequential choice, and the envelope over ``N``.

    Attributes
    ----------
    requests
        ``N``, the request volume the optimum is for.
    candidates
        Every candidate's two results, in the fine-tuning problem's order.
    best
        The candidate of least ``E_ft* + N · E_inf*`` (None when no candidate has a line).
    sequential
        The candidate of least fine-tuning energy (None when none can fine-tune).
    breakpoints
        The lower envelope: each request volume at which the best candidate changes.
    """

    instance_name: str
    requests: float
    candidates: list[CandidateCost]
    best: CandidateCost | None
    sequential: CandidateCost | None
    breakpoints: list[Breakpoint] = field(default_factory=list)

    @property
    def total_j(self) -> float | None:
        """The lifecycle optimum's energy at :attr:`requests`."""
        return None if self.best is None else self.best.total_j(self.requests)

    def regret_j(self, requests: float | None = None) -> float | None:
        """What the sequential choice costs above the optimum at ``requests`` (J); ``inf`` when
        the sequential choice cannot be served; None when there is no optimum."""
        n = self.requests if requests is None else requests
        usable = [c for c in self.candidates if c.usable]
        if not usable or self.sequential is None:
            return None
        return self.sequential.total_j(n) - min(c.total_j(n) for c in usable)

    def to_dict(self) -> dict[str, Any]:
        """The ``jqodi lifecycle --json`` document (SPEC §8), with every candidate's line."""
        regret = self.regret_j()
        best = self.best
        doc: dict[str, Any] = {
            "instance": self.instance_name,
            "requests": self.requests,
            "total_j": self.total_j,
            "model": None if best is None else best.model,
            "bits": None if best is None else best.bits,
            "finetune": None if best is None else best.finetune.to_plan_document(),
            "inference": None
            if best is None or best.inference is None
            else best.inference.to_plan_document(),
            "sequential": None,
            "breakpoints": [
                {"requests": b.requests, "model": b.model, "bits": b.bits} for b in self.breakpoints
            ],
            "candidates": [
                {
                    "model": c.model,
                    "bits": c.bits,
                    "finetune_j": c.finetune_j,
                    "inference_j": c.inference_j,
                    "total_j": c.total_j(self.requests) if c.usable else None,
                    "reason": c.reason or None,
                }
                for c in self.candidates
            ],
        }
        if self.sequential is not None:
            seq_total = self.sequential.total_j(self.requests)
            doc["sequential"] = {
                "model": self.sequential.model,
                "bits": self.sequential.bits,
                "total_j": seq_total if math.isfinite(seq_total) else None,
                "regret_j": regret if regret is not None and math.isfinite(regret) else None,
                "regret": _relative(regret, self.total_j),
                "reason": self.sequential.reason or None,
            }
        return doc


def _relative(regret: float | None, total: float | None) -> float | None:
    if regret is None or total is None or not math.isfinite(regret) or total <= 0:
        return None
    return regret / total


# --------------------------------------------------------------------------------------------------
# the serving problem of one candidate


def serving_document(instance: Instance, model: Model, bits: int) -> dict[str, Any]:
    """The ``jqodi-inference/1`` document of serving ``model`` at ``bits`` on ``instance``'s
    hardware (the mapping is in the module docstring).

    Raises
    ------
    ValueError
        When the instance has no ``serving`` section.
    """
    serving = instance.serving
    if serving is None:
        raise ValueError(f"instance {instance.name!r} has no serving section")
    scale = next(b.scale for b in instance.bitwidths if b.bits == bits)
    speedup = {str(bits): 1.0 / scale} if bits != 32 else None
    taken = {instance.device.name, *(e.name for e in instance.edge_servers)}
    cloud = CLOUD
    while cloud in taken:
        cloud += "_"

    def server(name: str, tier: str, speed: float, energy_per_flop: float) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": name,
            "tier": tier,
            "speed_flops": speed,
            "power_w": energy_per_flop * speed,  # SPEC §8: power = energy_per_flop * speed_flops
        }
        if speedup is not None:
            doc["speedup"] = speedup
        return doc

    input_bytes = model.input_bytes if model.input_bytes is not None else serving.input_bytes
    device = instance.device
    servers = [server(device.name, "device", device.speed_flops, device.energy_per_flop)]
    servers += [
        server(e.name, "edge", e.speed_flops, e.energy_per_flop) for e in instance.edge_servers
    ]
    servers.append(
        server(cloud, "cloud", instance.cloud.speed_flops, instance.cloud.energy_per_flop)
    )
    links: list[dict[str, Any]] = []
    for link in instance.links:
        doc: dict[str, Any] = {
            "between": [device.name, link.edge_server],
            "energy_per_bit": link.energy_per_bit,
        }
        if link.rate_bps is not None:
            doc["rate_bps"] = link.rate_bps
        else:
            doc["bandwidth_hz"], doc["snr_db"] = link.bandwidth_hz, link.snr_db
        links.append(doc)
    for edge in instance.edge_servers:
        links.append(
            {
                "between": [edge.name, cloud],
                "rate_bps": edge.cloud_rate_bps,
                "energy_per_bit": edge.cloud_energy_per_bit,
            }
        )
    layers = [
        {
            "name": block.name,
            "flops": block.flops,
            "params": round(block.params),
            "output_bytes": block.output_bytes,
        }
        for block in model.blocks
    ]
    document: dict[str, Any] = {
        "format": "jqodi-inference/1",
        "name": f"{instance.name}:{model.name}@{bits}",
        "servers": servers,
        "links": links,
        "model": {"name": model.name, "input_bytes": input_bytes, "layers": layers},
        "quantization": {"bits": [bits]},
        "objective": "energy",
        "return_output": serving.return_output,
    }
    if serving.compression is not None:
        document["compression"] = serving.compression.model_dump(mode="json")
    if serving.limits is not None:
        limits = serving.limits.model_dump(mode="json", exclude_none=True)
        if limits:
            document["limits"] = limits
    if serving.accuracy is not None:
        document["accuracy"] = _accuracy_for(serving.accuracy.model_dump(mode="json"), model)
    return document


def _accuracy_for(accuracy: dict[str, Any], model: Model) -> dict[str, Any]:
    """The accuracy section with only the terms naming this model's blocks (or the input), and
    the interactions between kept terms, renumbered."""
    blocks = {block.name for block in model.blocks} | {INPUT}
    kept: dict[int, int] = {}
    terms: list[dict[str, Any]] = []
    for i, term in enumerate(accuracy.get("terms", [])):
        name = term.get("layer", term.get("tensor"))
        if name in blocks:
            kept[i] = len(terms)
            terms.append({k: v for k, v in term.items() if v is not None})
    interactions = [
        {"of": [kept[a], kept[b]], "drop": inter["drop"]}
        for inter in accuracy.get("interactions", [])
        for a, b in [inter["of"]]
        if a in kept and b in kept
    ]
    return {"max_drop": accuracy["max_drop"], "terms": terms, "interactions": interactions}


def serving_instance(instance: Instance, model: str, bits: int) -> InferenceInstance:
    """The validated serving problem of ``(model, bits)``; see :func:`serving_document`."""
    chosen = instance.models[instance.model_index(model)]
    document = serving_document(instance, chosen, bits)
    return build_inference(document, source=f"{instance.name} serving {model}@{bits}")


# --------------------------------------------------------------------------------------------------
# the lifecycle problem


def solve_lifecycle(
    instance: Instance,
    requests: float | None = None,
    *,
    finetune_solver: str = "milp",
    inference_solver: str | None = None,
    time_limit: float | None = None,
    estimator: str = "robust",
) -> Lifecycle:
    """The exact lifecycle optimum: every candidate's fine-tuning and serving problems solved.

    Parameters
    ----------
    instance
        A ``jqodi-instance/1`` with a ``serving`` section.
    requests
        ``N`` (default: ``serving.requests``).
    finetune_solver, inference_solver
        Exact solvers for the two subproblems; by default the serving problem (a chain) goes to
        ``dp``, or to ``milp`` when ``dp`` declines it.
    time_limit
        Limit per subproblem solve (s); a subproblem not proven in it leaves its candidate
        without a line, with the reason.
    estimator
        The fine-tuning estimator (``robust`` or ``expected``).

    Raises
    ------
    ValueError
        When the instance has no ``serving`` section or ``requests`` is negative.
    """
    if instance.serving is None:
        raise ValueError(f"instance {instance.name!r} has no serving section (SPEC §8)")
    n = instance.serving.requests if requests is None else float(requests)
    if not n >= 0 or not math.isfinite(n):
        raise ValueError(f"requests {requests} not understood (must be a number >= 0)")
    problem = compile_problem(instance, estimator)  # type: ignore[arg-type]
    costs = [
        _candidate_cost(
            instance, problem, c.model, c.bits, finetune_solver, inference_solver, time_limit
        )
        for c in problem.candidates
    ]
    usable = [c for c in costs if c.usable]
    best = min(usable, key=lambda c: (c.total_j(n), c.inference_j), default=None)
    can_finetune = [c for c in costs if c.finetune_j is not None]
    sequential = min(can_finetune, key=lambda c: c.finetune_j or 0.0, default=None)
    return Lifecycle(
        instance_name=instance.name,
        requests=n,
        candidates=costs,
        best=best,
        sequential=sequential,
        breakpoints=lower_envelope(usable),
    )


def _candidate_cost(
    instance: Instance,
    problem: Problem,
    model: str,
    bits: int,
    finetune_solver: str,
    inference_solver: str | None,
    time_limit: float | None,
) -> CandidateCost:
    alone = problem.restrict(
        lambda c: (c.model, c.bits) == (model, bits), reason="another candidate"
    )
    finetune = solve(alone, finetune_solver, time_limit)
    if finetune.status is not Status.OPTIMAL:
        prefix = f"{model}@{bits}: "
        own = [r.removeprefix(prefix) for r in finetune.reasons if r.startswith(prefix)]
        why = "; ".join(own or finetune.reasons) or str(finetune.status)
        return CandidateCost(model, bits, finetune, None, f"fine-tuning {finetune.status}: {why}")
    serving = compile_inference(serving_instance(instance, model, bits))
    if inference_solver is None:
        try:
            inference = solve(serving, "dp", time_limit)
        except SolverRefused:
            inference = solve(serving, "milp", time_limit)
    else:
        inference = solve(serving, inference_solver, time_limit)
    if inference.status is not Status.OPTIMAL:
        why = "; ".join(inference.reasons) or str(inference.status)
        return CandidateCost(model, bits, finetune, inference, f"serving {inference.status}: {why}")
    return CandidateCost(model, bits, finetune, inference)


def lower_envelope(candidates: Sequence[CandidateCost]) -> list[Breakpoint]:
    """The lower envelope over ``N >= 0`` of the lines ``E_ft*(c) + N · E_inf*(c)``.

    Starts with the least ``E_ft*`` at ``N = 0`` (ties: the least ``E_inf*``), then walks to the
    first later crossing with a line of smaller slope, until the line of least slope is reached.
    Each step is exact arithmetic on the two optima; lines that are never lowest do not appear.
    """
    lines = [(c.finetune_j, c.inference_j, c) for c in candidates if c.usable]
    if not lines:
        return []
    a0, b0, current = min(lines, key=lambda line: (line[0], line[1]))
    assert a0 is not None and b0 is not None
    at = 0.0
    points = [Breakpoint(0.0, current.model, current.bits)]
    while True:
        nxt: tuple[float, float, CandidateCost] | None = None
        for a, b, cand in lines:
            assert a is not None and b is not None
            if b >= b0:
                continue
            cross = max(at, (a - a0) / (b0 - b))  # where this cheaper-per-request line wins
            if nxt is None or (cross, b) < (nxt[0], nxt[1]):
                nxt = (cross, b, cand)
        if nxt is None:
            return points
        at, b0, current = nxt
        a0 = current.finetune_j or 0.0
        points.append(Breakpoint(at, current.model, current.bits))


# --------------------------------------------------------------------------------------------------
# the break-even picture


def plot_lifecycle(
    lifecycle: Lifecycle, ax: Axes | None = None, max_requests: float | None = None
) -> Axes:
    """Draws every candidate's line over ``N``, their lower envelope and the sequential choice.

    Parameters
    ----------
    lifecycle
        From :func:`solve_lifecycle`.
    ax
        Axes to draw on (a new figure when None; the caller's matplotlib backend is left alone).
    max_requests
        Right end of the ``N`` axis (default: twice the last breakpoint, at least 1.2 ``N``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import numpy as np

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4.5))
    last = max((b.requests for b in lifecycle.breakpoints), default=0.0)
    right = max_requests or max(2.0 * last, 1.2 * lifecycle.requests, 1.0)
    grid = np.linspace(0.0, right, 200)
    for cand in lifecycle.candidates:
        if cand.usable:
            ax.plot(grid, [cand.total_j(n) / 1e3 for n in grid], lw=0.8, alpha=0.6,
                    label=cand.name)  # fmt: skip
    envelope = [
        min(c.total_j(n) for c in lifecycle.candidates if c.usable) / 1e3 for n in grid
    ] if any(c.usable for c in lifecycle.candidates) else []  # fmt: skip
    if envelope:
        ax.plot(grid, envelope, color="black", lw=2.2, label="lifecycle optimum")
    seq = lifecycle.sequential
    if seq is not None and seq.usable:
        ax.plot(grid, [seq.total_j(n) / 1e3 for n in grid], color="tab:red", ls="--", lw=1.6,
                label=f"sequential ({seq.name})")  # fmt: skip
    for point in lifecycle.breakpoints[1:]:
        ax.axvline(point.requests, color="grey", ls=":", lw=0.8)
    ax.axvline(lifecycle.requests, color="tab:blue", ls="-.", lw=0.8, label="N")
    ax.set_xlabel("requests served N")
    ax.set_ylabel("fine-tuning + N × inference energy (kJ)")
    ax.set_title(f"{lifecycle.instance_name}: cheapest (model, bits) to own")
    ax.legend(fontsize=7)
    return ax
