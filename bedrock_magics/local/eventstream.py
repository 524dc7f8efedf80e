"""AWS event-stream framing, the server side (ConverseStream, InvokeModelWithResponseStream).

Each message is ``prelude (total length, headers length, CRC32 of both) | headers | payload |
CRC32 of everything before``, all integers big-endian; headers used here are strings (type 7).
Clients parse it with botocore's own ``EventStreamBuffer``, so this encoder only has to be exact.
"""

from __future__ import annotations

import binascii
import json
import struct
from typing import Any, Mapping

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack(">B", len(n)) + n + struct.pack(">BH", _STRING, len(v)) + v


def frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message with string ``headers`` and raw ``payload``."""
    hb = b"".join(_header(k, v) for k, v in headers.items())
    prelude = struct.pack(">II", 12 + len(hb) + len(payload) + 4, len(hb))
    msg = prelude + struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF) + hb + payload
    return msg + struct.pack(">I", binascii.crc32(msg) & 0xFFFFFFFF)


def event(event_type: str, payload: Any) -> bytes:
    """An ``event`` message whose payload is ``payload`` as compact JSON."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return frame({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, body)


def exception(exception_type: str, message: str, **members: Any) -> bytes:
    """An in-stream ``exception`` message; ``exception_type`` is the lower-camel member name
    (``throttlingException``, ``modelStreamErrorException``…), as botocore reports it."""
    body = json.dumps({"message": message, **members}, separators=(",", ":")).encode()
    return frame({":exception-type": exception_type, ":content-type": "application/json",
                  ":message-type": "exception"}, body)


def exception_type(code: str) -> str:
    """The event-stream member name of an AWS error code: ``ThrottlingException`` → ``throttlingException``."""
    return code[:1].lower() + code[1:]
