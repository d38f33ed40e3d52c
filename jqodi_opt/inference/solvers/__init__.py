"""Inference solvers (SPEC §7.4), one backend per module, registered in
:data:`jqodi_opt.solve.INFERENCE_SOLVERS`.

Exact: ``milp`` (HiGHS), ``cpsat`` (OR-Tools), ``dp`` (chains), ``exhaustive`` (tiny instances), all
on the choice network of :mod:`.network` through :mod:`.exact`.
"""
