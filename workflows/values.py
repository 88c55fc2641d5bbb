"""What a step stores, as it crosses Temporal: the same value, with the same type, on the other side.

A run's data travels as JSON (Temporal's pydantic converter), and plain JSON has no tuple, set,
bytes, datetime, ``Decimal``, int dict key or model class. So every step output and every
``shared_state`` value is *encoded* before it leaves a process (the step activity, the workflow, the
client) and *decoded* where it is read. JSON values stay as they are, so payloads stay readable in
the Temporal UI and runs recorded before this encoding existed decode as they always did; any other
supported value becomes a small tagged object::

    {"$type": "datetime", "v": "2026-05-01T09:30:00+09:00", "tz": "Asia/Tokyo"}
    {"$type": "tuple", "v": [1, 2]}
    {"$type": "dict", "v": [[7, "seven"], ["$type", "a user's own key"]]}

Supported (at any depth): ``str``, ``int``, ``float`` (NaN and infinities too), ``bool``, ``None``,
``list``, ``dict`` (any key that is itself supported and hashable: ``str``, ``int``, tuples, ...),
``tuple``, ``set`` and ``frozenset`` (members in a stable order, so the same set is always the same
payload), ``bytes`` (base64), ``datetime``/``date``/``time`` (ISO 8601, offset kept; a ``ZoneInfo``
zone kept by its key), ``timedelta`` (pydantic's ISO 8601 duration), ``Decimal``, ``UUID``, ``Enum``
members, ``pathlib`` paths, dataclasses and pydantic models (field by field, each field encoded by
these rules and the object rebuilt as it was, without running ``__init__`` or validators; a model
with a field of a type only pydantic knows, such as ``HttpUrl``, travels in pydantic's own JSON form
and is rebuilt by validating it). Anything else raises ``NotEncodable`` naming the path of the value
and its type. Nothing is ever pickled.

Classes (enums, models, dataclasses) are named by module and qualified name, and found again only
among modules this process has already imported; a payload never makes this process import
anything. A value whose class is not imported here decodes to an ``Opaque`` stand-in that encodes
back to exactly the same payload, so the workflow and steps that do not read it pass it on intact.

Pure: no Temporal calls, no I/O; deterministic (safe in workflow code). Temporal's workflow sandbox
swaps ``sys.modules`` while workflow code runs, so classes are looked up in the process's own module
table, held by reference from import time.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import math
import pathlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, TypeAdapter
from pydantic_core import to_json, to_jsonable_python
from temporalio.exceptions import ApplicationError

from refinire.loaded import find_loaded

__all__ = ["TAG", "NotEncodable", "Opaque", "decode", "encode", "fingerprint", "type_name"]

TAG = "$type"
"""The key that marks an encoded value. A user's dict that has this key is sent in the ``dict`` form."""

_TIMEDELTA = TypeAdapter(timedelta)
_PATHS = {c.__name__: c for c in (pathlib.PurePath, pathlib.PurePosixPath, pathlib.PureWindowsPath,
                                  pathlib.Path, pathlib.PosixPath, pathlib.WindowsPath)}
SUPPORTED = ("plain data (str, int, float, bool, None, list, dict) or tuple, set, frozenset, bytes, "
             "datetime, date, time, timedelta, Decimal, UUID, Enum members, pathlib paths, pydantic "
             "models and dataclasses defined at module level")
"""What may travel between steps, as error messages say it."""


def type_name(value: Any) -> str:
    """``socket.socket``, ``mymod.Order``; builtins by their bare name (``object``, ``function``)."""
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class NotEncodable(ApplicationError):
    """A value that cannot travel between steps: ``path`` says where it is, ``type_name`` what it is.

    An ``ApplicationError`` (type ``NotSerializable``, not retryable), so that even where nobody
    catches it, in workflow code, it fails the run instead of leaving a workflow task retrying.
    """

    def __init__(self, path: str, value: Any, reason: str = "") -> None:
        self.path = path
        self.type_name = type_name(value)
        self.reason = reason
        """Why this value in particular (a lone surrogate, a class defined in a function), if more
        than its type."""
        super().__init__(f"{path} holds a {self.type_name}, which cannot travel between steps"
                         f"{self.why}. Store {SUPPORTED}.", type="NotSerializable", non_retryable=True)

    @property
    def why(self) -> str:
        """`` (reason)`` or nothing, to follow a sentence that names the value."""
        return f" ({self.reason})" if self.reason else ""


class Opaque:
    """Stands in for an encoded value this process cannot rebuild: its class is not imported here
    (or no longer accepts the stored data). ``data`` is its payload, sent on unchanged, so code that
    does not read the value passes it on intact; reading it says why it is not the real value."""

    __slots__ = ("data", "reason")

    def __init__(self, data: dict[str, Any], reason: str | None = None) -> None:
        self.data = data
        self.reason = reason

    @property
    def class_name(self) -> str:
        return str(self.data.get("class", self.data.get(TAG))).replace(":", ".")

    def _why(self) -> str:
        if self.reason:
            return f"a stored {self.class_name} cannot be rebuilt from its data: {self.reason}"
        module = str(self.data.get("class", "")).partition(":")[0]
        return (f"a stored {self.class_name} cannot be rebuilt in this process: module {module!r} is "
                "not imported here. Import it at the top of the flow's module (the worker imports "
                "that), or store plain data.")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(self._why())

    def __repr__(self) -> str:
        return f"<Opaque {self.class_name}: {self._why()}>"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Opaque) and to_json(other.data) == to_json(self.data)

    def __hash__(self) -> int:
        return hash(to_json(self.data))

    def __deepcopy__(self, memo: Any) -> "Opaque":
        return self


# Encoding -------------------------------------------------------------------------------------
def encode(value: Any, path: str = "value") -> Any:
    """``value`` as JSON-compatible data (only dict with str keys, list, str, int, float, bool, None).

    Raises ``NotEncodable`` naming ``path`` (extended as it descends: ``shared_state['items'][3]``);
    a value that contains itself (or nests deeper than Python's recursion limit) is one too.
    """
    try:
        return _enc(value, path)
    except RecursionError:
        raise _refuse(path, value, "it contains itself (or nests too deep to send)") from None


def _where(path: Any) -> str:
    """A path built while descending, rendered only when an error needs it."""
    if isinstance(path, str):
        return path
    parent, kind, key = path
    if kind == "[]":
        return f"{_where(parent)}[{key!r}]"
    if kind == ".":
        return f"{_where(parent)}.{key}"
    if kind == "key":
        return f"a key of {_where(parent)}"
    return f"a member of {_where(parent)}"


def _refuse(path: Any, value: Any, reason: str = "") -> NotEncodable:
    return NotEncodable(_where(path), value, reason)


def _str(value: str, path: Any) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _refuse(path, value, f"{exc}; decode file names with errors='replace', "
                                       "or keep them as bytes") from None
    return value


def _enc(v: Any, path: Any) -> Any:
    t = type(v)
    if t is str:
        return v if v.isascii() else _str(v, path)
    if v is None or t is bool or t is int:
        return v
    if t is float:
        return v if math.isfinite(v) else {TAG: "float", "v": repr(v)}
    if t is list:
        return [_enc(x, (path, "[]", i)) for i, x in enumerate(v)]
    if t is dict:
        if TAG not in v and all(type(k) is str for k in v):
            return {(k if k.isascii() else _str(k, (path, "key", k))): _enc(x, (path, "[]", k))
                    for k, x in v.items()}
        return {TAG: "dict", "v": [[_key(k, path), _enc(x, (path, "[]", k))] for k, x in v.items()]}
    if t is tuple:
        return {TAG: "tuple", "v": [_enc(x, (path, "[]", i)) for i, x in enumerate(v)]}
    if t is set or t is frozenset:
        members = [_enc(x, (path, "member", None)) for x in v]
        members.sort(key=to_json)
        return {TAG: t.__name__, "v": members}
    if t is bytes:
        return {TAG: "bytes", "v": base64.b64encode(v).decode("ascii")}
    if t is datetime or t is time:
        out = {TAG: t.__name__, "v": v.isoformat()}
        if isinstance(v.tzinfo, ZoneInfo) and v.tzinfo.key:
            out["tz"] = v.tzinfo.key
        elif v.tzinfo is not None and v.utcoffset() is None:
            raise _refuse(path, v, f"its time zone {v.tzinfo!r} has no fixed offset and is not a "
                                   "zoneinfo.ZoneInfo")
        return out
    if t is date:
        return {TAG: "date", "v": v.isoformat()}
    if t is timedelta:
        return {TAG: "timedelta", "v": to_jsonable_python(v)}
    if t is Decimal:
        return {TAG: "Decimal", "v": str(v)}
    if t is UUID:
        return {TAG: "UUID", "v": str(v)}
    if isinstance(v, enum.Enum):
        return {TAG: "enum", "class": _class_ref(v, path), "name": v.name,
                "v": _enc(v.value, (path, ".", "value"))}
    if isinstance(v, pathlib.PurePath) and _PATHS.get(t.__name__) is t:
        return {TAG: t.__name__, "v": str(v)}
    if isinstance(v, BaseModel):
        return _model(v, path)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        ref = _class_ref(v, path)
        return {TAG: "dataclass", "class": ref,
                "v": {f.name: _enc(getattr(v, f.name), (path, ".", f.name)) for f in dataclasses.fields(v)}}
    if t is Opaque:
        return v.data
    raise _refuse(path, v, _hint(v))


def _model(v: BaseModel, path: Any) -> dict[str, Any]:
    """A pydantic model field by field, exactly (``fields``: rebuilt without validation, as the
    step had it); a model with a field of a type only pydantic knows (``HttpUrl``, ``SecretStr``, ...)
    in pydantic's own JSON form (``v``: rebuilt by validating it, so fields follow the annotations)."""
    ref = _class_ref(v, path)
    try:
        out: dict[str, Any] = {TAG: "pydantic", "class": ref, "fields": {
            name: _enc(getattr(v, name), (path, ".", name)) for name in type(v).model_fields}}
        if v.model_extra:
            out["extra"] = {name: _enc(x, (path, ".", name)) for name, x in v.model_extra.items()}
        unset = [name for name in type(v).model_fields if name not in v.model_fields_set]
        if unset:
            out["unset"] = unset
        return out
    except NotEncodable as exact_failed:
        try:
            dumped = v.model_dump(mode="json", round_trip=True, warnings="error")
        except Exception:
            raise exact_failed from None
        return {TAG: "pydantic", "class": ref, "v": dumped}


def _key(k: Any, path: Any) -> Any:
    try:
        hash(k)
    except TypeError:
        raise _refuse((path, "key", k), k, "dict keys must be hashable") from None
    return _enc(k, (path, "key", k))


def _hint(v: Any) -> str:
    for base, convert in ((dict, "dict"), (list, "list"), (str, "str"), (int, "int"), (float, "float"),
                          (bytes, "bytes"), (bytearray, "bytes"), (tuple, "tuple"), (set, "set")):
        if isinstance(v, base):
            return f"convert it: {convert}(value)"
    return ""


def _class_ref(v: Any, path: Any) -> str:
    cls = type(v)
    if "<locals>" in cls.__qualname__ or find_loaded(cls.__module__, cls.__qualname__) is not cls:
        raise _refuse(path, v, f"its class {cls.__qualname__!r} cannot be found again by module and "
                               "name; define it at module level")
    return f"{cls.__module__}:{cls.__qualname__}"


# Decoding -------------------------------------------------------------------------------------
def decode(data: Any) -> Any:
    """The value ``encode`` was given. Untagged JSON is returned as it is (runs recorded before the
    encoding existed). A class this process cannot rebuild gives an ``Opaque`` stand-in; any other
    tagged object that cannot be read is returned as a plain dict."""
    t = type(data)
    if t is list:
        return [decode(x) for x in data]
    if t is dict:
        if TAG not in data:
            return {k: decode(x) for k, x in data.items()}
        tag = data[TAG]
        reader = _READERS.get(tag) if isinstance(tag, str) else None
        if reader is not None:
            try:
                return reader(data)
            except Exception as exc:
                if tag in _BY_CLASS and isinstance(data.get("class"), str):
                    return Opaque(data, f"{type(exc).__name__}: {exc}")
        return {k: decode(x) for k, x in data.items()}
    return data


def _class(data: dict[str, Any], base: type) -> Any:
    module, _, qualname = str(data["class"]).partition(":")
    cls = find_loaded(module, qualname)
    return cls if isinstance(cls, type) and issubclass(cls, base) else None


def _read_datetime(data: dict[str, Any]) -> Any:
    value = datetime.fromisoformat(data["v"])
    return value.astimezone(ZoneInfo(data["tz"])) if "tz" in data else value


def _read_time(data: dict[str, Any]) -> Any:
    value = time.fromisoformat(data["v"])
    return value.replace(tzinfo=ZoneInfo(data["tz"])) if "tz" in data else value


def _read_enum(data: dict[str, Any]) -> Any:
    cls = _class(data, enum.Enum)
    return Opaque(data) if cls is None else cls(decode(data["v"]))


def _read_model(data: dict[str, Any]) -> Any:
    cls = _class(data, BaseModel)
    if cls is None:
        return Opaque(data)
    if "fields" not in data:
        return cls.model_validate_json(to_json(data["v"]))
    values = {name: decode(x) for name, x in data["fields"].items()}
    values.update({name: decode(x) for name, x in (data.get("extra") or {}).items()})
    unset = set(data.get("unset") or ())
    return cls.model_construct(_fields_set={n for n in values if n not in unset}, **values)


def _read_dataclass(data: dict[str, Any]) -> Any:
    cls = _class(data, object)
    if cls is None or not dataclasses.is_dataclass(cls):
        return Opaque(data)
    obj = cls.__new__(cls)
    stored = data["v"]
    for f in dataclasses.fields(cls):
        if f.name in stored:
            value = decode(stored[f.name])
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            raise ValueError(f"field {f.name!r} is not in the stored data and has no default")
        object.__setattr__(obj, f.name, value)
    return obj


def _read_set(kind: type) -> Any:
    return lambda data: kind(decode(x) for x in data["v"])


_BY_CLASS = ("enum", "pydantic", "dataclass")
_READERS: dict[str, Any] = {
    "dict": lambda d: {decode(k): decode(x) for k, x in d["v"]},
    "tuple": lambda d: tuple(decode(x) for x in d["v"]),
    "set": _read_set(set),
    "frozenset": _read_set(frozenset),
    "float": lambda d: float(d["v"]),
    "bytes": lambda d: base64.b64decode(d["v"], validate=True),
    "datetime": _read_datetime,
    "date": lambda d: date.fromisoformat(d["v"]),
    "time": _read_time,
    "timedelta": lambda d: _TIMEDELTA.validate_python(d["v"]),
    "Decimal": lambda d: Decimal(d["v"]),
    "UUID": lambda d: UUID(d["v"]),
    "enum": _read_enum,
    "pydantic": _read_model,
    "dataclass": _read_dataclass,
    **{name: (lambda d, c=cls: c(d["v"])) for name, cls in _PATHS.items()},
}


def fingerprint(value: Any) -> bytes:
    """Bytes that change when ``value`` changes (its encoding); never raises, so that a value that
    cannot be encoded is reported where it is sent, naming its path."""
    try:
        return to_json(_enc(value, ""))
    except Exception:
        return b"\x00" + repr(value).encode("utf-8", "backslashreplace")
