"""Ctrl-C during a native solver call: stop the search and raise :class:`KeyboardInterrupt`.

Both native solvers swallow SIGINT when run in the calling thread. CP-SAT catches it itself
(``catch_sigint_signal``) and returns as if a time limit had been reached; HiGHS (highspy 1.16)
calls back into Python during its search, the interpreter raises the ``KeyboardInterrupt`` inside
that callback, and HiGHS discards it and goes on to its own limit. Either way the command line
reported ``time_limit`` with exit code 0 and wrote the plan.

:func:`run_interruptible` runs the native call in a helper thread while the calling thread waits
(a lock wait that a signal interrupts). On Ctrl-C it asks the solver to stop (``stop``: CP-SAT's
``stop_search``, HiGHS's user-interrupt callback), waits for the call to return, and re-raises
``KeyboardInterrupt``: the solve ends as an interrupted one (exit code 130 on the command line, no
``--out`` file written). Only the main thread receives signals, so elsewhere this is the plain call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_interruptible(run: Callable[[], T], stop: Callable[[], None]) -> T:
    """``run()`` in a helper thread; on ``KeyboardInterrupt`` calls ``stop()``, waits, re-raises.

    Parameters
    ----------
    run
        The blocking native call (it must release the GIL, as both solvers do).
    stop
        Asks ``run`` to return early; called from this thread, once.

    Returns
    -------
    What ``run`` returned; an exception raised by ``run`` is raised here.
    """
    if threading.current_thread() is not threading.main_thread():
        return run()
    outcome: dict[str, object] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = run()
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc
        finally:
            done.set()

    # Wait on an Event, not Thread.join: a join interrupted by Ctrl-C marks a still-running thread
    # as stopped on Python 3.11 (bpo-45274), and the interpreter would then exit under the solver.
    threading.Thread(target=target, name="jqodi-native-solve", daemon=True).start()
    try:
        done.wait()
    except KeyboardInterrupt:
        stop()
        while not done.is_set():
            try:
                done.wait()
            except KeyboardInterrupt:  # a second Ctrl-C while the solver winds down
                stop()
        raise
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
