"""Inference solvers (SPEC §7.4), one backend per module, registered in
:data:`jqodi_opt.solve.INFERENCE_SOLVERS`.

Exact: ``milp`` (HiGHS), ``cpsat`` (OR-Tools), ``dp`` (chains), ``dag-dp`` (graphs of a narrow
frontier), ``exhaustive`` (tiny instances), all on the choice network of :mod:`.network` through
:mod:`.exact`; :mod:`.sessions` opens them by name and picks one for ``auto``.
"""
