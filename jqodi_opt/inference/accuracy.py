"""The predicted accuracy drop (SPEC §7.2): first-order terms plus pairwise interactions.

    drop = sum_t w_t [t active] + sum_(s,t) w_st [s active and t active]

A term is keyed by ``{layer, bits}``, ``{layer, pruning}`` or ``{tensor, compression}`` and is
active when the plan takes that choice — a compression term only when its tensor is actually sent (a
tensor that stays is never compressed). The interaction polynomial is that of Nicosanti et al. 2026;
it is linear in the products of choice indicators, so exact solvers can linearise it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from jqodi_opt.graph import INPUT
from jqodi_opt.inference.instance import InferenceInstance

if TYPE_CHECKING:
    from jqodi_opt.inference.problem import Assignment, InferenceProblem

#: ``term_kind`` codes.
KIND_BITS, KIND_PRUNING, KIND_COMPRESSION = 0, 1, 2


@dataclass(frozen=True)
class AccuracyTerms:
    """The accuracy polynomial as index arrays (``A`` terms, ``I`` interactions).

    Attributes
    ----------
    kind
        ``(A,)`` int: :data:`KIND_BITS`, :data:`KIND_PRUNING` or :data:`KIND_COMPRESSION`.
    target
        ``(A,)`` int: the layer index (bits, pruning) or the tensor index (compression; tensor 0 is
        the model's input, tensor ``i + 1`` the output of layer ``i``).
    choice
        ``(A,)`` int: index into the problem's ``bits``, ``pruning`` or ``compression`` array.
    drop
        ``(A,)`` float: the term's weight ``w_t``.
    pairs
        ``(I, 2)`` int: the two term indices of each interaction.
    pair_drop
        ``(I,)`` float: the interaction's weight ``w_st``.
    """

    kind: np.ndarray
    target: np.ndarray
    choice: np.ndarray
    drop: np.ndarray
    pairs: np.ndarray
    pair_drop: np.ndarray

    @property
    def num_terms(self) -> int:
        """``A``."""
        return len(self.drop)


def compile_terms(
    instance: InferenceInstance,
    layer_index: dict[str, int],
    bits: np.ndarray,
    pruning: np.ndarray,
    compression: np.ndarray,
) -> AccuracyTerms:
    """Index arrays of the instance's accuracy terms against the problem's choice arrays."""
    kinds: list[int] = []
    targets: list[int] = []
    choices: list[int] = []
    drops: list[float] = []
    terms = [] if instance.accuracy is None else instance.accuracy.terms
    for term in terms:
        if term.kind == "bits":
            assert term.layer is not None
            kinds.append(KIND_BITS)
            targets.append(layer_index[term.layer])
            choices.append(int(np.flatnonzero(bits == term.bits)[0]))
        elif term.kind == "pruning":
            assert term.layer is not None
            kinds.append(KIND_PRUNING)
            targets.append(layer_index[term.layer])
            choices.append(int(np.flatnonzero(pruning == term.pruning)[0]))
        else:
            assert term.tensor is not None
            kinds.append(KIND_COMPRESSION)
            targets.append(0 if term.tensor == INPUT else layer_index[term.tensor] + 1)
            choices.append(int(np.flatnonzero(compression == term.compression)[0]))
        drops.append(term.drop)
    inters = [] if instance.accuracy is None else instance.accuracy.interactions
    return AccuracyTerms(
        kind=np.array(kinds, dtype=np.int64),
        target=np.array(targets, dtype=np.int64),
        choice=np.array(choices, dtype=np.int64),
        drop=np.array(drops, dtype=float),
        pairs=np.array([x.of for x in inters], dtype=np.int64).reshape(-1, 2),
        pair_drop=np.array([x.drop for x in inters], dtype=float),
    )


def active_terms(
    terms: AccuracyTerms, assignment: Assignment, tensor_sent: np.ndarray
) -> np.ndarray:
    """``(A,)`` bool: which terms the assignment activates (SPEC §7.2)."""
    taken = np.empty(terms.num_terms, dtype=np.int64)
    is_bits = terms.kind == KIND_BITS
    is_pruning = terms.kind == KIND_PRUNING
    is_comp = terms.kind == KIND_COMPRESSION
    taken[is_bits] = assignment.bits[terms.target[is_bits]]
    taken[is_pruning] = assignment.pruning[terms.target[is_pruning]]
    taken[is_comp] = assignment.compression[terms.target[is_comp]]
    active = taken == terms.choice
    # a compression term counts only when its tensor is sent
    active[is_comp] &= tensor_sent[terms.target[is_comp]]
    return active


def accuracy_drop(problem: InferenceProblem, assignment: Assignment) -> float:
    """The predicted drop of ``assignment``: ``sum w_t a_t + sum w_st a_s a_t``."""
    from jqodi_opt.inference.costs import tensor_destinations

    terms = problem.accuracy
    if terms.num_terms == 0:
        return 0.0
    sent = np.asarray(tensor_destinations(problem, assignment.server).any(axis=1))
    active = active_terms(terms, assignment, sent)
    both = active[terms.pairs[:, 0]] & active[terms.pairs[:, 1]]
    return float(terms.drop @ active + terms.pair_drop @ both)
