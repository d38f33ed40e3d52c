"""Solver backends, one per file, each reading a :class:`~jqodi_opt.finetune.problem.Problem` and
returning a
:class:`~jqodi_opt.result.SolverOutput`; :func:`jqodi_opt.solve.solve` is the one entry point.

Exact backends (SPEC §1.3, §2): :mod:`.milp` (Pyomo + HiGHS), :mod:`.cpsat` (OR-Tools CP-SAT) and
:mod:`.exhaustive` (brute force, the paper's *Optimum*). :mod:`.reduce` holds the reductions the
MILP and CP-SAT models share (dominated options, candidates that cannot meet ``T_max``).
"""
