"""The ``jqodi`` command line (SPEC §4, §9), split by command group.

:mod:`~jqodi_opt.cli.app` holds the Typer app, the consoles, the exit codes and :func:`main`; each
other module registers one group of commands on that app when imported here. The import order
is the order of the help panels in ``jqodi --help`` (Problems, Fine-tuning, Benchmarks, ...).
"""

# isort: off
from jqodi_opt.cli import problems
from jqodi_opt.cli import finetune
from jqodi_opt.cli import bench
from jqodi_opt.cli import lifecycle
from jqodi_opt.cli import models
from jqodi_opt.cli import inference

# isort: on
from jqodi_opt.cli.app import Exit, UsageProblem, app, main

__all__ = [
    "Exit",
    "UsageProblem",
    "app",
    "bench",
    "finetune",
    "inference",
    "lifecycle",
    "main",
    "models",
    "problems",
]
