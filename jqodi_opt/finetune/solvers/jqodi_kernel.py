"""The hot loop of JQODI's merged tree (Algorithm 1 as a dynamic programme), in two kernels that
give identical results: ``"compiled"`` (numba, the default) and ``"reference"`` (numpy per epoch and
option, the original implementation, kept to test the compiled one against).

One epoch step, from the merged states of epoch ``k - 1`` (sorted by cell, so by elapsed time) to
those of epoch ``k``: every state is expanded by every option ``o`` (in index order) to elapsed time
``T' = T + t_o`` and energy ``E + e_o`` (eq. 6); a child beyond the last cell or past the deadline
(``T' > T_max - (K_c - k) t_min`` with the lookahead) is dropped; a child replaces the state of
its cell only when strictly cheaper. Ties therefore keep the lower option, then the earlier parent.
The cell of a time is ``ceil(T' / cell_s * (1 - 1e-12))``, computed with the same floating-point
operations in both kernels, so both merge the same states and write the same back-pointers.

The reference spends ~15 µs of interpreter time per (epoch, option) pair whatever the number of
states; the compiled kernel runs the same loops at machine speed (the K = 10,000, 100-option
instance of the scaling suite: 15.7 s against 0.04 s).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

#: Relative slack when rounding a time up to whole cells: a time that is an exact multiple of the
#: cell stays that multiple despite floating-point division (error <= 1e-12 of the time, well inside
#: the 1e-9 time tolerance of SPEC §1.3).
ROUND_SLACK = 1e-12

KERNELS = ("compiled", "reference")


def cells_of(seconds: np.ndarray | float, cell_s: float) -> np.ndarray:
    """``ceil(seconds / cell_s)`` as integers, i.e. the time rounded up to whole cells."""
    ratio = np.asarray(seconds, dtype=float) / cell_s
    return np.ceil(ratio * (1.0 - ROUND_SLACK)).astype(np.int64)


def first_per_cell(target: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Mask keeping, of entries with equal ``target`` (sorted), the least energy (first on ties)."""
    keep = np.ones(len(target), dtype=bool)
    same = np.flatnonzero(target[1:] == target[:-1])
    if len(same) == 0:
        return keep
    if len(same) > 1 and np.any(np.diff(same) == 1):  # a run of three or more: sort it out
        order = np.lexsort((np.arange(len(target)), energy, target))
        first = np.r_[True, target[order][1:] != target[order][:-1]]
        keep[:] = False
        keep[order[first]] = True
        return keep
    keep[np.where(energy[same + 1] < energy[same], same, same + 1)] = False
    return keep


def step_reference(
    cells: np.ndarray,
    elapsed: np.ndarray,
    energy: np.ndarray,
    option_time: np.ndarray,
    option_energy: np.ndarray,
    last: int,
    cell_s: float,
    deadline: float,
    arrived: np.ndarray,
    parent: np.ndarray,
    price: float = 0.0,
    option_index: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One epoch step in numpy (see the module docstring); writes ``arrived``/``parent`` (the
    back-pointer rows of this epoch) and returns the new ``(cells, elapsed, energy)`` and the
    number of children generated within the limits."""
    new_key = np.full(last + 1, np.inf)
    new_energy = np.full(last + 1, np.inf)
    new_elapsed = np.full(last + 1, np.nan)
    count = 0
    for o in range(len(option_time)):
        child_time = elapsed + option_time[o]  # T' = T + tau_run + tau_tran
        child_cell = cells_of(child_time, cell_s)  # sorted, as the parents are
        fits = min(
            int(np.searchsorted(child_cell, last, side="right")),  # T' <= T_max
            int(np.searchsorted(child_time, deadline, side="right")),  # can still finish
        )
        if fits == 0:
            continue
        count += fits
        child_cell, child_time = child_cell[:fits], child_time[:fits]
        child_energy = energy[:fits] + option_energy[o]  # eq. (6): edge weight
        child_key = child_energy + price * child_time  # the merge key (price 0: the energy)
        first = first_per_cell(child_cell, child_key)
        child_cell, child_time, child_key = child_cell[first], child_time[first], child_key[first]
        child_energy, from_cell = child_energy[first], cells[:fits][first]
        better = child_key < new_key[child_cell]  # strict: ties keep the lower option
        where = child_cell[better]
        new_key[where] = child_key[better]
        new_energy[where] = child_energy[better]
        new_elapsed[where] = child_time[better]
        arrived[where] = o if option_index is None else option_index[o]
        parent[where] = from_cell[better]
    kept = np.flatnonzero(np.isfinite(new_energy))
    return kept, new_elapsed[kept], new_energy[kept], count


def _steps_compiled_py(
    cells: np.ndarray,
    elapsed: np.ndarray,
    energy: np.ndarray,
    option_time: np.ndarray,
    option_energy: np.ndarray,
    last: int,
    cell_s: float,
    limit: float,
    fastest: float,
    epochs: int,
    k_from: int,
    k_to: int,
    choice: np.ndarray,
    origin: np.ndarray,
    generated: np.ndarray,
    kept: np.ndarray,
    slot_energy: np.ndarray,
    slot_elapsed: np.ndarray,
    slot_key: np.ndarray,
    price: float,
    option_index: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Epochs ``k_from..k_to - 1`` (1-based) of the DP, the loops the reference runs in numpy.

    ``slot_energy``/``slot_elapsed``/``slot_key`` are scratch arrays of ``last + 1`` entries,
    ``inf``/``nan``/``inf`` on entry and on return; ``price`` weighs time in the merge key;
    ``option_index[o]`` is the candidate's index of option ``o``, written to ``choice``. Returns
    the states of the last epoch done and that epoch.
    """
    scale = 1.0 - 1e-12  # ROUND_SLACK; a literal so numba folds it
    num_options = option_time.shape[0]
    touched = np.empty(last + 1, dtype=np.int64)
    k_done = k_from - 1
    for k in range(k_from, k_to):
        if cells.shape[0] == 0:
            break
        deadline = limit - (epochs - k) * fastest
        n_touched = 0
        count = 0
        for o in range(num_options):
            t_o = option_time[o]
            e_o = option_energy[o]
            for i in range(cells.shape[0]):
                child_time = elapsed[i] + t_o
                cell = np.int64(np.ceil(child_time / cell_s * scale))
                if cell > last or child_time > deadline:
                    break  # children come out sorted: the rest do not fit either
                count += 1
                child_energy = energy[i] + e_o
                child_key = child_energy + price * child_time
                if child_key < slot_key[cell]:  # strict: ties keep the lower option
                    if slot_key[cell] == np.inf:
                        touched[n_touched] = cell
                        n_touched += 1
                    slot_key[cell] = child_key
                    slot_energy[cell] = child_energy
                    slot_elapsed[cell] = child_time
                    choice[k - 1, cell] = option_index[o]
                    origin[k - 1, cell] = cells[i]
        new_cells = np.sort(touched[:n_touched])
        new_elapsed = np.empty(n_touched)
        new_energy = np.empty(n_touched)
        for j in range(n_touched):
            cell = new_cells[j]
            new_elapsed[j] = slot_elapsed[cell]
            new_energy[j] = slot_energy[cell]
            slot_energy[cell] = np.inf
            slot_elapsed[cell] = np.nan
            slot_key[cell] = np.inf
        cells, elapsed, energy = new_cells, new_elapsed, new_energy
        generated[k] = count
        kept[k] = n_touched
        k_done = k
    return cells, elapsed, energy, k_done


#: The compiled kernel; cached on disk (``__pycache__``) after the first call of a process.
steps_compiled: Any = numba.njit(cache=True, nogil=True)(_steps_compiled_py)


def warm_up() -> None:
    """Compiles the kernel (or loads it from numba's cache) on a one-state problem, so that the
    next call costs only its own work (the benchmark workers do this before any run)."""
    slots = np.full(3, np.inf)
    steps_compiled(
        np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros(1), np.ones(1), np.ones(1), 2, 1.0,
        2.0, 1.0, 1, 1, 2, np.full((1, 3), -1, dtype=np.int16), np.full((1, 3), -1, dtype=np.int32),
        np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64), slots, np.full(3, np.nan),
        np.full(3, np.inf), 0.0, np.zeros(1, dtype=np.int64),
    )  # fmt: skip
