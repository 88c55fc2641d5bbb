"""What a step changed, and values a context holds twice, as they cross Temporal's boundary.

A step's cost must not grow with the run (DESIGN rule 8). So an activity receives the context the
step may read, without the workflow's own bookkeeping (``span_history``, ``usage``), and returns a
``ContextDelta``: its output, the ``shared_state`` keys it set or deleted, the messages it appended
and any other context field it changed. The workflow applies the delta to the context it keeps; the
history reader applies the same deltas to rebuild the context before any step.

After a parallel block the context holds each branch's output three times (``result[branch]``,
``shared_state[branch]`` and ``shared_state["__<branch>_metadata__"]["output"]``): one object, three
names. ``pack`` sends such an object once and ``Views`` says where else it belongs; ``unpack`` puts it
back, so a step reads the same context it always did.

Values keep their types across the boundary (``workflows.values``): ``pack`` and a step's wire delta
carry the output and ``shared_state`` encoded (keys too: ``shared_state[7]`` stays an int key),
``unpack`` and ``ContextDelta.decode`` give them back, and ``Snapshot`` compares encodings, so a
``set`` that became a ``list`` is a change.

Pure: pydantic only, no Temporal, no I/O. Used by the workflow, the activities and the reader.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_core import to_json

from refinire.wire import WireModel
from refinire.context import Context, Message

from .values import decode, encode, fingerprint

__all__ = ["WORKFLOW_ONLY", "ContextDelta", "Snapshot", "Views", "apply", "encoded", "metadata_key",
           "pack", "unpack"]

WORKFLOW_ONLY = ("span_history", "usage")
"""Context fields the workflow keeps to itself: they grow with the run, and no step reads them."""
_TRACKED = {"result", "shared_state", "messages", *WORKFLOW_ONLY}


def metadata_key(branch: str) -> str:
    """The ``shared_state`` key Refinire gives a parallel branch's status and output."""
    return f"__{branch}_metadata__"


class ContextDelta(WireModel):
    """What one step changed in the context it was given."""

    result: Any = None
    """The step's output (the next step's data), when ``result_changed``."""
    result_changed: bool = True
    set: list[tuple[Any, Any]] = Field(default_factory=list)
    """``shared_state`` entries the step added or changed, as (key, value) pairs."""
    deleted: list[Any] = Field(default_factory=list)
    """``shared_state`` keys the step removed."""
    messages: list[Message] = Field(default_factory=list)
    """Messages appended after the first ``messages_kept`` (all earlier ones when ``None``)."""
    messages_kept: int | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    """Any other context field the step changed (``evaluation_result``, ``last_user_input``, ...)."""

    def decode(self) -> "ContextDelta":
        """The values of a delta that crossed Temporal (encoded by the step activity), in place.
        Deltas recorded before the encoding existed hold plain JSON, which decodes as itself."""
        if self.result_changed:
            self.result = decode(self.result)
        self.set = [(decode(k), decode(v)) for k, v in self.set]
        self.deleted = [decode(k) for k in self.deleted]
        return self


class Views(WireModel):
    """``shared_state`` entries left out of a payload because another part of it holds them."""

    result_keys: list[str] = Field(default_factory=list)
    """``shared_state[k]`` is ``result[k]`` (a parallel block's output, just after the block)."""
    metadata_of: list[str] = Field(default_factory=list)
    """``shared_state["__<b>_metadata__"]["output"]`` is ``shared_state[b]``."""


def _enc(value: Any) -> bytes:
    return to_json(value, fallback=repr)


def _state_path(key: Any) -> str:
    return f"shared_state[{key!r}]"


class Snapshot:
    """The context as a step received it, to tell afterwards what the step changed."""

    def __init__(self, ctx: Context) -> None:
        self.result = fingerprint(ctx.result)
        self.state = {k: fingerprint(v) for k, v in ctx.shared_state.items()}
        self.messages = list(ctx.messages)
        self.fields = {f: _enc(getattr(ctx, f)) for f in type(ctx).model_fields if f not in _TRACKED}

    def delta(self, after: Context, *, wire: bool = False) -> ContextDelta:
        """What changed. ``wire``: values and keys encoded for Temporal (``values.encode``; raises
        ``NotEncodable`` naming ``output`` or ``shared_state[key]``), as a step activity returns them."""
        out = ContextDelta()
        if wire:
            result = encode(after.result, "output")
            changed = to_json(result) != self.result
        else:
            result = after.result
            changed = fingerprint(result) != self.result
        if changed:
            out.result = result
        else:
            out.result_changed = False
        for k, v in after.shared_state.items():
            if wire:
                sent = encode(v, _state_path(k))
                if self.state.get(k) != to_json(sent):
                    out.set.append((encode(k, "a key of shared_state"), sent))
            elif self.state.get(k) != fingerprint(v):
                out.set.append((k, v))
        out.deleted = [encode(k, "shared_state key") if wire else k
                       for k in self.state if k not in after.shared_state]
        kept = 0
        for old, new in zip(self.messages, after.messages):
            if old is not new and old != new:
                break
            kept += 1
        if kept < len(self.messages):
            out.messages_kept = kept
        out.messages = list(after.messages[kept:])
        out.fields = {f: getattr(after, f) for f, before in self.fields.items()
                      if _enc(getattr(after, f)) != before}
        return out


def apply(ctx: Context, delta: ContextDelta) -> Context:
    """Apply ``delta`` to ``ctx`` in place and return it."""
    if delta.result_changed:
        ctx.result = delta.result
    for k, v in delta.set:
        ctx.shared_state[k] = v
    for k in delta.deleted:
        ctx.shared_state.pop(k, None)
    if delta.messages_kept is not None:
        del ctx.messages[delta.messages_kept:]
    ctx.messages.extend(delta.messages)
    if delta.fields:
        typed = type(ctx).model_validate(delta.fields)
        for f in delta.fields:
            if f in type(ctx).model_fields:
                setattr(ctx, f, getattr(typed, f))
    return ctx


def encoded(ctx: Context, **update: Any) -> Context:
    """A shallow copy of ``ctx`` whose output and ``shared_state`` are encoded for Temporal
    (``shared_state`` with keys that are not all ``str`` travels as one tagged object). Raises
    ``NotEncodable`` naming ``output`` or ``shared_state[key]``."""
    state = update.pop("shared_state", ctx.shared_state)
    update["result"] = encode(update.get("result", ctx.result), "output")
    if all(type(k) is str for k in state) and "$type" not in state:
        update["shared_state"] = {k: encode(v, _state_path(k)) for k, v in state.items()}
    else:
        update["shared_state"] = encode(state, "shared_state")
    return ctx.model_copy(update=update)


def pack(ctx: Context, *, keep_workflow_fields: bool = False) -> tuple[Context, Views | None]:
    """A shallow copy of ``ctx`` for the wire: values encoded, each shared value once, bookkeeping
    left out. Raises ``NotEncodable`` (a non-retryable ``ApplicationError``) naming the value."""
    state = dict(ctx.shared_state)
    views = Views()
    result = ctx.result
    if isinstance(result, dict):
        for k, v in list(state.items()):
            if isinstance(k, str) and k in result and result[k] is v and v is not None:
                views.result_keys.append(k)
                state[k] = None
    for k, v in list(state.items()):
        if isinstance(k, str) and k.startswith("__") and k.endswith("_metadata__") and isinstance(v, dict):
            branch = k[2:-len("_metadata__")]
            owner = ctx.shared_state.get(branch)
            if "output" in v and v["output"] is owner and owner is not None:
                views.metadata_of.append(branch)
                state[k] = {m: x for m, x in v.items() if m != "output"}
    update: dict[str, Any] = {"shared_state": state}
    if not keep_workflow_fields:
        update.update({f: [] for f in WORKFLOW_ONLY})
        update["next_label"] = None  # a step starts with no routing of its own
    return encoded(ctx, **update), (views if views.result_keys or views.metadata_of else None)


def unpack(ctx: Context, views: Views | None) -> Context:
    """Decode what ``pack`` encoded and put back what it left out (in place), sharing one object as
    the sender did. Call it once per context received: decoding is not idempotent."""
    ctx.result = decode(ctx.result)
    ctx.shared_state = decode(ctx.shared_state)
    if views is None:
        return ctx
    if isinstance(ctx.result, dict):
        for k in views.result_keys:
            if k in ctx.result:
                ctx.shared_state[k] = ctx.result[k]
    for branch in views.metadata_of:
        meta = ctx.shared_state.get(metadata_key(branch))
        if isinstance(meta, dict) and branch in ctx.shared_state:
            meta["output"] = ctx.shared_state[branch]
    return ctx
