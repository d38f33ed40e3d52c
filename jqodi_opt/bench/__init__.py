"""The benchmark harness: suites of generated instances run by every solver, results in SQLite.

``suite`` reads a TOML suite into :class:`~jqodi_opt.bench.suite.Run` specs; ``runner`` runs them
in isolated processes (locally or on a Dask cluster) and stores each finished run at once through
``db``; ``report`` turns a results file into tables, CSV and plots. ``worker`` is what runs inside
the isolated process. See ``benchmarks/README.md`` for the protocol and the suite schema.
"""

from jqodi_opt.bench.suite import Run, Suite, load_suite

__all__ = ["Run", "Suite", "load_suite"]
