"""The cost model of split inference (SPEC §7.1), vectorised with numpy.

Both seeds (Mu et al. 2024; Nicosanti et al. 2026) run one request sequentially, without overlap of
branches, so a plan's latency is the sum of its compute and transfer times and its energy the sum of
their energies. For layer ``i`` on server ``k`` with bit-width ``b`` and pruning ratio ``r``::

    tau     = flops_i (1 - r) / (speed_k * speedup_k(b))          # compute time      (§7.1)
    energy  = power_k * tau                                        # compute energy    (§7.1)
    memory  = 4 * params_i * (b / 32) * (1 - r)                    # weights on k      (§7.1)

and for tensor ``t`` sent from ``k`` to ``h != k`` at its producer's bit-width ``b`` with
compression ratio ``c``::

    bits    = 8 * output_bytes_t * (b / 32) * c                   # payload           (§7.1)
    time    = bits / rate_kh + latency_kh                          # transfer time     (§7.1)
    energy  = bits * energy_per_bit_kh                             # transfer energy   (§7.1)

This module builds the arrays of every such number (:func:`compute_arrays`, :func:`send_arrays`)
and costs a whole :class:`~jqodi_opt.inference.problem.Assignment` from them
(:func:`assignment_costs`). :mod:`jqodi_opt.inference.evaluate` recomputes the same quantities from
the instance with plain loops, as an independent check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from jqodi_opt.hardware import shannon_rate_bps
from jqodi_opt.inference.instance import InferenceInstance, Link

if TYPE_CHECKING:
    from jqodi_opt.inference.problem import Assignment, InferenceProblem

#: Bytes per FP32 parameter (SPEC §7.1's memory formula).
BYTES_PER_PARAM = 4.0


def link_rate_bps(link: Link) -> float:
    """A link's rate: ``rate_bps``, or Shannon ``bandwidth_hz * log2(1 + 10^(snr_db/10))``."""
    if link.rate_bps is not None:
        return link.rate_bps
    assert link.bandwidth_hz is not None and link.snr_db is not None
    return shannon_rate_bps(link.bandwidth_hz, link.snr_db)


@dataclass(frozen=True)
class LinkArrays:
    """Server-by-server link data, ``[k, h]``; symmetric. ``linked`` is False on the diagonal and
    where there is no link; the other arrays are NaN there."""

    linked: np.ndarray
    rate_bps: np.ndarray
    latency_s: np.ndarray
    energy_per_bit: np.ndarray


def link_arrays(instance: InferenceInstance) -> LinkArrays:
    """The links of ``instance`` as ``(K, K)`` matrices in server order."""
    k = len(instance.servers)
    linked = np.zeros((k, k), dtype=bool)
    rate = np.full((k, k), np.nan)
    latency = np.full((k, k), np.nan)
    per_bit = np.full((k, k), np.nan)
    for link in instance.links:
        a, b = (instance.server_index(name) for name in link.between)
        for u, v in ((a, b), (b, a)):
            linked[u, v] = True
            rate[u, v] = link_rate_bps(link)
            latency[u, v] = link.latency_s
            per_bit[u, v] = link.energy_per_bit
    return LinkArrays(linked, rate, latency, per_bit)


def compute_arrays(
    flops: np.ndarray,
    params: np.ndarray,
    speed_flops: np.ndarray,
    power_w: np.ndarray,
    speedup: np.ndarray,
    bits: np.ndarray,
    pruning: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute time, compute energy and weight memory of every (layer, server, bits, pruning).

    Parameters
    ----------
    flops, params
        ``(L,)`` forward FLOPs and parameter counts of the layers.
    speed_flops, power_w
        ``(K,)`` server speeds (FLOP/s) and powers (W).
    speedup
        ``(K, B)`` speed-up of each server at each bit-width.
    bits, pruning
        ``(B,)`` bit-widths and ``(R,)`` pruning ratios.

    Returns
    -------
    time_s, energy_j
        ``(L, K, B, R)`` seconds and joules (SPEC §7.1 ``tau`` and ``power * tau``).
    memory_bytes
        ``(L, B, R)`` bytes of weights: ``4 * params * (b / 32) * (1 - r)``.
    """
    kept = 1.0 - pruning  # (R,)
    work = flops[:, None, None, None] * kept[None, None, None, :]  # (L, 1, 1, R)
    rate = (speed_flops[:, None] * speedup)[None, :, :, None]  # (1, K, B, 1)
    time_s = work / rate
    energy_j = power_w[None, :, None, None] * time_s
    memory = (
        BYTES_PER_PARAM * params[:, None, None] * (bits / 32.0)[None, :, None] * kept[None, None, :]
    )
    return time_s, energy_j, memory


def send_arrays(
    tensor_bytes: np.ndarray, bits: np.ndarray, compression: np.ndarray, links: LinkArrays
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Payload, transfer time and transfer energy of every (tensor, link, bits, compression).

    Parameters
    ----------
    tensor_bytes
        ``(T,)`` FP32 sizes of the tensors (one sample).
    bits, compression
        ``(B,)`` bit-widths and ``(C,)`` compression ratios.
    links
        The ``(K, K)`` link matrices.

    Returns
    -------
    payload_bits
        ``(T, B, C)``: ``8 * bytes * (b / 32) * c``.
    time_s, energy_j
        ``(T, K, K, B, C)``: sending tensor ``t`` from ``k`` to ``h``; 0 on the diagonal (a
        tensor that stays is not sent), ``inf`` where ``k`` and ``h`` have no link.
    """
    payload = 8.0 * tensor_bytes[:, None, None] * (bits / 32.0)[None, :, None] * compression
    p = payload[:, None, None, :, :]
    with np.errstate(invalid="ignore"):
        rate = links.rate_bps[None, :, :, None, None]
        time_s = p / rate + links.latency_s[None, :, :, None, None]
        energy_j = p * links.energy_per_bit[None, :, :, None, None]
    missing = ~links.linked
    time_s = np.where(missing[None, :, :, None, None], np.inf, time_s)
    energy_j = np.where(missing[None, :, :, None, None], np.inf, energy_j)
    diagonal = np.eye(len(links.linked), dtype=bool)[None, :, :, None, None]
    time_s = np.where(diagonal, 0.0, time_s)
    energy_j = np.where(diagonal, 0.0, energy_j)
    return payload, time_s, energy_j


@dataclass(frozen=True)
class AssignmentCosts:
    """What one assignment costs, from the compiled arrays.

    Attributes
    ----------
    latency_s, energy_j, device_energy_j
        Totals of SPEC §7.1 (``inf`` when a needed link is missing).
    memory_bytes
        ``(K,)`` weight memory used on each server.
    sends
        ``(tensor, from server, to server)`` of every transfer, in tensor order.
    tensor_sent
        ``(T,)`` True for the tensors sent at least once.
    """

    latency_s: float
    energy_j: float
    device_energy_j: float
    memory_bytes: np.ndarray
    sends: list[tuple[int, int, int]]
    tensor_sent: np.ndarray


def tensor_destinations(problem: InferenceProblem, server: np.ndarray) -> np.ndarray:
    """``(T, K)`` bool: server ``h`` needs tensor ``t`` and does not produce it.

    A tensor goes once to each distinct server among its consumers, and to the device when it is a
    model output and the instance returns outputs (SPEC §7.1).
    """
    producer = problem.tensor_server(server)
    needed = np.zeros((problem.num_tensors, problem.num_servers), dtype=bool)
    needed[problem.edge_tensor, server[problem.edge_layer]] = True
    needed[problem.tensor_returns, problem.device] = True
    needed[np.arange(problem.num_tensors), producer] = False
    return needed


def assignment_costs(problem: InferenceProblem, assignment: Assignment) -> AssignmentCosts:
    """Latency, energy, device energy and memory of ``assignment`` from the compiled arrays."""
    layers = np.arange(problem.num_layers)
    server, b, r = assignment.server, assignment.bits, assignment.pruning
    compute_t = problem.compute_time_s[layers, server, b, r]
    compute_e = problem.compute_energy_j[layers, server, b, r]
    needed = tensor_destinations(problem, server)
    tensor, dest = np.nonzero(needed)
    source = problem.tensor_server(server)[tensor]
    tb = problem.tensor_bits(b)[tensor]
    tc = assignment.compression[tensor]
    send_t = problem.send_time_s[tensor, source, dest, tb, tc]
    send_e = problem.send_energy_j[tensor, source, dest, tb, tc]
    on_device = server == problem.device
    memory = np.zeros(problem.num_servers)
    np.add.at(memory, server, problem.memory_bytes[layers, b, r])
    return AssignmentCosts(
        latency_s=float(compute_t.sum() + send_t.sum()),
        energy_j=float(compute_e.sum() + send_e.sum()),
        device_energy_j=float(compute_e[on_device].sum() + send_e[source == problem.device].sum()),
        memory_bytes=memory,
        sends=[(int(t), int(k), int(h)) for t, k, h in zip(tensor, source, dest, strict=True)],
        tensor_sent=np.asarray(needed.any(axis=1)),
    )
