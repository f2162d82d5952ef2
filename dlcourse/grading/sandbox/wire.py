"""The frames that cross between the student's process and the trusted test process.

Part of :mod:`dlcourse.grading.sandbox`; runs on BOTH sides, so it imports nothing of ``dlcourse``
(inside the sandbox it is loaded as a top-level module). A frame is a JSON object and a list of
raw byte blobs (:mod:`.values` puts data into that form), never a pickle; its size limit is
checked before anything is read, and a frame that is late, cut or malformed raises.
"""

from __future__ import annotations

import json
import socket
import struct
import time

__all__ = ["WireError", "send", "recv"]

_HEAD = struct.Struct(">II")
_BLOB = struct.Struct(">Q")


class WireError(ValueError):
    """A value that cannot cross, or a frame that breaks the protocol or a limit."""


# --------------------------------------------------------------------------- framing


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete answer in time")
            sock.settimeout(left)
        else:
            sock.settimeout(None)
        try:
            chunk = sock.recv(min(n - got, 1 << 20))
        except TimeoutError:
            raise TimeoutError("no complete answer in time") from None
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def send(sock: socket.socket, message: dict, blobs: list[bytes] = ()) -> None:
    """Send one frame: a JSON ``message`` and its byte ``blobs``."""
    head = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    parts = [_HEAD.pack(len(head), len(blobs)), head]
    for blob in blobs:
        parts += [_BLOB.pack(len(blob)), blob]
    sock.sendall(b"".join(parts))


def recv(sock: socket.socket, limit: int, timeout: float | None = None) -> tuple[dict, list[bytes]]:
    """Receive one frame of at most ``limit`` bytes; ``TimeoutError``, ``EOFError`` or ``WireError``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    size, count = _HEAD.unpack(_recv_exact(sock, _HEAD.size, deadline))
    if size > limit or count > limit // _BLOB.size:
        raise WireError(f"frame of {size} bytes and {count} blobs is over the {limit}-byte limit")
    try:
        message = json.loads(_recv_exact(sock, size, deadline))
    except (UnicodeDecodeError, RecursionError, ValueError) as err:
        raise WireError(f"not a valid message: {type(err).__name__}") from None
    if not isinstance(message, dict):
        raise WireError("not a valid message: not a JSON object")
    blobs, total = [], size
    for _ in range(count):
        (n,) = _BLOB.unpack(_recv_exact(sock, _BLOB.size, deadline))
        total += n
        if total > limit:
            raise WireError(f"frame over the {limit}-byte limit")
        blobs.append(_recv_exact(sock, n, deadline))
    return message, blobs
