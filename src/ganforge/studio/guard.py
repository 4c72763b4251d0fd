"""The studio's HTTP protocol: uvicorn's h11 protocol with read deadlines and a bounded connection table.

Why here and not in the app: a client that sends half a request header never reaches the ASGI app,
so no middleware can time it out, and uvicorn (0.2x-0.5x) has no header or body read timeout; its
`limit_concurrency` counts such half-open connections, so a few hundred of them made every other
client get a 503 (slowloris). So, at the protocol level:

- a client must finish its request line and headers within `header_timeout_s` of connecting (or of
  its previous response) and its body within `body_timeout_s` of its headers, or it is disconnected;
- at most `max_connections` are open; a new connection beyond that drops the oldest one that is
  still owing its request (a well-behaved client sends its request in milliseconds, so it is never
  the oldest such one for long); only when every open connection is being served is the newcomer
  refused, with a JSON 503;
- a malformed request (e.g. a bad Content-Length) gets a JSON 400 like every other error.

A per-IP limit was not chosen: on loopback, behind a reverse proxy or a NAT every client has the same
address, so it cannot tell the slow clients from the good ones.
"""

from __future__ import annotations

import json
from typing import Any

import h11

HEADER_TIMEOUT_S = 5.0
BODY_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 512


def guarded_protocol(
    header_timeout_s: float = HEADER_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
) -> type:
    """A subclass of uvicorn's H11Protocol with these limits (imported lazily: uvicorn is optional
    for code that only builds the app)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            self._deadline: Any = None
            self._deadline_kind = ""
            self._opened = self.loop.time()
            super().connection_made(transport)
            self._make_room()
            self._update_deadline()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._update_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._opened = self.loop.time()  # the next request is owed from now
            self._update_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_deadline()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            body = json.dumps({"error": "invalid HTTP request (request line, headers or Content-Length)"})
            self._send_and_close(400, body.encode())

        # ------------------------------------------------------------------ deadlines

        def _owing(self) -> str:
            """What the client still owes: "headers", "body" or "" (nothing: being served, or closed)."""
            if self.transport.is_closing():
                return ""
            state = self.conn.their_state
            if state is h11.IDLE and (self.cycle is None or self.cycle.response_complete):
                return "headers"
            if state is h11.SEND_BODY:
                return "body"
            return ""

        def _update_deadline(self) -> None:
            owing = self._owing()
            if owing == self._deadline_kind:
                return  # the clock keeps running: trickling bytes does not extend it
            self._cancel_deadline()
            if owing:
                delay = header_timeout_s if owing == "headers" else body_timeout_s
                self._deadline = self.loop.call_later(delay, self._too_slow)
                self._deadline_kind = owing

        def _cancel_deadline(self) -> None:
            if getattr(self, "_deadline", None) is not None:
                self._deadline.cancel()
            self._deadline, self._deadline_kind = None, ""

        def _too_slow(self) -> None:
            self._deadline, kind = None, self._deadline_kind
            self._deadline_kind = ""
            if self.transport.is_closing() or self._owing() != kind:
                return
            self.logger.info("closing a connection that did not send its request %s in time", kind)
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True  # the app's receive() gets http.disconnect
                self.cycle.message_event.set()
            self.transport.close()

        # ------------------------------------------------------------------ the connection table

        def _make_room(self) -> None:
            if len(self.connections) <= max_connections:
                return
            owing = [
                c for c in self.connections if c is not self and getattr(c, "_owing", None) and c._owing()
            ]
            if owing:
                oldest = min(owing, key=lambda c: c._opened)
                oldest._cancel_deadline()
                oldest.transport.close()
                return
            # h11 cannot answer before a request arrives: the response is written as bytes
            body = json.dumps({"error": "the studio is serving as many connections as it can; try again"})
            head = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            head += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
            self.transport.write(head.encode() + body.encode())
            self.transport.close()

        def _send_and_close(self, status: int, body: bytes) -> None:
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            try:
                self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers)))
                self.transport.write(self.conn.send(h11.Data(data=body)))
                self.transport.write(self.conn.send(h11.EndOfMessage()))
            except h11.LocalProtocolError:
                pass  # a response was already under way: just close
            self.transport.close()

    return GuardedH11Protocol
