"""Time and energy of one fine-tuning epoch, for every (model, bits, edge server, cut) at once.

Implements SPEC §1.1, i.e. paper eqs. (1)–(10), with numpy. Units: FLOP, FLOP/s, J/FLOP, bit, bit/s,
J/bit, s, J.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jqodi_opt.finetune.instance import Instance, Link
from jqodi_opt.hardware import shannon_rate_bps


def link_rate_bps(link: Link) -> float:
    """Device–edge rate: ``rate_bps`` or ``bandwidth_hz * log2(1 + 10^(snr_db/10))`` (§III-A)."""
    if link.rate_bps is not None:
        return link.rate_bps
    assert link.bandwidth_hz is not None and link.snr_db is not None
    return shannon_rate_bps(link.bandwidth_hz, link.snr_db)


@dataclass(frozen=True)
class ModelCosts:
    """Per-epoch costs of one model, indexed ``[bits, edge server, cut]``.

    Attributes
    ----------
    model
        The model's name.
    bits
        Bit-widths along axis 0 (instance order).
    cuts
        Cuts along axis 2 (the model's ``cut_points``).
    epoch_time_s, epoch_energy_j
        Shape ``(len(bits), n_edge_servers, len(cuts))``; ``inf`` for an edge server with no link.
    quantize_time_s, quantize_energy_j
        Shape ``(len(bits),)``: one-off quantization cost, 0 for 32 bits.
    """

    model: str
    bits: np.ndarray
    cuts: np.ndarray
    epoch_time_s: np.ndarray
    epoch_energy_j: np.ndarray
    quantize_time_s: np.ndarray
    quantize_energy_j: np.ndarray


def model_costs(instance: Instance, model_index: int) -> ModelCosts:
    """Computes the per-epoch time and energy of one model for all bit-widths, servers and cuts."""
    model = instance.models[model_index]
    cloud, device = instance.cloud, instance.device
    bits = np.array([b.bits for b in instance.bitwidths], dtype=np.int64)
    scale = np.array([b.scale for b in instance.bitwidths])
    cuts = np.array(model.cut_points, dtype=np.int64)
    flops = np.array([b.flops for b in model.blocks])
    params = np.array([b.params for b in model.blocks])

    # d_i = samples * training_factor * flops_i * compute_scale(q);  g_i = params_i * q.  [Q, n]
    block_work = device.train_samples * instance.training_factor * np.outer(scale, flops)
    block_bits = np.outer(bits.astype(float), params)
    # Cumulative sums with a leading 0, so column j holds the sum over blocks 1..j.  [Q, n+1]
    work_upto = np.concatenate([np.zeros((len(bits), 1)), np.cumsum(block_work, axis=1)], axis=1)
    bits_upto = np.concatenate([np.zeros((len(bits), 1)), np.cumsum(block_bits, axis=1)], axis=1)
    device_work = work_upto[:, cuts]  # D_sd(j)             [Q, J]
    server_work = work_upto[:, -1:] - device_work  # D_es(j)  [Q, J]
    model_bits = bits_upto[:, -1:]  # G                      [Q, 1]
    shallow_bits = bits_upto[:, cuts]  # G_sd(j)             [Q, J]

    n_servers = len(instance.edge_servers)
    time = np.full((len(bits), n_servers, len(cuts)), np.inf)
    energy = np.full_like(time, np.inf)
    for x, server in enumerate(instance.edge_servers):
        link = instance.link_of(server.name)
        if link is None:
            continue  # an edge server with no link cannot be used
        rate = link_rate_bps(link)
        # eq. (7): compute time on SD, ES and CS; eq. (9): CS<->ES and ES<->SD transfers, both ways.
        time[:, x, :] = (
            device_work / device.speed_flops
            + server_work / server.speed_flops
            + model.cloud_flops / cloud.speed_flops
            + 2.0 * (model_bits / server.cloud_rate_bps + shallow_bits / rate)
        )
        # eq. (8) and eq. (10): the same terms weighted by energy per FLOP / per bit.
        energy[:, x, :] = (
            device_work * device.energy_per_flop
            + server_work * server.energy_per_flop
            + model.cloud_flops * cloud.energy_per_flop
            + 2.0 * (model_bits * server.cloud_energy_per_bit + shallow_bits * link.energy_per_bit)
        )

    # One-off quantization on the CS: tau = Q_a / v_cs, E = Q_a * eps_cs; nothing for 32 bits.
    quantized = bits != 32
    quantize_time = np.where(quantized, model.quantize_work_flops / cloud.speed_flops, 0.0)
    quantize_energy = np.where(quantized, model.quantize_work_flops * cloud.energy_per_flop, 0.0)
    return ModelCosts(model.name, bits, cuts, time, energy, quantize_time, quantize_energy)


def cost_table(instance: Instance) -> pd.DataFrame:
    """All per-epoch options as a long table, one row per (model, bits, edge server, cut).

    Columns: ``model, bits, edge_server, cut, epoch_time_s, epoch_energy_j, quantize_time_s,
    quantize_energy_j``. Edge servers with no link are left out.
    """
    frames = []
    servers = np.array([e.name for e in instance.edge_servers], dtype=object)
    for a in range(len(instance.models)):
        mc = model_costs(instance, a)
        q, x, j = np.meshgrid(
            np.arange(len(mc.bits)), np.arange(len(servers)), np.arange(len(mc.cuts)), indexing="ij"
        )
        frame = pd.DataFrame(
            {
                "model": mc.model,
                "bits": mc.bits[q.ravel()],
                "edge_server": servers[x.ravel()],
                "cut": mc.cuts[j.ravel()],
                "epoch_time_s": mc.epoch_time_s.ravel(),
                "epoch_energy_j": mc.epoch_energy_j.ravel(),
                "quantize_time_s": mc.quantize_time_s[q.ravel()],
                "quantize_energy_j": mc.quantize_energy_j[q.ravel()],
            }
        )
        frames.append(frame[np.isfinite(frame["epoch_time_s"])])
    return pd.concat(frames, ignore_index=True)
