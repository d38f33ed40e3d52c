"""Imported by the benchmark forkserver after the package: compiles the numba kernels once (or
loads them from numba's on-disk cache), so that no run's measured runtime includes compilation."""

from jqodi_opt.finetune.solvers.jqodi_kernel import warm_up

warm_up()
