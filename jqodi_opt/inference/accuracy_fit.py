"""The accuracy polynomial of SPEC §7.2 fitted from measured configurations (``fit-accuracy``).

The samples file
----------------
A CSV file with a header row and one row per measured configuration:

- **choice columns**, named ``bits:LAYER``, ``pruning:LAYER`` or ``compression:TENSOR`` (``TENSOR``
  is a layer name or ``input``, the model's input), each cell holding the value that configuration
  chose: a bit-width (an integer 1–32), a pruning ratio in ``[0, 1)`` or a compression ratio in
  ``(0, 1]``. An empty cell means the unmodified choice: 32 bits, no pruning, and — for a tensor —
  not compressed (sent uncompressed or not sent at all; either way no compression term is active).
- **one target column** ``accuracy_drop``: the measured drop against the unmodified model, in the
  unit of the instance's ``max_drop`` (a fraction such as 0.012 for 1.2 points).

Every other column is refused (a misspelt header would otherwise be silently ignored). A bad file
gives one line per problem naming the file, the line and the column, and :class:`InputError`.

Features
--------
Every non-default value ``v`` of a choice column is an indicator — a first-order term of SPEC §7.2
(``{"layer": L, "bits": v}``, ``{"layer": L, "pruning": v}``, ``{"tensor": T, "compression": v}``).
A degree-``d`` interaction polynomial adds the products of up to ``d`` indicators from *different*
columns (two values of one column are never both active) that are active together in at least one
sample; a product never seen in the data cannot be estimated and is left out. The drop of the
unmodified model is 0 by definition, so the polynomial has no constant term.

Model choice
------------
For each degree 1, 2, 3 and each ridge penalty of :data:`RIDGE_ALPHAS`, a ridge regression without
intercept is scored by ``folds``-fold cross-validated R² (the same shuffled folds for every model);
Mu et al.'s predictor, scikit-learn's ``GradientBoostingRegressor`` on the raw choice values (Mu et
al. §VI-C, their Table IV), is scored on the same folds. Only degrees ≤ 2 map onto SPEC's
first-order terms and pairwise interactions, so:

- the written section is the **best degree-≤ 2 polynomial** (the degree and penalty with the
  highest cross-validated R² among degrees 1 and 2), refitted on all samples;
- degree 3 is **reported, not written**: when it cross-validates better, the report says so and
  gives both R² figures, so the loss from dropping triple interactions is visible. (Its
  least-squares projection onto the degree-≤ 2 space is exactly the degree-2 fit of the samples,
  which is what is written.)

Cross-validated R² of the selected model is slightly optimistic (the degree is chosen on the same
folds); the figures of every degree are reported so this can be judged.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jqodi_opt.exceptions import InputError

#: The choice kinds of a column name ``KIND:NAME``, their default value and the key SPEC §7.2 uses
#: for the term's owner.
KINDS: dict[str, tuple[float, str]] = {
    "bits": (32.0, "layer"),
    "pruning": (0.0, "layer"),
    "compression": (1.0, "tensor"),
}
TARGET = "accuracy_drop"
DEGREES = (1, 2, 3)
#: Ridge penalties tried for every degree (indicator features are 0/1, so these are on the scale of
#: a count of samples); the smallest is ordinary least squares kept numerically stable.
RIDGE_ALPHAS = (1e-8, 1e-4, 1e-2, 1e-1, 1.0)
MIN_ROWS = 10
#: Bounds on the work: rows read, and cells of one design matrix (rows x features); a degree whose
#: matrix would be larger is skipped and the report says so.
MAX_ROWS = 1_000_000
MAX_DESIGN_CELLS = 50_000_000
#: A weight smaller than this (in absolute value) is not written.
WEIGHT_EPSILON = 1e-12


@dataclass(frozen=True)
class ChoiceColumn:
    """One choice column ``KIND:NAME`` of the samples file."""

    kind: str
    name: str

    @property
    def header(self) -> str:
        """The column's header, ``KIND:NAME``."""
        return f"{self.kind}:{self.name}"

    @property
    def default(self) -> float:
        """The value of the unmodified model (no term active)."""
        return KINDS[self.kind][0]


@dataclass(frozen=True)
class Samples:
    """Measured configurations read from a samples file.

    Attributes
    ----------
    columns
        The choice columns, in file order.
    values
        ``(rows, columns)`` chosen values, empty cells replaced by the column's default.
    drop
        Measured accuracy drop of each row.
    source
        Where the samples came from (for messages).
    """

    columns: tuple[ChoiceColumn, ...]
    values: np.ndarray
    drop: np.ndarray
    source: str = "samples"


@dataclass(frozen=True)
class Indicator:
    """A first-order term of SPEC §7.2: column ``column`` takes ``value``."""

    column: int
    value: float


@dataclass
class DegreeScore:
    """Cross-validated R² of the interaction polynomial of one degree (best ridge penalty)."""

    degree: int
    features: int
    r2_mean: float | None
    r2_std: float | None
    alpha: float | None
    skipped: str = ""


@dataclass
class AccuracyFit:
    """The outcome of :func:`fit_accuracy`.

    Attributes
    ----------
    section
        The ``accuracy`` section to write (``max_drop``, ``terms``, ``interactions``).
    degrees
        Cross-validated R² of degrees 1–3.
    selected_degree
        The degree with the highest cross-validated R² (may be 3).
    written_degree
        The degree of the written polynomial (1 or 2).
    written_r2
        Cross-validated R² of the written polynomial.
    gradient_boosting_r2
        Cross-validated R² (mean, std) of Mu et al.'s GradientBoosting predictor.
    rows, folds
        Samples used and cross-validation folds.
    notes
        Remarks for the user (degree 3 better but not written, skipped degrees, ...).
    """

    section: dict[str, Any]
    degrees: list[DegreeScore]
    selected_degree: int
    written_degree: int
    written_r2: float
    gradient_boosting_r2: tuple[float, float]
    rows: int
    folds: int
    notes: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The fit report as a JSON-able document (``fit-accuracy --json``)."""
        return {
            "rows": self.rows,
            "folds": self.folds,
            "polynomial": [
                {
                    "degree": score.degree,
                    "features": score.features,
                    "r2": score.r2_mean,
                    "r2_std": score.r2_std,
                    "ridge_alpha": score.alpha,
                    **({"skipped": score.skipped} if score.skipped else {}),
                }
                for score in self.degrees
            ],
            "gradient_boosting": {
                "r2": self.gradient_boosting_r2[0],
                "r2_std": self.gradient_boosting_r2[1],
            },
            "selected_degree": self.selected_degree,
            "written_degree": self.written_degree,
            "written_r2": self.written_r2,
            "terms": len(self.section["terms"]),
            "interactions": len(self.section["interactions"]),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------------


def read_samples(path: str | Path) -> Samples:
    """Reads and checks a samples file (format in the module docstring).

    Raises
    ------
    InputError
        One issue per problem found (at most 20), each naming the line and column.
    """
    source = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return parse_samples(handle, source)
    except OSError as exc:
        raise InputError(source, [("", f"cannot read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError:
        raise InputError(source, [("", "not a UTF-8 text file")]) from None
    except csv.Error as exc:
        raise InputError(source, [("", f"not a CSV file: {exc}")]) from None


def parse_samples(lines: Any, source: str = "samples") -> Samples:
    """Parses samples from an iterable of CSV lines (see :func:`read_samples`)."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(source, [("", "empty file (need a header row)")]) from None
    header = [name.strip() for name in header]
    issues: list[tuple[str, str]] = []
    columns: list[ChoiceColumn] = []
    choice_index: list[int] = []
    target_index: int | None = None
    seen: set[str] = set()
    for position, name in enumerate(header):
        where = f"line 1, column {position + 1} ({name!r})"
        if name in seen:
            issues.append((where, "duplicate column"))
            continue
        seen.add(name)
        if name == TARGET:
            target_index = position
            continue
        kind, colon, owner = name.partition(":")
        if not colon or kind not in KINDS or not owner.strip():
            issues.append(
                (
                    where,
                    f"unknown column; expected {TARGET!r} or KIND:NAME with KIND one of "
                    f"{', '.join(KINDS)}",
                )
            )
            continue
        columns.append(ChoiceColumn(kind, owner.strip()))
        choice_index.append(position)
    if target_index is None:
        issues.append(("line 1", f"missing column {TARGET!r}"))
    if not columns and not issues:
        issues.append(
            ("line 1", "no choice column (bits:LAYER, pruning:LAYER, compression:TENSOR)")
        )
    if issues:
        raise InputError(source, issues)
    assert target_index is not None

    values: list[list[float]] = []
    drops: list[float] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank line
        line = reader.line_num
        if len(values) >= MAX_ROWS:
            raise InputError(source, [(f"line {line}", f"more than {MAX_ROWS:,} rows")])
        if len(row) != len(header):
            issues.append((f"line {line}", f"{len(row)} cells, header has {len(header)}"))
        else:
            drop = _number(row[target_index], f"line {line}, column {TARGET!r}", issues)
            if drop is not None:
                drops.append(drop)
            chosen = []
            for column, position in zip(columns, choice_index, strict=True):
                where = f"line {line}, column {column.header!r}"
                chosen.append(_choice(column, row[position], where, issues))
            values.append(chosen)
        if len(issues) >= 20:
            break
    if not issues and len(values) < MIN_ROWS:
        issues.append(("", f"{len(values)} data rows; need at least {MIN_ROWS} to cross-validate"))
    if issues:
        raise InputError(source, issues)
    return Samples(tuple(columns), np.array(values, dtype=float), np.array(drops), source)


def _number(cell: str, where: str, issues: list[tuple[str, str]]) -> float | None:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        issues.append((where, f"must be a number (got {text!r})"))
        return None
    if not math.isfinite(value):
        issues.append((where, f"must be a finite number (got {text!r})"))
        return None
    return value


def _choice(column: ChoiceColumn, cell: str, where: str, issues: list[tuple[str, str]]) -> float:
    if not cell.strip():
        return column.default
    value = _number(cell, where, issues)
    if value is None:
        return column.default
    if column.kind == "bits" and not (value == int(value) and 1 <= value <= 32):
        issues.append((where, f"bit-width must be an integer 1-32 (got {cell.strip()!r})"))
    elif column.kind == "pruning" and not 0 <= value < 1:
        issues.append((where, f"pruning ratio must be in [0, 1) (got {cell.strip()!r})"))
    elif column.kind == "compression" and not 0 < value <= 1:
        issues.append((where, f"compression ratio must be in (0, 1] (got {cell.strip()!r})"))
    return value


# --------------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------------


def indicators(samples: Samples) -> list[Indicator]:
    """Every non-default value taken in the samples, column by column, values ascending."""
    found = []
    for j, column in enumerate(samples.columns):
        for value in np.unique(samples.values[:, j]):
            if value != column.default:
                found.append(Indicator(j, float(value)))
    return found


def design(
    samples: Samples, terms: Sequence[Indicator], degree: int
) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """The degree-``degree`` interaction design matrix and which terms each feature multiplies.

    Features are products of 1..``degree`` indicators of distinct columns that are active together
    in at least one sample (SPEC §7.2's terms for degree 1, plus its pairwise interactions for 2).
    """
    active = np.stack(
        [samples.values[:, t.column] == t.value for t in terms], axis=1
    )  # (rows, terms) booleans
    features: list[np.ndarray] = []
    keys: list[tuple[int, ...]] = []
    for size in range(1, degree + 1):
        for combo in itertools.combinations(range(len(terms)), size):
            if len({terms[i].column for i in combo}) < size:
                continue  # two values of one column are never active together
            product = np.logical_and.reduce(active[:, combo], axis=1)
            if product.any():
                features.append(product)
                keys.append(combo)
    if not features:
        return np.zeros((len(samples.drop), 0)), keys
    matrix = np.stack(features, axis=1).astype(float)
    return matrix, keys


def count_features(samples: Samples, terms: Sequence[Indicator], degree: int) -> int:
    """An upper bound on the features of :func:`design` (products across distinct columns)."""
    per_column: dict[int, int] = {}
    for term in terms:
        per_column[term.column] = per_column.get(term.column, 0) + 1
    counts = list(per_column.values())
    total = 0
    for size in range(1, degree + 1):
        for combo in itertools.combinations(counts, size):
            total += math.prod(combo)
            if total > MAX_DESIGN_CELLS:
                return total
    return total


# --------------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------------


def fit_accuracy(
    samples: Samples, max_drop: float = 0.02, folds: int = 5, seed: int = 0
) -> AccuracyFit:
    """Fits the accuracy polynomial and Mu et al.'s GradientBoosting predictor (module docstring).

    Parameters
    ----------
    samples
        Measured configurations (:func:`read_samples`).
    max_drop
        The budget written into the section (Mu et al.: 0.02).
    folds
        Cross-validation folds (shuffled with ``seed``; at most one per two samples, so every
        held-out fold has the two samples R² needs).
    seed
        Seed of the fold shuffle and of GradientBoosting.
    """
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_score

    if not max_drop > 0:
        raise ValueError(f"max_drop {max_drop} not understood (must be > 0).")
    if folds < 2:
        raise ValueError(f"folds {folds} not understood (must be >= 2).")
    rows = len(samples.drop)
    folds = min(folds, rows // 2)  # R² of a one-sample fold is undefined (nan)
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    terms = indicators(samples)
    notes: list[str] = []

    scores: list[DegreeScore] = []
    designs: dict[int, tuple[np.ndarray, list[tuple[int, ...]]]] = {}
    for degree in DEGREES:
        bound = count_features(samples, terms, degree)
        if bound * rows > MAX_DESIGN_CELLS:
            scores.append(
                DegreeScore(degree, bound, None, None, None, skipped="design matrix too large")
            )
            notes.append(f"degree {degree} skipped: up to {bound:,} features x {rows:,} rows")
            continue
        matrix, keys = design(samples, terms, degree)
        designs[degree] = (matrix, keys)
        if matrix.shape[1] == 0:
            scores.append(DegreeScore(degree, 0, None, None, None, skipped="no active choice"))
            continue
        best: tuple[float, float, float] | None = None
        for alpha in RIDGE_ALPHAS:
            r2 = cross_val_score(
                Ridge(alpha=alpha, fit_intercept=False), matrix, samples.drop,
                cv=splitter, scoring="r2",
            )  # fmt: skip
            if best is None or r2.mean() > best[0]:
                best = (float(r2.mean()), float(r2.std()), alpha)
        assert best is not None
        scores.append(DegreeScore(degree, matrix.shape[1], best[0], best[1], best[2]))

    gradient_boosting = cross_val_score(
        GradientBoostingRegressor(random_state=seed), samples.values, samples.drop,
        cv=splitter, scoring="r2",
    )  # fmt: skip
    scored = [s for s in scores if s.r2_mean is not None]
    if not scored:
        raise ValueError(
            f"{samples.source}: every configuration is the unmodified model; nothing to fit."
        )
    selected = max(scored, key=lambda s: s.r2_mean or -math.inf)
    writable = [s for s in scored if s.degree <= 2]
    if not writable:
        raise ValueError(f"{samples.source}: no polynomial of degree <= 2 could be fitted.")
    written = max(writable, key=lambda s: s.r2_mean or -math.inf)
    if selected.degree == 3:
        notes.append(
            f"degree 3 cross-validates best (R² {selected.r2_mean:.4f}) but SPEC §7.2 holds only "
            f"pairwise interactions; written: degree {written.degree} (R² {written.r2_mean:.4f})"
        )

    matrix, keys = designs[written.degree]
    model = Ridge(alpha=written.alpha or RIDGE_ALPHAS[0], fit_intercept=False)
    model.fit(matrix, samples.drop)
    section = accuracy_section(samples, terms, keys, model.coef_, max_drop)
    assert written.r2_mean is not None
    return AccuracyFit(
        section=section,
        degrees=scores,
        selected_degree=selected.degree,
        written_degree=written.degree,
        written_r2=written.r2_mean,
        gradient_boosting_r2=(float(gradient_boosting.mean()), float(gradient_boosting.std())),
        rows=rows,
        folds=folds,
        notes=notes,
    )


def accuracy_section(
    samples: Samples,
    terms: Sequence[Indicator],
    keys: Sequence[tuple[int, ...]],
    weights: np.ndarray,
    max_drop: float,
) -> dict[str, Any]:
    """The SPEC §7.5 ``accuracy`` section from fitted weights of a degree-≤ 2 design.

    A first-order term is written when its weight is non-zero or an interaction refers to it (then
    with its own weight, possibly 0), so every ``of`` index points into ``terms``.
    """
    weighted = list(zip(keys, weights, strict=True))
    first = {key[0]: float(w) for key, w in weighted if len(key) == 1}
    pairs = [(key, float(w)) for key, w in weighted if len(key) == 2 and abs(w) > WEIGHT_EPSILON]
    if any(len(key) > 2 for key in keys):
        raise ValueError("only first-order terms and pairwise interactions can be written")
    needed = {i for i, w in first.items() if abs(w) > WEIGHT_EPSILON}
    needed.update(i for key, _ in pairs for i in key)
    order = sorted(needed)
    position = {term: k for k, term in enumerate(order)}
    written_terms = []
    for i in order:
        term = terms[i]
        column = samples.columns[term.column]
        owner_key = KINDS[column.kind][1]
        value: float | int = int(term.value) if column.kind == "bits" else term.value
        written_terms.append(
            {owner_key: column.name, column.kind: value, "drop": first.get(i, 0.0)}
        )
    interactions = [
        {"of": [position[key[0]], position[key[1]]], "drop": weight} for key, weight in pairs
    ]
    return {"max_drop": max_drop, "terms": written_terms, "interactions": interactions}


def predict_drop(section: dict[str, Any], choices: dict[str, float]) -> float:
    """The drop the section predicts for one configuration (``{"bits:conv1": 8, ...}``).

    Absent columns take their default. Used by tests to check a written section against samples.
    """
    active = []
    for term in section["terms"]:
        kind = next(k for k in KINDS if k in term)
        owner = term[KINDS[kind][1]]
        chosen = choices.get(f"{kind}:{owner}", KINDS[kind][0])
        active.append(chosen == term[kind])
    drop = sum(t["drop"] for t, on in zip(section["terms"], active, strict=True) if on)
    drop += sum(
        inter["drop"] for inter in section["interactions"] if all(active[i] for i in inter["of"])
    )
    return float(drop)
