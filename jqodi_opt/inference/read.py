"""Reading and writing ``jqodi-inference/1`` instance files.

As for fine-tuning (:mod:`jqodi_opt.read`), parsing is kept apart from building:
:func:`read_inference` = :func:`~jqodi_opt.read.load_document` + :func:`build_inference`. Building
completes servers and links that name a hardware catalogue entry (``"catalogue"``), validates
every field, resolves the ``model`` (a bundled profile, a ``jqodi-model/1`` file relative
to the instance, or an inline graph) and then checks cross-references against the graph.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from jqodi_opt.exceptions import (
    InputError,
    InstanceError,
    describe_pydantic_error,
    format_path,
)
from jqodi_opt.graph import (
    MODELS_DIR,
    GraphIssues,
    ModelGraph,
    bundled_profiles,
    read_model,
    short,
)
from jqodi_opt.inference.instance import FORMAT, InferenceInstance, check_references
from jqodi_opt.read import load_document, write_json_atomic

#: Where the bundled model profiles live (``instances/models/NAME.json``; :mod:`jqodi_opt.graph`).
PROFILE_DIR = MODELS_DIR

# Union members of InferenceInstance whose pydantic tag appears in error locations.
_TAGGED = {"model": {"profile", "file", "graph"}, "objective": {"name", "weighted"}}


def _describe(error: Mapping[str, Any]) -> list[tuple[str, str]]:
    loc = list(error.get("loc", ()))
    if len(loc) >= 2 and loc[0] in _TAGGED and loc[1] in _TAGGED[loc[0]]:
        loc.pop(1)
    found = (error.get("ctx") or {}).get("error")
    if isinstance(found, GraphIssues):  # the graph's own structural checks, one pair each
        prefix = format_path(loc)
        return [(f"{prefix}.{path}" if prefix else path, msg) for path, msg in found.issues]
    return [describe_error({**error, "loc": tuple(loc)})]


def describe_error(error: Mapping[str, Any], prefix: str = "") -> tuple[str, str]:
    """:func:`~jqodi_opt.exceptions.describe_pydantic_error`, with ``< x`` bounds worded alike."""
    if error["type"] == "less_than":
        path, _ = describe_pydantic_error({**error, "type": "missing"}, prefix=prefix)
        bound = (error.get("ctx") or {}).get("lt")
        return path, f"must be < {bound:g} (got {error.get('input')!r})"
    return describe_pydantic_error(error, prefix=prefix)


_RATE_FIELDS = ("rate_bps", "bandwidth_hz", "snr_db")


def fill_from_catalogue(document: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``document`` with every ``"catalogue"`` server and link completed from the hardware
    catalogue (SPEC §6.2); fields written next to ``"catalogue"`` win (a link that gives its own
    rate, or bandwidth and SNR, keeps it). Unknown names are returned as issues."""
    from jqodi_opt.hardware import UnknownHardware, link_fields, server_fields

    issues: list[tuple[str, str]] = []
    filled = dict(document)
    for key, fields in (("servers", server_fields), ("links", link_fields)):
        entries = document.get(key)
        if not isinstance(entries, list):
            continue
        completed: list[Any] = []
        for i, entry in enumerate(entries):
            name = entry.get("catalogue") if isinstance(entry, dict) else None
            if isinstance(name, str):
                try:
                    known = fields(name)
                except UnknownHardware as exc:
                    issues.append((f"{key}[{i}].catalogue", str(exc)))
                    known = {}
                if key == "links" and any(f in entry for f in _RATE_FIELDS):
                    known = {k: v for k, v in known.items() if k not in _RATE_FIELDS}
                entry = {**known, **entry}
            completed.append(entry)
        filled[key] = completed
    return filled, issues


def resolve_model(
    instance: InferenceInstance, source: str, base: Path | None
) -> tuple[ModelGraph | None, list[tuple[str, str]]]:
    """The model graph an instance names, or the issues that prevent reading it."""
    from jqodi_opt.inference.instance import FileRef, ProfileRef

    spec = instance.model
    if isinstance(spec, ModelGraph):
        return spec, []
    if isinstance(spec, ProfileRef):
        profiles = bundled_profiles()
        if spec.profile not in profiles:
            return None, [
                ("model.profile", f"no bundled profile {short(spec.profile)} (see `jqodi models`)")
            ]
        path, where, shown = profiles[spec.profile], "model.profile", spec.profile
    else:
        assert isinstance(spec, FileRef)
        path = Path(spec.file)
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        where, shown = "model.file", spec.file
    try:
        return read_model(path), []
    except InputError as exc:  # ModelError, or the file cannot be read
        return None, [
            (where, f"{shown}: {p}: {m}" if p else f"{shown}: {m}") for p, m in exc.issues
        ]


def build_inference(
    document: Any, source: str = "<instance>", base: Path | None = None
) -> InferenceInstance:
    """Builds a validated :class:`InferenceInstance` from a parsed document.

    Parameters
    ----------
    document
        The parsed JSON/YAML document.
    source
        Names the file in error messages.
    base
        Directory that a ``{"file": PATH}`` model is relative to (default: the working directory).

    Raises
    ------
    InstanceError
        Naming every field that fails its checks, one ``(path, message)`` each.
    """
    if not isinstance(document, dict):
        raise InstanceError(source, [("", "the document must be a mapping (a JSON object)")])
    if document.get("format") != FORMAT:
        got = document.get("format")
        raise InstanceError(source, [("format", f"must be {FORMAT!r} (got {short(got)})")])
    document, issues = fill_from_catalogue(document)
    if issues:
        raise InstanceError(source, issues)
    try:
        instance = InferenceInstance.model_validate(document)
    except ValidationError as exc:
        found = [pair for error in exc.errors() for pair in _describe(error)]
        raise InstanceError(source, found) from None
    graph, issues = resolve_model(instance, source, base)
    if graph is None:
        raise InstanceError(source, issues)
    issues = check_references(instance, graph)
    if issues:
        raise InstanceError(source, issues)
    return instance.with_graph(graph)


def read_inference(path: str | os.PathLike[str]) -> InferenceInstance:
    """Reads and validates a ``jqodi-inference/1`` file (JSON, or YAML by suffix).

    Raises
    ------
    InstanceError
        When the file is missing, unparsable, or fails validation; ``str()`` is one line per issue.
    """
    return build_inference(load_document(path), source=str(path), base=Path(path).parent)


def inference_to_dict(instance: InferenceInstance) -> dict[str, Any]:
    """The instance as a JSON-ready mapping, leaving out optional fields that were not given."""
    return instance.model_dump(mode="json", exclude_none=True, exclude_unset=True) | {
        "format": FORMAT
    }


def write_inference(instance: InferenceInstance, path: str | os.PathLike[str]) -> None:
    """Writes ``instance`` as JSON (the model reference as it was given), atomically."""
    write_json_atomic(inference_to_dict(instance), path)
