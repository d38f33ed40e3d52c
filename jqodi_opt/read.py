"""Reading and writing instance files.

Parsing (fields out of a JSON or YAML document) is kept apart from building (the validated
:class:`~jqodi_opt.finetune.instance.Instance`): :func:`read_instance` = :func:`load_document` +
:func:`build_instance`.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from jqodi_opt.exceptions import InputError, InstanceError, describe_pydantic_error, short
from jqodi_opt.output import write_text

if TYPE_CHECKING:  # the hall reads files for both families; a family is imported when used
    from jqodi_opt.finetune.instance import Instance

#: Largest input file read (bytes); a bigger one is refused before it is read.
MAX_FILE_BYTES = 32 * 2**20
#: Most values a document may hold once YAML aliases are expanded (the file size bounds JSON).
MAX_VALUES = 1_000_000
#: Deepest nesting of lists and mappings accepted (a valid instance needs 4).
MAX_DEPTH = 64
#: Largest magnitude of an integer in a document (numbers become int64/float64 arrays).
MAX_INTEGER = 2**53


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses, before anything is built, a document whose aliases
    expand beyond :data:`MAX_VALUES` values or refer to themselves (the "billion laughs" bomb:
    nine levels of nine aliases are 9**9 values from a few hundred bytes)."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expanded_size(node)
        return super().construct_document(node)

    # The scanner's cost grows with the square of the nesting (it revisits every open level at
    # each token), so nesting is refused while scanning, at MAX_DEPTH levels.
    def fetch_flow_collection_start(self, token_class: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
        super().fetch_flow_collection_start(token_class)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
        return bool(super().add_indent(column))


def _check_expanded_size(root: yaml.Node) -> None:
    """Counts the values ``root`` stands for with aliases expanded, each shared node once."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative post-order walk: no recursion limit, linear in the node graph
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if children_done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_VALUES:
                raise _Refused(f"YAML aliases expand to more than {MAX_VALUES:,} values")
            continue
        if key in active:
            raise _Refused("a YAML alias refers to itself (recursive document)")
        active.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in active:
                raise _Refused("a YAML alias refers to itself (recursive document)")
            if id(child) not in sizes:
                stack.append((child, False))


class _Refused(Exception):
    """A document refused for its cost, with the reason (becomes an :class:`InputError`)."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


def _check_bounds(document: Any) -> None:
    """Refuses nesting deeper than :data:`MAX_DEPTH` and integers beyond :data:`MAX_INTEGER`,
    naming the field path; iterative, so a deep document costs no recursion."""
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            items: Any = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
        else:
            if (
                isinstance(value, int)
                and not isinstance(value, bool)
                and not -MAX_INTEGER <= value <= MAX_INTEGER
            ):
                raise _Refused(f"integer too large ({short(value)}; at most 2**53)", path)
            continue
        if depth >= MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep", path)
        stack.extend((child, where, depth + 1) for where, child in items)


def _read_text(path: str | os.PathLike[str]) -> str:
    """The file's text; refuses what is not a regular file and a file bigger than
    :data:`MAX_FILE_BYTES`."""
    info = os.stat(path)  # FileNotFoundError and the like are worded by the caller
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory")
    if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
        raise _Refused("cannot read: not a regular file")
    with open(path, "rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _Refused(f"file larger than {MAX_FILE_BYTES:,} bytes; not read")
    return data.decode("utf-8")


def load_document(path: str | os.PathLike[str], error: type[InputError] = InstanceError) -> Any:
    """Parses a JSON (or, by suffix ``.yaml``/``.yml``, YAML) file into Python objects.

    What a file can cost is bounded (README, "Limits on input"): at most :data:`MAX_FILE_BYTES`
    are read, YAML aliases may expand to at most :data:`MAX_VALUES` values, nesting is at most
    :data:`MAX_DEPTH` levels and integers at most :data:`MAX_INTEGER` in magnitude; beyond that
    the file is refused with one line.

    Raises
    ------
    InputError
        (of type ``error``) when the file is missing, unreadable, too big, not valid JSON/YAML,
        or beyond the bounds above.
    """
    source = str(path)
    try:
        text = _read_text(path)
        document = _parse(text, yaml_syntax=Path(path).suffix.lower() in (".yaml", ".yml"))
        _check_bounds(document)
    except FileNotFoundError:
        raise error(source, [("", "no such file")]) from None
    except IsADirectoryError:
        raise error(source, [("", "cannot read: is a directory")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise error(source, [("", f"cannot read: {reason}")]) from None
    except _Refused as exc:
        raise error(source, [(exc.path, exc.reason)]) from None
    return document


def _value_error(syntax: str, exc: ValueError) -> str:
    if "integer string conversion" in str(exc):
        return f"not valid {syntax}: an integer of more than 4,300 digits"
    return f"not valid {syntax}: {short(str(exc))}"


def _parse(text: str, yaml_syntax: bool) -> Any:
    """JSON or YAML text to Python objects; parser limits become :class:`_Refused`."""
    if yaml_syntax:
        try:
            return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise _Refused(f"not valid YAML{where}") from None
        except RecursionError:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep") from None
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            raise _Refused(_value_error("YAML", exc)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Refused(
            f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise _Refused(f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise _Refused(_value_error("JSON", exc)) from None


def build_instance(document: Any, source: str = "<instance>") -> Instance:
    """Builds a validated :class:`Instance` from a parsed document.

    Raises
    ------
    InstanceError
        Naming every field that fails its checks, one ``(path, message)`` each.
    """
    from jqodi_opt.finetune.instance import FORMAT, Instance, check_references

    if not isinstance(document, dict):
        raise InstanceError(source, [("", "the document must be a mapping (a JSON object)")])
    if document.get("format") != FORMAT:
        got = document.get("format")
        raise InstanceError(source, [("format", f"must be {FORMAT!r} (got {short(got)})")])
    try:
        instance = Instance.model_validate(document)
    except ValidationError as exc:
        raise InstanceError(source, [describe_pydantic_error(e) for e in exc.errors()]) from None
    issues = check_references(instance)
    if issues:
        raise InstanceError(source, issues)
    return instance


def read_instance(path: str | os.PathLike[str]) -> Instance:
    """Reads and validates an instance file (JSON, or YAML by suffix).

    Parameters
    ----------
    path
        A ``jqodi-instance/1`` file.

    Raises
    ------
    InstanceError
        When the file is missing, unparsable, or fails validation; ``str()`` is one line per issue.
    """
    return build_instance(load_document(path), source=str(path))


def instance_to_dict(instance: Instance) -> dict[str, Any]:
    """The instance as a JSON-ready mapping, leaving out optional fields that were not given."""
    from jqodi_opt.finetune.instance import FORMAT

    return instance.model_dump(mode="json", exclude_none=True, exclude_unset=True) | {
        "format": FORMAT
    }


def write_instance(instance: Instance, path: str | os.PathLike[str]) -> None:
    """Writes ``instance`` as JSON (always JSON, whatever the suffix), atomically."""
    write_json_atomic(instance_to_dict(instance), path)


def write_json_atomic(
    document: Any, path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Writes ``document`` as indented JSON, atomically and only to a safe path.

    See :mod:`jqodi_opt.output` for the rules (regular file or new name, never an input file).

    Raises
    ------
    OutputError
        When the path is refused or the write fails; what was at the path is unchanged then.
    """
    write_text(path, json.dumps(document, indent=2, allow_nan=False) + "\n", inputs)


def instance_schema() -> dict[str, Any]:
    """The JSON Schema of ``jqodi-instance/1`` (cross-field rules are described, not encoded)."""
    from jqodi_opt.finetune.instance import FORMAT, Instance

    schema = Instance.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = FORMAT
    schema["description"] = (
        "JQODI instance (SPEC §3.1). Beyond this schema: names are unique, links and learning "
        "entries name existing edge servers, models and bit-widths, cuts lie in 0..n, a link has "
        "rate_bps or bandwidth_hz + snr_db, a learning entry has one curve form or "
        "infeasible: true, robust estimates are not below expected ones."
    )
    return schema
