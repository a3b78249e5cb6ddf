"""Byte encodings the Sigstore formats share: base64 flavours and canonical JSON."""

from __future__ import annotations

import base64
import json
from typing import Any


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_json(value: Any) -> bytes:
    """RFC 8785 for the values these formats hold (strings, integers, lists, objects).

    Sorted keys, no whitespace and UTF-8 output coincide with RFC 8785 as long as no float
    appears, which the log's documents never contain.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
