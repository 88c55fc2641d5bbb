"""What a run's start event holds, written and read in one place.

Format 3 (``workflows.io.FORMAT``) starts a run as a workflow whose *type is the flow's name*, so the
Temporal UI's list names the flow of every row. The interpreter is one dynamic workflow
(``FlowByName``) that takes two arguments:

1. the run's input, as the user passed it (values encoded by ``workflows.values``): the first thing
   the UI's Input panel shows;
2. the run's settings (``FlowRun`` without what the run says elsewhere: ``flow_name`` is the type,
   ``input`` the first argument, ``format`` is 3 unless written, ``search_attributes`` is whether
   the run has our search attributes, a trace id that begins with the flow's name is written as
   ``trace``, the rest of it), with the spec written compactly (``pack_spec``): what the history
   pins for replay, ``show`` and rerun.

Runs started before format 3 have the type ``RefinireFlow`` and one argument, the whole ``FlowRun``;
``read_start`` reads both layouts, so every reader (the interpreter, ``show``, rerun, replay) asks
here. Pure: pydantic only, no Temporal, no I/O.
"""

from __future__ import annotations

from typing import Any, Sequence

from pydantic_core import to_json

from refinire.memo import Memo
from refinire.wire import WIRE
from refinire.spec import FlowSpec

from .io import WORKFLOW_NAME, FlowRun

__all__ = ["pack_spec", "read_start", "start_args", "unpack_spec"]

_DEFAULT_KIND = "function"
_DEFAULT_CALL = "data_ctx"


def _pack_step(step: dict[str, Any], implied_key: str | None, implied_name: str | None) -> dict[str, Any]:
    out = dict(step)
    if implied_key is not None and out.get("key") == implied_key:
        del out["key"]
    if implied_name is not None and out.get("name") == implied_name:
        del out["name"]
    if out.get("kind") == _DEFAULT_KIND:
        del out["kind"]
        if out.get("call") == _DEFAULT_CALL:
            del out["call"]
    if "branches" in out:
        out["branches"] = [_pack_step(b, b.get("name"), None) for b in out["branches"]]
    return out


def _unpack_step(step: dict[str, Any], key: str | None, name: str | None) -> dict[str, Any]:
    out = dict(step)
    if name is not None:
        out.setdefault("name", name)
    if key is not None:
        out.setdefault("key", key)
    out.setdefault("key", out.get("name"))
    if out.setdefault("kind", _DEFAULT_KIND) == _DEFAULT_KIND:
        out.setdefault("call", _DEFAULT_CALL)
    if "branches" in out:
        out["branches"] = [_unpack_step(b, None, None) for b in out["branches"]]
    return out


def pack_spec(spec: FlowSpec) -> dict[str, Any]:
    """The spec as JSON without what a reader can tell by itself: the flow's name (the workflow
    type), a start that is the first step, each step's key (its dict key), a name equal to the key,
    a ``next`` that is the following step (an end there is written ``null``), the default kind and
    calling convention, ``Flow``'s default ``local=False`` (an unset one is written ``null``), and
    the content hash (recomputed). ``unpack_spec`` gives the same spec back."""
    body = spec.model_dump(mode="json", context=WIRE)
    body.pop("name", None)
    body.pop("content_hash", None)
    defaults = dict(body.pop("defaults", {}))
    if defaults.get("local") is False:
        del defaults["local"]
    elif "local" not in defaults:
        defaults["local"] = None
    if defaults:
        body["defaults"] = defaults
    keys = list(body["steps"])
    if body.get("start") == keys[0]:
        del body["start"]
    steps = {}
    for i, (k, step) in enumerate(body["steps"].items()):
        packed = _pack_step(step, k, k)
        following = keys[i + 1] if i + 1 < len(keys) else None
        if packed.get("next") == following:
            packed.pop("next", None)
        elif "next" not in packed and following is not None:
            packed["next"] = None
        steps[k] = packed
    body["steps"] = steps
    return body


_UNPACKED: Memo[FlowSpec] = Memo()


def unpack_spec(body: dict[str, Any], flow_name: str) -> FlowSpec:
    """The ``FlowSpec`` a compact spec (``pack_spec``) stands for, read once per process: every
    run of a flow carries the same spec, and validating and hashing it again cost every run."""
    return _UNPACKED.get((flow_name, to_json(body)), lambda: _unpack_spec(body, flow_name))


def _unpack_spec(body: dict[str, Any], flow_name: str) -> FlowSpec:
    full = dict(body)
    keys = list(body.get("steps", {}))
    full["name"] = flow_name
    full.setdefault("start", keys[0] if keys else "")
    full["defaults"] = {"local": False, **body.get("defaults", {})}
    steps = {}
    for i, (k, step) in enumerate(body.get("steps", {}).items()):
        step = dict(step)
        step.setdefault("next", keys[i + 1] if i + 1 < len(keys) else None)
        steps[k] = _unpack_step(step, k, k)
    full["steps"] = steps
    return FlowSpec.model_validate(full).with_hash()


def start_args(run: FlowRun) -> list[Any]:
    """The workflow arguments of a format-3 run: ``[input, settings]`` (see the module docstring)."""
    settings = run.model_dump(mode="json", context=WIRE,
                              exclude={"flow_name", "input", "spec", "search_attributes"})
    if settings.get("format") == 3:
        del settings["format"]
    if run.spec is not None:
        settings = {"spec": pack_spec(run.spec), **settings}
    context = settings.get("context") or {}
    prefix = run.flow_name + "_"
    if isinstance(context.get("trace_id"), str) and context["trace_id"].startswith(prefix):
        # ``Flow``'s default trace id begins with the flow's name, which is the workflow type.
        settings["context"] = {k: v for k, v in context.items() if k != "trace_id"}
        settings["trace"] = context["trace_id"][len(prefix):]
    return [run.input, settings]


def read_start(args: Sequence[Any], workflow_type: str) -> FlowRun:
    """The ``FlowRun`` of a run from its start event's decoded arguments (JSON values, or a
    ``FlowRun`` already) and its workflow type, whichever format started it."""
    if workflow_type == WORKFLOW_NAME or len(args) == 1:
        first = args[0] if args else {}
        return first if isinstance(first, FlowRun) else FlowRun.model_validate(first)
    data, settings = args[0], dict(args[1] or {})
    spec = settings.pop("spec", None)
    if "trace" in settings:
        settings["context"] = {**settings.get("context", {}),
                               "trace_id": f"{workflow_type}_{settings.pop('trace')}"}
    return FlowRun.model_validate({
        "format": 3, **settings, "flow_name": workflow_type, "input": data,
        "spec": unpack_spec(spec, workflow_type) if isinstance(spec, dict) else None,
    })
