"""``jqodi fit-accuracy``: recovering a known polynomial, reporting the loss of fit on a
non-polynomial truth, and one-line errors for bad sample files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from jqodi_opt.cli import main
from jqodi_opt.inference.accuracy_fit import (
    ChoiceColumn,
    Samples,
    fit_accuracy,
    predict_drop,
    read_samples,
)

COLUMNS = (
    ChoiceColumn("bits", "conv1"),
    ChoiceColumn("pruning", "conv2"),
    ChoiceColumn("compression", "conv5"),
    ChoiceColumn("bits", "fc1"),
    ChoiceColumn("pruning", "fc1"),
)
CHOICES = ([32, 8, 4], [0, 0.5, 0.75], [1, 0.065, 0.2], [32, 8], [0, 0.5])

# The known polynomial: first-order weights per (column, value) and two pairwise interactions.
FIRST = {
    (0, 8): 0.004, (0, 4): 0.012, (1, 0.5): 0.003, (1, 0.75): 0.009,
    (2, 0.065): 0.011, (2, 0.2): 0.005, (3, 8): 0.002, (4, 0.5): 0.006,
}  # fmt: skip
PAIRS = {((0, 4), (1, 0.75)): 0.003, ((2, 0.065), (4, 0.5)): -0.002}
NOISE = 2e-4


def sample_values(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([[rng.choice(c) for c in CHOICES] for _ in range(rows)], dtype=float)


def known_polynomial(values: np.ndarray) -> np.ndarray:
    drop = np.zeros(len(values))
    for (j, v), w in FIRST.items():
        drop += w * (values[:, j] == v)
    for ((j, v), (k, u)), w in PAIRS.items():
        drop += w * ((values[:, j] == v) & (values[:, k] == u))
    return drop


def write_csv(path: Path, values: np.ndarray, drop: np.ndarray) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.header for c in COLUMNS] + ["accuracy_drop"])
        for row, target in zip(values, drop, strict=True):
            cells = []
            for column, value in zip(COLUMNS, row, strict=True):
                # the unmodified choice written as an empty cell half of the time, to test both
                empty = value == column.default and int(target * 1e6) % 2 == 0
                cells.append("" if empty else f"{value:g}")
            writer.writerow([*cells, repr(float(target))])


def term_key(term: dict) -> tuple[int, float]:
    """(column index, value) of a written term."""
    kind = next(k for k in ("bits", "pruning", "compression") if k in term)
    owner = term.get("layer", term.get("tensor"))
    column = next(j for j, c in enumerate(COLUMNS) if (c.kind, c.name) == (kind, owner))
    return column, float(term[kind])


def weight_of(section: dict, kind: str, owner: str, value: float) -> float:
    for term in section["terms"]:
        if term.get(kind) == value and owner in (term.get("layer"), term.get("tensor")):
            return float(term["drop"])
    return 0.0


def test_recovers_a_known_polynomial_from_noisy_samples(tmp_path) -> None:
    values = sample_values(240, seed=1)
    drop = known_polynomial(values) + np.random.default_rng(2).normal(0, NOISE, len(values))
    path = tmp_path / "samples.csv"
    write_csv(path, values, drop)

    fit = fit_accuracy(read_samples(path), max_drop=0.02)

    assert fit.written_degree == 2 and fit.selected_degree in (2, 3)
    assert fit.written_r2 > 0.99
    section = fit.section
    assert section["max_drop"] == 0.02
    # every first-order weight within 5 noise standard deviations of the truth
    for (j, v), w in FIRST.items():
        column = COLUMNS[j]
        assert weight_of(section, column.kind, column.name, v) == pytest.approx(w, abs=5 * NOISE)
    # the two true interactions are found; spurious ones stay at noise level
    truth = {frozenset(pair): w for pair, w in PAIRS.items()}
    for inter in section["interactions"]:
        pair = frozenset(term_key(section["terms"][i]) for i in inter["of"])
        assert inter["drop"] == pytest.approx(truth.get(pair, 0.0), abs=5 * NOISE)
    found = {
        frozenset(term_key(section["terms"][i]) for i in inter["of"])
        for inter in section["interactions"]
    }
    assert set(truth) <= found
    # the written section predicts every configuration within noise
    for row in values[:50]:
        choices = {c.header: float(v) for c, v in zip(COLUMNS, row, strict=True)}
        expected = float(known_polynomial(row[None, :])[0])
        assert predict_drop(section, choices) == pytest.approx(expected, abs=6 * NOISE)


def test_interaction_indices_point_into_terms() -> None:
    values = sample_values(120, seed=3)
    fit = fit_accuracy(Samples(COLUMNS, values, known_polynomial(values)))
    for inter in fit.section["interactions"]:
        i, j = inter["of"]
        assert 0 <= i < len(fit.section["terms"]) and 0 <= j < len(fit.section["terms"])
        assert i != j


def test_more_folds_than_samples_keep_two_samples_per_fold() -> None:
    # --folds 1000 on 12 rows ran leave-one-out: every R² nan (one sklearn warning per fold)
    values = sample_values(12, seed=6)
    fit = fit_accuracy(Samples(COLUMNS, values, known_polynomial(values)), folds=1000)
    assert fit.folds == 6
    assert np.isfinite(fit.written_r2) and np.isfinite(fit.gradient_boosting_r2[0])


def test_non_polynomial_truth_reports_the_loss_of_fit() -> None:
    """A four-way AND (a drop only when four knobs are all turned) is no pairwise polynomial:
    GradientBoosting, whose trees split on it directly, cross-validates clearly better, and the
    report says that degree 3 beats the degree-2 polynomial it writes."""
    values = sample_values(300, seed=4)
    rng = np.random.default_rng(5)
    drop = 0.03 * (
        (values[:, 0] <= 8) & (values[:, 1] >= 0.5) & (values[:, 2] <= 0.2) & (values[:, 3] == 8)
    ) + rng.normal(0, NOISE, len(values))

    fit = fit_accuracy(Samples(COLUMNS, values, drop))

    gradient_boosting = fit.gradient_boosting_r2[0]
    assert fit.written_r2 < 0.85
    assert gradient_boosting > fit.written_r2 + 0.1
    r2 = {s.degree: s.r2_mean or -1.0 for s in fit.degrees}
    assert r2[1] < r2[2] < r2[3]
    assert fit.selected_degree == 3 and fit.written_degree == 2
    assert any("degree 3 cross-validates best" in note for note in fit.notes)


def test_cli_writes_the_section_and_reports_both_models(tmp_path, capsys) -> None:
    values = sample_values(60, seed=6)
    path = tmp_path / "samples.csv"
    write_csv(path, values, known_polynomial(values))
    out_file = tmp_path / "accuracy.json"
    code = main(["fit-accuracy", str(path), "--out", str(out_file), "--json", "--max-drop", "0.01"])
    captured = capsys.readouterr()
    assert code == 0
    report = json.loads(captured.out)
    assert [p["degree"] for p in report["polynomial"]] == [1, 2, 3]
    assert report["gradient_boosting"]["r2"] is not None
    section = json.loads(out_file.read_text())
    assert section["max_drop"] == 0.01
    assert report["terms"] == len(section["terms"]) and section["terms"]


BAD = {
    "typo_header": (
        "bits:conv1,prunning:conv2,accuracy_drop\n8,0.5,0.01\n",
        "line 1, column 2 ('prunning:conv2'): unknown column; expected 'accuracy_drop' or "
        "KIND:NAME with KIND one of bits, pruning, compression",
    ),
    "no_target": ("bits:conv1,pruning:conv2\n8,0.5\n", "line 1: missing column 'accuracy_drop'"),
    "text_cell": (
        "bits:conv1,accuracy_drop\n" + "8,0.01\n" * 11 + "eight,0.01\n",
        "line 13, column 'bits:conv1': must be a number (got 'eight')",
    ),
    "bits_range": (
        "bits:conv1,accuracy_drop\n" + "8,0.01\n" * 3 + "64,0.01\n" + "8,0.01\n" * 8,
        "line 5, column 'bits:conv1': bit-width must be an integer 1-32 (got '64')",
    ),
    "ratio_range": (
        "compression:input,accuracy_drop\n" + "0.5,0.01\n" * 10 + "0,0.02\n",
        "line 12, column 'compression:input': compression ratio must be in (0, 1] (got '0')",
    ),
    "nan_target": (
        "pruning:conv2,accuracy_drop\n" + "0.5,0.01\n" * 10 + "0.5,nan\n",
        "line 12, column 'accuracy_drop': must be a finite number (got 'nan')",
    ),
    "short_row": (
        "pruning:conv2,accuracy_drop\n" + "0.5,0.01\n" * 2 + "0.5\n" + "0.5,0.01\n" * 8,
        "line 4: 1 cells, header has 2",
    ),
    "too_few_rows": (
        "pruning:conv2,accuracy_drop\n0.5,0.01\n0.5,0.02\n",
        "2 data rows; need at least 10 to cross-validate",
    ),
    "empty": ("", "empty file (need a header row)"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_sample_file_is_one_line_exit_2(name, tmp_path, capsys) -> None:
    text, message = BAD[name]
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    code = main(["fit-accuracy", str(path), "--out", str(tmp_path / "out.json")])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    assert captured.err.splitlines() == [f"{path}: {message}"]
    assert not (tmp_path / "out.json").exists()


def test_missing_file_is_one_line(tmp_path, capsys) -> None:
    path = tmp_path / "absent.csv"
    code = main(["fit-accuracy", str(path), "--out", str(tmp_path / "out.json")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(f"{path}: cannot read")
