"""Shared fixtures and options.

``--solvers a,b`` chooses the exact solvers that every test taking a ``solver`` argument runs on,
so a behaviour is written once and checked on every backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from jqodi_opt import Instance, read_instance

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
EXACT_SOLVERS = "milp,cpsat,exhaustive"

# Deterministic property tests: the same examples on every run and every machine.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--solvers",
        default=EXACT_SOLVERS,
        help=f"comma-separated exact solvers to test (default {EXACT_SOLVERS})",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "solver" in metafunc.fixturenames:
        names = [s for s in metafunc.config.getoption("solvers").split(",") if s]
        metafunc.parametrize("solver", names)


@pytest.fixture(scope="session")
def tiny() -> Instance:
    """The example instance of SPEC §3.1."""
    return read_instance(DATA / "tiny.json")
