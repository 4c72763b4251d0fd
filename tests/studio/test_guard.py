"""The studio's protocol guard against hostile clients, over real sockets on loopback: slow headers and
slow bodies are dropped while others are served, a crowd of half-open connections cannot lock anyone
out, and a malformed request gets a JSON 400."""

import json
import socket
import time

import httpx
import pytest

from ganforge.studio import StudioLimits, StudioServer, create_app
from studio.conftest import LIMITS

GUARDED = StudioLimits(
    **{**LIMITS.__dict__, "header_timeout_s": 1.0, "body_timeout_s": 1.0, "max_connections": 64}
)


@pytest.fixture(scope="module")
def guarded(bundles):
    with StudioServer(create_app([bundles["digits"]], GUARDED)) as running:
        yield running


def connect(server, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    if data:
        sock.sendall(data)
    return sock


def closed_after(sock: socket.socket, limit_s: float = 8.0) -> tuple[float, bytes]:
    """Seconds until the server closes `sock` (reading what it sent), at most limit_s."""
    start, received = time.monotonic(), b""
    sock.settimeout(limit_s)
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return time.monotonic() - start, received


def test_a_slow_header_client_is_dropped_while_another_is_served(guarded):
    slow = connect(guarded, b"GET /api/models HTTP/1.1\r\nHost: studio\r\nX-Slow: ")  # never finished
    with httpx.Client(base_url=guarded.url, timeout=10) as client:
        assert client.get("/api/models").status_code == 200
    waited, received = closed_after(slow)
    assert 0.5 < waited < 4.0 and received == b""
    slow.close()


def test_a_trickling_header_is_not_kept_alive_by_its_bytes(guarded):
    slow = connect(guarded)
    start = time.monotonic()
    with pytest.raises((BrokenPipeError, ConnectionResetError, TimeoutError, OSError)):
        for byte in b"GET /api/models HTTP/1.1\r\nHost: studio\r\nX-Padding: " + b"a" * 100:
            slow.sendall(bytes([byte]))  # one byte every 0.1 s: never finishes within the deadline
            time.sleep(0.1)
            if time.monotonic() - start > 6:
                break
        raise AssertionError("the trickling client was never dropped")
    assert time.monotonic() - start < 4.0
    slow.close()


def test_a_slow_body_is_dropped(guarded):
    head = b"POST /api/generate HTTP/1.1\r\nHost: studio\r\nContent-Type: application/json\r\n"
    slow = connect(guarded, head + b'Content-Length: 100\r\n\r\n{"seed":')
    waited, _ = closed_after(slow)
    assert waited < 4.0
    slow.close()


def test_hundreds_of_half_open_connections_do_not_lock_others_out(guarded):
    crowd = [connect(guarded, b"GET /api/models HTTP/1.1\r\nHost: studio\r\n") for _ in range(260)]
    try:
        with httpx.Client(base_url=guarded.url, timeout=10) as client:
            statuses = [
                client.get("/api/models", headers={"Connection": "close"}).status_code for _ in range(5)
            ]
        assert statuses == [200] * 5
        # the table holds at most max_connections: the oldest owing connections were dropped for room
        open_now = 0
        for sock in crowd:
            sock.settimeout(0.01)
            try:
                open_now += sock.recv(1) != b""
            except TimeoutError:
                open_now += 1
            except OSError:
                pass
        assert open_now <= GUARDED.max_connections
    finally:
        for sock in crowd:
            sock.close()


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1, 2"])
def test_a_bad_content_length_gets_a_json_400(guarded, length):
    sock = connect(
        guarded, b"POST /api/generate HTTP/1.1\r\nHost: studio\r\nContent-Length: " + length + b"\r\n\r\n{}"
    )
    _, received = closed_after(sock)
    sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"].startswith("invalid HTTP request")
