"""The inference model of SPEC §7 as one sparse linear program, read by ``milp`` and ``cpsat``.

Built over the :class:`~jqodi_opt.inference.solvers.network.Network` for any DAG and every knob:

``x[v, j]`` (binary)
    node ``v`` takes choice ``j`` = (server, bits, pruning, output compression): one binary per
    (layer, server, bits, pruning) choice and per compression of its output; ``sum_j x[v, j] = 1``.
    ``X[v, u] = sum_{j: state(j) = u} x[v, j]``: the tensor of ``v`` is in state ``u`` (on
    ``server(u)`` at ``bits(u)``, compressed ``c(u)`` if sent); ``Y[w, h] = sum_{j: server(j) = h}
    x[w, j]``: layer ``w`` runs on ``h``.
``f[v -> w, u, h]`` (0..1)
    the edge ``v -> w`` carries the tensor of ``v`` from state ``u`` to server ``h``: the product
    ``X[v, u] Y[w, h]``, linearised **per edge as a transportation problem**
    ``sum_h f[e, u, h] = X[v, u]`` and ``sum_u f[e, u, h] = Y[w, h]``. With integral ``x`` this
    forces ``f`` to the product, with no big-M. On a chain these rows are exactly the flow
    conservation of a path through the layered network (state of ``v`` -> server of ``v + 1`` ->
    choice of ``v + 1`` -> ...), a network matrix, so **without side constraints the LP relaxation
    is a shortest-path LP and integral**. Pairs of servers with no link get no ``f``: a consumer
    cannot sit where its input cannot reach. Likewise a returning output's choices whose server
    has no link to the device are fixed to 0 (row block ``return_link``).
``s[v, u, h]`` (0..1), ``h != server(u)``
    the tensor of ``v`` is sent from ``server(u)`` to ``h`` — Nicosanti et al.'s tensor variables:
    sent iff the producer is there and *some* consumer is on ``h``, **once per destination**:
    ``s >= f[e, u, h]`` for every consumer edge ``e`` (and ``s >= X[v, u]`` towards the device when
    the output returns) and ``s <= sum_e f[e, u, h]``. A tensor with one destination (every tensor
    of a chain) uses its ``f`` (or ``X``) as ``s``, no extra column. Nicosanti et al. link their
    tensor variable to the *placement* with ``y >= x_src + (sum x_dst) / |dst| - 1``, whose LP
    relaxation is weak; the per-edge flows are the tighter form.
``measure[0..2]`` (continuous, >= 0)
    latency, energy and device energy, defined by equality rows as the sums of SPEC §7.1 (choice
    costs on ``x``, send costs on ``s``), each divided by a lower bound on it
    (:func:`measure_units`) so every plan's value is at least 1. Their upper bounds are the
    limits; the objective is a weighted sum of the three, so one model answers every stage of the
    objectives and of the Pareto front by changing three costs and three bounds.
memory
    ``sum mem[v, j] x[v, j] / memory_k <= 1`` per server whose limit can bind.
accuracy (SPEC §7.2), only when the budget can bind
    a choice term is the sum of its ``x``; a compression term of a one-destination tensor the sum
    of its sends in the masked states; of a multi-destination tensor a column ``a`` with
    ``a >= s[v, u, h]`` for each masked send and ``a <= sum`` of them. An interaction
    ``w_st [s and t]`` gets ``z_st`` with the side that binds: ``z >= a_s + a_t - 1`` when
    ``w_st > 0``, ``z <= a_s`` and ``z <= a_t`` when ``w_st < 0`` (exact, as ``a`` are 0/1 at
    integral ``x``). ``(sum w_t a_t + sum w_st z_st) / max_drop <= 1``.

The program is assembled with numpy (a 1,852-layer chain on 6 servers in well under a second);
:func:`to_pyomo` gives the same model as a Pyomo ``ConcreteModel`` for inspection or other solvers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jqodi_opt.inference.solvers.network import Network


@dataclass
class LinearProgram:
    """``min cost . col  s.t.  row_lower <= A col <= row_upper,  col_lower <= col <= col_upper``.

    Attributes
    ----------
    col_lower, col_upper, integer
        Per column.
    row_lower, row_upper
        Per row.
    start, index, value
        ``A`` in compressed sparse row form.
    x
        Per node: the columns of its choices, in choice order.
    measure
        The columns of latency, energy and device energy.
    units
        What one unit of each measure column stands for (s, J, J).
    names
        Column block names and their first column, for inspection.
    row_names
        Row block names and their first row.
    """

    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    x: list[np.ndarray]
    measure: np.ndarray
    units: np.ndarray
    names: list[tuple[str, int]] = field(default_factory=list)
    row_names: list[tuple[str, int]] = field(default_factory=list)

    @property
    def num_cols(self) -> int:
        """Number of columns."""
        return len(self.col_lower)

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return len(self.row_lower)


class _Assembler:
    """Collects columns and rows, then packs them into a :class:`LinearProgram`."""

    def __init__(self) -> None:
        self.col_lower: list[np.ndarray] = []
        self.col_upper: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.num_cols = 0
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self.names: list[tuple[str, int]] = []
        self.row_names: list[tuple[str, int]] = []

    def columns(self, count: int, upper: float, integer: bool, name: str) -> np.ndarray:
        first = self.num_cols
        self.names.append((name, first))
        self.col_lower.append(np.zeros(count))
        self.col_upper.append(np.full(count, upper))
        self.integer.append(np.full(count, integer))
        self.num_cols += count
        return np.arange(first, first + count)

    def name_rows(self, name: str) -> None:
        self.row_names.append((name, len(self.row_lower)))

    def row(self, cols: np.ndarray, vals: np.ndarray | float, lower: float, upper: float) -> None:
        cols = np.asarray(cols, dtype=np.int64)
        self.rows.append(np.full(len(cols), len(self.row_lower)))
        self.cols.append(cols)
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=float), cols.shape))
        self.row_lower.append(lower)
        self.row_upper.append(upper)

    def block(
        self,
        local: np.ndarray,
        cols: np.ndarray,
        vals: np.ndarray,
        count: int,
        lower: float,
        upper: float,
    ) -> None:
        """``count`` rows at once: entry ``i`` goes to the block's row ``local[i]``."""
        first = len(self.row_lower)
        self.rows.append(first + np.asarray(local, dtype=np.int64))
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=float))
        self.row_lower.extend([lower] * count)
        self.row_upper.extend([upper] * count)

    def pack(self, x: list[np.ndarray], measure: np.ndarray, units: np.ndarray) -> LinearProgram:
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(self.cols) if self.cols else np.zeros(0, dtype=np.int64)
        vals = np.concatenate(self.vals) if self.vals else np.zeros(0)
        # merge repeated (row, col) entries: HiGHS refuses duplicates
        key = rows * self.num_cols + cols
        unique, inverse = np.unique(key, return_inverse=True)
        merged = np.zeros(len(unique))
        np.add.at(merged, inverse, vals)
        keep = merged != 0
        unique, merged = unique[keep], merged[keep]
        r, c = unique // self.num_cols, unique % self.num_cols
        start = np.zeros(len(self.row_lower) + 1, dtype=np.int64)
        np.add.at(start, r + 1, 1)
        return LinearProgram(
            col_lower=np.concatenate(self.col_lower),
            col_upper=np.concatenate(self.col_upper),
            integer=np.concatenate(self.integer),
            row_lower=np.asarray(self.row_lower, dtype=float),
            row_upper=np.asarray(self.row_upper, dtype=float),
            start=np.cumsum(start),
            index=c.astype(np.int64),
            value=merged,
            x=x,
            measure=measure,
            units=units,
            names=self.names,
            row_names=self.row_names,
        )


def measure_units(network: Network) -> np.ndarray:
    """The unit of each measure column: a **lower bound** on the measure (every node's cheapest
    choice, sends ignored), so every plan's value is at least 1 and HiGHS's absolute tolerances
    (5e-10 on a row) are at most 5e-10 of it. (The all-on-the-device plan, tried first, is up to
    1,000 times the optimum on Mu et al.'s instances, which let a row error of 5e-10 become a 7e-7
    gap.) Where the bound is 0 (device energy when everything may leave the device) the unit is
    the all-on-the-device value, or 1."""
    lower = np.sum([node.choice_costs().min(axis=0) for node in network.nodes], axis=0)
    choices = np.array(
        [int(np.flatnonzero(node.server == network.device)[0]) for node in network.nodes]
    )
    local = network.measure(choices).cost
    fallback = np.where(np.isfinite(local) & (local > 0), local, 1.0)
    return np.where(lower > 0, lower, fallback)


def _after(first: Any, rest: np.ndarray) -> np.ndarray:
    """``[first, *rest]`` (``np.r_[first, rest]`` without its parsing, in the hot row loops)."""
    return np.concatenate(([first], rest))


def build_program(network: Network) -> LinearProgram:
    """The linear program of ``network`` (module docstring)."""
    nodes = network.nodes
    device = network.device
    units = measure_units(network)
    asm = _Assembler()
    inf = np.inf

    # ---- columns
    x = [asm.columns(node.num_choices, 1.0, True, f"x[{node.name}]") for node in nodes]
    reach = [node.can_send() for node in nodes]
    flows: dict[tuple[int, int], np.ndarray] = {}  # (v, w) -> (states, servers) column or -1
    for v, node in enumerate(nodes):
        for w in node.consumers:
            table = np.full(reach[v].shape, -1, dtype=np.int64)
            count = int(reach[v].sum())
            table[reach[v]] = asm.columns(count, 1.0, False, f"f[{node.name}->{nodes[w].name}]")
            flows[(v, w)] = table
    # what "the tensor of v goes from state u to h" is, as columns with coefficient 1: per node,
    # parallel arrays (state, server, column); a key (u, h) may own several columns (the return of
    # a one-destination output: the x of every choice in state u)
    sends: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    multi: list[tuple[int, int, int]] = []
    for v, node in enumerate(nodes):
        destinations = len(node.consumers) + int(node.returns)
        away = reach[v] & (node.state_server[:, None] != np.arange(network.num_servers)[None, :])
        us, hs = np.nonzero(away)
        if destinations == 1 and node.consumers:
            cols = flows[(v, node.consumers[0])][us, hs]
        elif destinations == 1 and node.returns:
            keep = hs == device
            us, hs = us[keep], hs[keep]
            per_state = [x[v][node.state == u] for u in us]
            cols = np.concatenate(per_state) if per_state else np.zeros(0, dtype=np.int64)
            counts = [len(p) for p in per_state]
            us, hs = np.repeat(us, counts), np.repeat(hs, counts)
        elif destinations > 1:
            multi.extend((v, int(u), int(h)) for u, h in zip(us, hs, strict=True))
            cols = np.full(len(us), -1, dtype=np.int64)
        else:
            us = hs = cols = np.zeros(0, dtype=np.int64)
        sends.append((us, hs, cols))
    if multi:
        s_cols = asm.columns(len(multi), 1.0, False, "s")
        position = 0
        for v, (us, hs, cols) in enumerate(sends):
            if len(cols) and cols[0] == -1:
                sends[v] = (us, hs, s_cols[position : position + len(cols)])
                position += len(cols)
    measure = asm.columns(3, inf, False, "measure")

    # ---- rows
    asm.name_rows("one_choice")
    for v in range(len(nodes)):
        asm.row(x[v], 1.0, 1.0, 1.0)
    asm.name_rows("flow")
    for (v, w), table in flows.items():
        node, consumer = nodes[v], nodes[w]
        us, hs = np.nonzero(table >= 0)
        f = table[us, hs]
        # sum_h f[e, u, h] = X[v, u], one row per state u
        asm.block(
            np.concatenate((us, node.state)),
            np.concatenate((f, x[v])),
            np.concatenate((np.ones(len(f)), -np.ones(node.num_choices))),
            node.num_states,
            0,
            0,
        )
        # sum_u f[e, u, h] = Y[w, h], one row per server h
        asm.block(
            np.concatenate((hs, consumer.server)),
            np.concatenate((f, x[w])),
            np.concatenate((np.ones(len(f)), -np.ones(consumer.num_choices))),
            network.num_servers,
            0,
            0,
        )
    if multi:
        asm.name_rows("send_link")
    s_of = {key: col for key, col in zip(multi, s_cols, strict=True)} if multi else {}
    for v, u, h in multi:
        node = nodes[v]
        s = s_of[(v, u, h)]
        carried = [flows[(v, w)][u, h : h + 1] for w in node.consumers]
        if node.returns and h == device:
            carried.append(x[v][node.state == u])
        for group in carried:  # s >= f[e, u, h]  (>= X[v, u] for the return)
            asm.row(_after(s, group), _after(1.0, -np.ones(len(group))), 0, inf)
        every = np.concatenate(carried)  # s <= sum_e f[e, u, h]
        asm.row(_after(s, every), _after(1.0, -np.ones(len(every))), -inf, 0)

    # a returning output may only sit in a state whose server is the device or linked to it: the
    # sends above have no column for an unreachable return, so forbid those choices outright
    # (consumers need no such row: their flows exist only where a link does)
    stranded = [x[v][~reach[v][node.state, device]] for v, node in enumerate(nodes) if node.returns]
    stranded = [cols for cols in stranded if len(cols)]
    if stranded:
        asm.name_rows("return_link")
    for cols in stranded:  # sum of x over states that cannot reach the device = 0
        asm.row(cols, 1.0, 0.0, 0.0)

    asm.name_rows("measure")
    for i in range(3):  # SPEC §7.1: measure_i = sum choice costs + sum send costs
        row_cols = [np.array([measure[i]])]
        row_vals = [np.array([-1.0])]
        for v, node in enumerate(nodes):
            row_cols.append(x[v])
            row_vals.append(node.choice_costs()[:, i] / units[i])
        for v, (us, hs, columns) in enumerate(sends):
            row_cols.append(columns)
            row_vals.append(nodes[v].send_costs()[us, hs, i] / units[i])
        asm.row(np.concatenate(row_cols), np.concatenate(row_vals), 0.0, 0.0)

    binding = np.flatnonzero(network.memory_binds())
    if len(binding):
        asm.name_rows("memory")
    for k in binding:
        limit = float(network.memory_limit_bytes[k])
        cols = np.concatenate([x[v][node.server == k] for v, node in enumerate(nodes)])
        vals = np.concatenate([node.memory_bytes[node.server == k] / limit for node in nodes])
        asm.row(cols, vals, -inf, 1.0)

    if network.budget_binds():
        _accuracy(network, asm, x, sends)
    return asm.pack(x, measure, units)


def _accuracy(
    network: Network,
    asm: _Assembler,
    x: list[np.ndarray],
    sends: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> None:
    """The accuracy budget with its interactions linearised (module docstring)."""
    assert network.max_drop is not None
    nodes = network.nodes
    inf = np.inf
    active: list[np.ndarray] = []  # each term: the columns whose sum is its indicator
    pending: list[tuple[int, np.ndarray]] = []
    for t, term in enumerate(network.terms):
        node = nodes[term.node]
        if term.kind == "choice":
            active.append(x[term.node][term.mask])
            continue
        us, _hs, cols = sends[term.node]
        carried = cols[term.mask[us]]
        if len(node.consumers) + int(node.returns) <= 1:
            active.append(carried)
        else:
            pending.append((t, carried))
            active.append(np.zeros(0, dtype=np.int64))
    if pending:
        a_cols = asm.columns(len(pending), 1.0, False, "a")
        asm.name_rows("compression_term")
        for (t, carried), a in zip(pending, a_cols, strict=True):
            for c in carried:  # a >= s
                asm.row(np.array([a, c]), np.array([1.0, -1.0]), 0, inf)
            asm.row(np.r_[a, carried], np.r_[1.0, -np.ones(len(carried))], -inf, 0)  # a <= sum s
            active[t] = np.array([a])
    z_cols = asm.columns(len(network.interactions), 1.0, False, "z")
    if len(z_cols):
        asm.name_rows("interaction")
    for (s, t, weight), z in zip(network.interactions, z_cols, strict=True):
        a_s, a_t = active[s], active[t]
        if weight > 0:  # z >= a_s + a_t - 1
            asm.row(np.r_[z, a_s, a_t], np.r_[1.0, -np.ones(len(a_s) + len(a_t))], -1.0, inf)
        elif weight < 0:  # z <= a_s, z <= a_t
            asm.row(np.r_[z, a_s], np.r_[1.0, -np.ones(len(a_s))], -inf, 0.0)
            asm.row(np.r_[z, a_t], np.r_[1.0, -np.ones(len(a_t))], -inf, 0.0)
    budget = network.max_drop if network.max_drop > 0 else 1.0
    row_cols = [*active, z_cols]
    row_vals = [
        np.full(len(a), term.drop / budget) for a, term in zip(active, network.terms, strict=True)
    ]
    row_vals.append(np.array([w / budget for _, _, w in network.interactions]))
    asm.name_rows("accuracy")
    asm.row(np.concatenate(row_cols), np.concatenate(row_vals), -inf, network.max_drop / budget)


def to_pyomo(program: LinearProgram, weights: np.ndarray | None = None) -> Any:
    """The program as a Pyomo ``ConcreteModel``: ``col[i]`` variables, ``row[r]`` constraints and
    the objective ``weights . measure`` (default: latency)."""
    import pyomo.environ as pyo

    weights = np.array([1.0, 0.0, 0.0]) if weights is None else np.asarray(weights)
    m = pyo.ConcreteModel(name="jqodi-inference")
    m.col = pyo.Var(
        range(program.num_cols),
        domain=lambda _, i: pyo.Binary if program.integer[i] else pyo.NonNegativeReals,
        bounds=lambda _, i: (
            float(program.col_lower[i]),
            None if np.isinf(program.col_upper[i]) else float(program.col_upper[i]),
        ),
    )

    def row(_: object, r: int) -> Any:
        lo, hi = program.start[r], program.start[r + 1]
        pairs = zip(program.index[lo:hi], program.value[lo:hi], strict=True)
        body = sum(float(v) * m.col[int(c)] for c, v in pairs)
        lower = None if np.isinf(program.row_lower[r]) else float(program.row_lower[r])
        upper = None if np.isinf(program.row_upper[r]) else float(program.row_upper[r])
        return (lower, body, upper)

    m.row = pyo.Constraint(range(program.num_rows), rule=row)
    m.objective = pyo.Objective(
        expr=sum(
            float(w * u) * m.col[int(c)]
            for w, u, c in zip(weights, program.units, program.measure, strict=True)
            if w
        ),
        sense=pyo.minimize,
    )
    return m
