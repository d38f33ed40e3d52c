"""Reading and writing ``jqodi-inference/1`` instance files.

As for fine-tuning (:mod:`jqodi_opt.read`), parsing is kept apart from building:
:func:`read_inference` = :func:`~jqodi_opt.read.load_document` + :func:`build_inference`. Building
validates every field, resolves the ``model`` (a bundled profile, a ``jqodi-model/1`` file relative
to the instance, or an inline graph) and then checks cross-references against the graph.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from jqodi_opt.exceptions import InputError, InstanceError, describe_pydantic_error
from jqodi_opt.graph import ModelGraph, graph_issues, short
from jqodi_opt.inference.instance import FORMAT, InferenceInstance, check_references
from jqodi_opt.read import load_document, write_json_atomic

#: Where the bundled model profiles live (``instances/models/NAME.json``, SPEC §6.1).
PROFILE_DIR = Path(__file__).resolve().parent.parent.parent / "instances" / "models"

# Union members of InferenceInstance whose pydantic tag appears in error locations.
_TAGGED = {"model": {"profile", "file", "graph"}, "objective": {"name", "weighted"}}


def bundled_profiles() -> list[str]:
    """Names of the bundled model profiles."""
    if not PROFILE_DIR.is_dir():
        return []
    return sorted(p.stem for p in PROFILE_DIR.glob("*.json"))


def _structure_issues(document: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    from jqodi_opt.graph import Layer

    layers = [Layer.model_validate(layer) for layer in document["layers"]]
    shell = ModelGraph.model_construct(
        format=document.get("format", "jqodi-model/1"), layers=layers
    )
    return [(f"{prefix}.{path}" if prefix else path, msg) for path, msg in graph_issues(shell)]


def _describe(error: Mapping[str, Any], document: Mapping[str, Any]) -> list[tuple[str, str]]:
    loc = list(error.get("loc", ()))
    if len(loc) >= 2 and loc[0] in _TAGGED and loc[1] in _TAGGED[loc[0]]:
        tag = loc.pop(1)
        if loc == ["model"] and tag == "graph" and error["type"] == "value_error":
            return _structure_issues(document["model"], "model")
    return [describe_error({**error, "loc": tuple(loc)})]


def describe_error(error: Mapping[str, Any], prefix: str = "") -> tuple[str, str]:
    """:func:`~jqodi_opt.exceptions.describe_pydantic_error`, with ``< x`` bounds worded alike."""
    if error["type"] == "less_than":
        path, _ = describe_pydantic_error({**error, "type": "missing"}, prefix=prefix)
        bound = (error.get("ctx") or {}).get("lt")
        return path, f"must be < {bound:g} (got {error.get('input')!r})"
    return describe_pydantic_error(error, prefix=prefix)


def resolve_model(
    instance: InferenceInstance, source: str, base: Path | None
) -> tuple[ModelGraph | None, list[tuple[str, str]]]:
    """The model graph an instance names, or the issues that prevent reading it."""
    from jqodi_opt.inference.instance import FileRef, ProfileRef

    spec = instance.model
    if isinstance(spec, ModelGraph):
        return spec, []
    if isinstance(spec, ProfileRef):
        path = PROFILE_DIR / f"{spec.profile}.json"
        if spec.profile not in bundled_profiles():
            return None, [
                ("model.profile", f"no bundled profile {short(spec.profile)} (see `jqodi models`)")
            ]
        where, shown = "model.profile", spec.profile
    else:
        assert isinstance(spec, FileRef)
        path = Path(spec.file)
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        where, shown = "model.file", spec.file
    try:
        document = load_document(path)
    except InputError as exc:
        return None, [(where, f"{shown}: {msg}") for _, msg in exc.issues]
    if not isinstance(document, dict):
        return None, [(where, f"{shown}: the document must be a mapping (a JSON object)")]
    try:
        return ModelGraph.model_validate(document), []
    except ValidationError as exc:
        lines: list[tuple[str, str]] = []
        for error in exc.errors():
            if error["type"] == "value_error" and not error["loc"]:
                lines.extend(_structure_issues(document, ""))
            else:
                lines.append(describe_error(error))
        return None, [(where, f"{shown}: {p}: {m}" if p else f"{shown}: {m}") for p, m in lines]


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
    try:
        instance = InferenceInstance.model_validate(document)
    except ValidationError as exc:
        issues: list[tuple[str, str]] = []
        for error in exc.errors():
            issues.extend(_describe(error, document))
        raise InstanceError(source, issues) from None
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
