"""Safe output paths: every file the package writes for a user goes through here.

The rules (README, "Limits on input"):

- a path is written only if it is a **regular file** (not a symlink, directory, device node, FIFO
  or socket) or a **new name in an existing, writable directory**;
- it must not be one of the command's input files (``solve a.json --out a.json``);
- the write is **atomic**: a temporary file in the same directory, then :func:`os.replace`, so a
  crash or a full disk leaves the old file (or nothing) and never half a file; the new file
  keeps the permissions of the file it replaces (or gets the default ``0666 & ~umask``).

Commands call :func:`check_output` on every output path **before** the work (a solve may take
hours), and write through :func:`write_text` / :func:`atomic_output` after it; both raise
:class:`~jqodi_opt.exceptions.OutputError` (one line naming the path) and never leave a temporary
file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from jqodi_opt.exceptions import OutputError

PathLike = str | os.PathLike[str]

_KINDS = (
    (stat.S_ISLNK, "is a symbolic link"),
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISCHR, "is a device"),
    (stat.S_ISBLK, "is a device"),
    (stat.S_ISFIFO, "is a FIFO"),
    (stat.S_ISSOCK, "is a socket"),
)


def _refuse(path: PathLike, message: str) -> OutputError:
    return OutputError(str(path), [("", f"cannot write here: {message}")])


def _same_file(target: os.stat_result, inputs: Iterable[PathLike]) -> bool:
    for source in inputs:
        try:
            info = os.stat(source)
        except (OSError, ValueError):
            continue
        if (info.st_dev, info.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def check_output(path: PathLike, inputs: Iterable[PathLike] = ()) -> Path:
    """Checks that ``path`` may be written (the rules of the module docstring), before any work.

    Parameters
    ----------
    path
        The output file.
    inputs
        The command's input files; ``path`` must be none of them (compared by device and inode,
        so another name of the same file is caught too).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputError
        When ``path`` is not a regular file or a new name in an existing writable directory, or
        is an input file.
    """
    target = Path(path)
    if str(path) == "" or target.name in ("", ".", ".."):
        raise _refuse(path, "not a file name")
    try:
        info: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:  # e.g. a parent component that is a file (ENOTDIR), or too long
        raise _refuse(path, exc.strerror or str(exc)) from None
    if info is not None:
        for test, message in _KINDS:
            if test(info.st_mode):
                raise _refuse(path, message)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, "not a regular file")
        if _same_file(info, inputs):
            raise _refuse(path, "it is an input file of this command")
    parent = target.parent
    if not parent.is_dir():
        raise _refuse(path, f"no such directory {str(parent)!r}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _refuse(path, f"directory {str(parent)!r} is not writable")
    return target


def check_output_dir(path: PathLike) -> Path:
    """Checks that ``path`` is an existing directory or a new name in an existing writable one.

    For commands that write several files into a directory (``report --out``).

    Raises
    ------
    OutputError
        When ``path`` exists and is not a directory, or cannot be created.
    """
    target = Path(path)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        parent = target.parent
        if not parent.is_dir():
            raise _refuse(path, f"no such directory {str(parent)!r}") from None
        if not os.access(parent, os.W_OK | os.X_OK):
            raise _refuse(path, f"directory {str(parent)!r} is not writable") from None
        return target
    except OSError as exc:
        raise _refuse(path, exc.strerror or str(exc)) from None
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(path, "not a directory")
    if not os.access(target, os.W_OK | os.X_OK):
        raise _refuse(path, "directory is not writable")
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: PathLike, inputs: Iterable[PathLike] = ()) -> Iterator[Path]:
    """A temporary path to write to; on success it replaces ``path`` atomically.

    The temporary file lies in the same directory and has the same suffix (``savefig`` and
    ``to_csv`` choose the format by suffix). ``path`` is checked again just before the replace,
    so a FIFO or symlink put there during the work is not overwritten either.

    Raises
    ------
    OutputError
        When ``path`` breaks the rules, or writing fails (disk full, directory removed...).
    """
    inputs = list(inputs)
    target = check_output(path, inputs)
    try:
        handle, tmp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}"
        )
    except OSError as exc:
        raise _refuse(path, exc.strerror or str(exc)) from None
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        check_output(path, inputs)
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            reason = "disk full"
        raise OutputError(str(path), [("", f"could not write: {reason}")]) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_text(path: PathLike, text: str, inputs: Iterable[PathLike] = ()) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically, following the rules of this module.

    The data is flushed to disk (``fsync``) before the replace, so a full disk is seen here and
    not after the old file is gone.

    Raises
    ------
    OutputError
        When ``path`` breaks the rules or the write fails; nothing at ``path`` is changed then.
    """
    with atomic_output(path, inputs) as tmp:
        with open(tmp, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
