"""Optional encryption at rest: every payload a client or worker sends to Temporal is AES-GCM sealed.

Temporal stores run inputs, step results and contexts in its database and shows them in its UI.
With ``REFINIRE_PAYLOAD_KEY`` set (base64 of 32 random bytes) the server only ever sees ciphertext;
whoever holds the key reads results as usual, and the Temporal UI can show them through
``refinire-flow codec-server``. Payloads written without a key stay readable after the key is
turned on, so switching encryption on never strands older runs.

Make a key: ``python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"``.
Needs the ``crypto`` extra (``pip install refinire-flow[crypto]``, which brings ``cryptography``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import functools
import hashlib
import os
from typing import Any, Sequence

from temporalio.api.common.v1 import Payload
from pydantic_core import to_json
from pydantic import TypeAdapter, ValidationError
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadCodec,
)

from refinire.wire import WIRE

from .undecodable import WHY_META, PlainKeyFailures, SealedPayloadConverter, invalid_payload

__all__ = ["ENCODING", "KEY_ENV", "EncryptionCodec", "codec_from_env", "data_converter"]

KEY_ENV = "REFINIRE_PAYLOAD_KEY"
KEY_ID_ENV = "REFINIRE_PAYLOAD_KEY_ID"
ENCODING = b"binary/encrypted"
KEY_ID_META = "encryption-key-id"
_NONCE = 12


class CodecError(ValueError):
    """A key that cannot be used or a payload this key cannot open; the message says which."""

    def __init__(self, message: str, *, why: str = "") -> None:
        super().__init__(message)
        self.why = why
        """For a payload it cannot open: why, as the end of a sentence about this worker."""


def parse_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise CodecError(
            f"{KEY_ENV} must be base64 of exactly 32 bytes (AES-256); got {len(key)} usable bytes. "
            "Make one with: python -c \"import os, base64; "
            "print(base64.b64encode(os.urandom(32)).decode())\"")
    return key


def key_id_for(key: bytes) -> str:
    """A stable, non-secret name for a key, so a payload says which key sealed it."""
    return "sha256:" + hashlib.sha256(key).hexdigest()[:16]


class EncryptionCodec(PayloadCodec):
    """Seals each payload whole (metadata included) under AES-256-GCM with a random nonce.

    A payload it cannot open raises ``CodecError``; the ``lenient()`` copy that clients and workers
    use passes it on, marked with why, for ``SealedPayloadConverter`` to fail the run that holds it
    (``client/connection/undecodable.py``) instead of a workflow task that retries forever.
    """

    def __init__(self, key: bytes, key_id: str | None = None) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            raise CodecError(f"{KEY_ENV} is set but the 'cryptography' package is missing: "
                             "pip install 'refinire-flow[crypto]'") from None
        self._aes = AESGCM(key)
        self.key_id = key_id or key_id_for(key)
        self._lenient = False

    def lenient(self) -> "EncryptionCodec":
        """The same key; a payload it cannot open passes through, marked with why."""
        other = copy.copy(self)
        other._lenient = True
        return other

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if not self._lenient:
            return [self.open(p) for p in payloads]
        out = []
        for p in payloads:
            try:
                out.append(self.open(p))
            except CodecError as err:
                marked = Payload()
                marked.CopyFrom(p)
                marked.metadata[WHY_META] = err.why.encode()
                out.append(marked)
        return out

    def seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(_NONCE)
        sealed = self._aes.encrypt(nonce, payload.SerializeToString(), self.key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID_META: self.key_id.encode()},
                       data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_META, b"").decode()
        if key_id != self.key_id:
            raise CodecError(f"This payload was sealed with key {key_id!r}, but {KEY_ENV} holds key "
                             f"{self.key_id!r}. Set {KEY_ENV} to the key the run was written with.",
                             why=f"this worker's {KEY_ENV} holds key {self.key_id!r}")
        from cryptography.exceptions import InvalidTag

        try:
            plain = self._aes.decrypt(payload.data[:_NONCE], payload.data[_NONCE:], key_id.encode())
        except InvalidTag:
            raise CodecError(f"A payload sealed with key {key_id!r} failed authentication: it was "
                             "altered, or the key differs from the one that sealed it.",
                             why=f"it fails authentication with this worker's {KEY_ENV} (altered, or "
                                 "another key under the same id)") from None
        out = Payload()
        out.ParseFromString(plain)
        return out


def codec_from_env(environ: dict[str, str] | None = None) -> EncryptionCodec | None:
    env = os.environ if environ is None else environ
    text = env.get(KEY_ENV)
    if not text:
        return None
    return EncryptionCodec(parse_key(text), env.get(KEY_ID_ENV) or None)


@functools.lru_cache(maxsize=1024)
def _adapter(type_hint: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_hint)


class WireJSONConverter(PydanticJSONPlainPayloadConverter):
    """Pydantic's JSON, with our models written compactly (``refinire.wire``): the same bytes
    Temporal's pydantic converter reads, without the fields left at their defaults.

    Type adapters are shared by the process: the SDK's converter caches them per converter, and a
    worker makes a converter for every run, so each run built its own (about 0.5 ms each)."""

    def to_payload(self, value: Any) -> Payload | None:
        return Payload(metadata={"encoding": self.encoding.encode()}, data=to_json(value, context=WIRE))

    def from_payload(self, payload: Payload, type_hint: Any = None) -> Any:
        """JSON the model rejects is ``PayloadNotDecodable`` (a run fails at once, not its task forever)."""
        hint = Any if type_hint is None else type_hint
        try:
            hash(hint)
        except TypeError:
            adapter = TypeAdapter(hint)
        else:
            adapter = _adapter(hint)
        try:
            return adapter.validate_json(payload.data)
        except ValidationError as err:
            invalid_payload(err, type_hint, payload)  # raises, naming the run, the model and the fix


class WirePayloadConverter(CompositePayloadConverter):
    """Temporal's default converters, with ``WireJSONConverter`` for JSON, and
    ``SealedPayloadConverter`` for sealed payloads this process could not open."""

    def __init__(self) -> None:
        super().__init__(*(WireJSONConverter() if isinstance(c, JSONPlainPayloadConverter) else c
                           for c in DefaultPayloadConverter.default_encoding_payload_converters),
                         SealedPayloadConverter())


WIRE_CONVERTER = dataclasses.replace(pydantic_data_converter, payload_converter_class=WirePayloadConverter)


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """The converter every client and worker uses: pydantic JSON, sealed when a key is configured.

    Sealed converters also move failure messages and stack traces into an encrypted payload:
    error messages often quote the data that caused them (but for the message of a run that failed
    for a key, which holds none). A payload this process cannot decode fails the run that holds it
    (``client/connection/undecodable.py``).
    """
    codec = codec or codec_from_env()
    if codec is None:
        return WIRE_CONVERTER
    if isinstance(codec, EncryptionCodec):
        codec = codec.lenient()
    return dataclasses.replace(WIRE_CONVERTER, payload_codec=codec, failure_converter_class=PlainKeyFailures)

