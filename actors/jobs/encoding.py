"""How a job's record is encoded in Redis: a hash whose every value is a JSON document.

The store's scripts assemble a snapshot's JSON from the hash without decoding anything, so each
field is written already encoded (``encode_fields``) and read back with ``decode_snapshot``.
Fields whose name starts with ``_`` are the engine's own (the job's namespace, its run and lease)
and are never shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from .states import NAMESPACE_FIELD

#: One encoder for every change (``json.dumps`` with options builds a new one per call).
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def compact_json(value: Any) -> str:
    """``value`` as compact JSON (an enum member as its value)."""
    return _COMPACT(value.value if isinstance(value, Enum) else value)


def text(value: bytes | str) -> str:
    """A Redis reply as text (redis-py gives bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value


def encode_fields(fields: Mapping[str, Any]) -> list[str]:
    """Flatten ``fields`` into HSET's ``field value ...`` arguments, each value JSON-encoded."""
    flat: list[str] = []
    for name, value in fields.items():
        flat += [name, compact_json(value)]
    return flat


def decode_snapshot(raw: Mapping[bytes | str, bytes | str], fields: Sequence[str]) -> dict[str, Any] | None:
    """Turn an HGETALL reply into a snapshot dict in the order of ``fields`` (the engine's own
    ``_`` fields left out); None when empty."""
    if not raw:
        return None
    decoded = {name: json.loads(v) for k, v in raw.items() if not (name := text(k)).startswith("_")}
    ordered = {name: decoded.pop(name, None) for name in fields}
    ordered.update(decoded)
    return ordered


def owned_by(raw: Mapping[bytes | str, bytes | str], namespace: str) -> bool:
    """Whether an HGETALL reply is a job of ``namespace`` (an empty reply is nobody's)."""
    stored = raw.get(NAMESPACE_FIELD.encode(), raw.get(NAMESPACE_FIELD))  # type: ignore[call-overload]
    return stored is not None and json.loads(stored) == namespace
