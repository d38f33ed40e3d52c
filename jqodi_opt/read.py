"""Reading and writing instance files.

Parsing (fields out of a JSON or YAML document) is kept apart from building (the validated
:class:`~jqodi_opt.finetune.instance.Instance`): :func:`read_instance` = :func:`load_document` +
:func:`build_instance`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from jqodi_opt.exceptions import InputError, InstanceError, describe_pydantic_error
from jqodi_opt.output import write_text

if TYPE_CHECKING:  # the hall reads files for both families; a family is imported when used
    from jqodi_opt.finetune.instance import Instance


def load_document(path: str | os.PathLike[str], error: type[InputError] = InstanceError) -> Any:
    """Parses a JSON (or, by suffix ``.yaml``/``.yml``, YAML) file into Python objects.

    Raises
    ------
    InputError
        (of type ``error``) when the file is missing, unreadable, or not valid JSON/YAML.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(source, [("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(source, [("", f"cannot read: {exc}")]) from None
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise error(source, [("", f"not valid YAML{where}")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            source, [("", f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
        ) from None


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
        raise InstanceError(source, [("format", f"must be {FORMAT!r} (got {got!r})")])
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
