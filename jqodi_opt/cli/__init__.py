"""The ``jqodi`` command line (SPEC §4, §9), split by command group.

:mod:`~jqodi_opt.cli.app` holds the Typer app, the consoles, the exit codes and :func:`main`; each
other module registers one group of commands on that app when imported here.
"""

from jqodi_opt.cli import bench, finetune, inference, lifecycle, models, problems
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
