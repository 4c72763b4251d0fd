"""Load test of the studio: N concurrent clients send a bounded number of generate requests to a local
`ganforge serve` it starts, then it prints throughput, p50/p99 latency and the error count (must be 0).

    python bench/serve_load.py                          # 8 clients, 400 requests, a 32x32 DCGAN
    python bench/serve_load.py --clients 16 --requests 1000 --count 4
    python bench/serve_load.py --bundle runs/00000-dcgan-mnist
    python bench/serve_load.py --slow-clients 256     # ... while 256 slowloris clients stay connected

With --slow-clients, that many connections each send half a request header, then one more byte every
second, and reconnect whenever the server drops them, for as long as the well-behaved clients run: the
figures printed are what the well-behaved clients got meanwhile (loopback only).

Without --bundle it writes a bundle of the dcgan-mnist preset's architecture (32x32, z_dim 100) with
freshly initialized weights: inference costs the same as for a trained one.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def make_bundle(folder: Path) -> Path:
    import torch

    from ganforge.bundle import write_bundle
    from ganforge.presets import get_preset
    from ganforge.recipes.base import ModelSpec
    from ganforge.registry import load_all

    load_all()

    cfg = get_preset("dcgan-mnist")
    cfg.data.channels = 1
    m = cfg.model
    spec = ModelSpec(
        "dcgan.G", dict(z_dim=m.z_dim, img_channels=1, img_size=32, base_channels=m.g_channels, num_classes=0)
    )
    torch.manual_seed(0)
    G = spec.build().eval()
    return write_bundle(folder / "bundle", cfg, {"G_ema": G}, {"G_ema": spec}, None, step=0, images_seen=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with status {proc.returncode}")
        try:
            if httpx.get(url + "/api/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the server did not start in time")


def run_clients(url: str, clients: int, requests: int, count: int) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(requests))

    def client() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                start = time.perf_counter()
                try:
                    r = http.get("/api/generate.png", params={"seed": i, "count": count})
                    ok = r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
                    problem = None if ok else f"{r.status_code}: {r.text[:120]}"
                except httpx.HTTPError as err:
                    problem = f"{type(err).__name__}: {err}"
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if problem:
                        errors.append(problem)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - start


class SlowClients:
    """`n` connections that never finish their request header (slowloris), reopened when dropped."""

    def __init__(self, host: str, port: int, n: int):
        self.host, self.port, self.n = host, port, n
        self.stop = threading.Event()
        self.dropped = 0  # times the server closed one of them
        self.max_open = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open_one(self) -> socket.socket | None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=2)
            sock.sendall(b"GET /api/models HTTP/1.1\r\nHost: studio\r\nX-Slow: ")
            sock.setblocking(False)
            return sock
        except OSError:
            return None

    def run(self) -> None:
        socks = [self.open_one() for _ in range(self.n)]
        last_trickle = time.monotonic()
        deadline = time.monotonic() + 600  # bounded even if the caller never sets stop
        while not self.stop.is_set() and time.monotonic() < deadline:
            trickle = time.monotonic() - last_trickle >= 1.0
            for i, sock in enumerate(socks):
                alive = False
                if sock is not None:
                    try:
                        sock.recv(4096)  # an answer or EOF: the server is done with this one
                    except BlockingIOError:
                        alive = True  # nothing to read: still connected, still owing its header
                    except OSError:
                        pass
                if alive and trickle:
                    try:
                        sock.send(b"a")
                    except OSError:
                        alive = False
                if not alive:
                    if sock is not None:
                        self.dropped += 1
                        sock.close()
                    socks[i] = self.open_one()
            if trickle:
                last_trickle = time.monotonic()
            self.max_open = max(self.max_open, sum(s is not None for s in socks))
            self.stop.wait(0.05)
        for sock in socks:
            if sock is not None:
                sock.close()

    def __enter__(self) -> SlowClients:
        self.thread.start()
        time.sleep(1.0)  # let them all connect before the timed run
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bundle", type=Path, help="a bundle or run directory to serve (default: a fresh 32x32 DCGAN)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=400, help="generate requests in all")
    parser.add_argument("--count", type=int, default=1, help="images per request")
    parser.add_argument("--warmup", type=int, default=10, help="requests sent before timing")
    parser.add_argument(
        "--slow-clients", type=int, default=0, help="slowloris connections kept open during the run"
    )
    args = parser.parse_args()
    if args.clients < 1 or args.requests < 1 or args.count < 1 or args.slow_clients < 0:
        parser.error("--clients, --requests and --count must be at least 1, --slow-clients at least 0")

    with tempfile.TemporaryDirectory() as tmp:
        bundle = args.bundle or make_bundle(Path(tmp))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [
            sys.executable,
            "-m",
            "ganforge",
            "serve",
            str(bundle),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        proc = subprocess.Popen(
            cmd, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONWARNINGS": "ignore"}
        )
        try:
            wait_ready(url, proc)
            run_clients(url, 1, args.warmup, args.count)
            if args.slow_clients:
                with SlowClients("127.0.0.1", port, args.slow_clients) as slow:
                    latencies, errors, wall = run_clients(url, args.clients, args.requests, args.count)
            else:
                slow = None
                latencies, errors, wall = run_clients(url, args.clients, args.requests, args.count)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    print(f"studio load test: {args.clients} clients, {args.requests} requests of {args.count} image(s)")
    print(f"  model          {bundle}")
    print(f"  wall time      {wall:.2f} s")
    images_per_s = args.requests * args.count / wall
    print(f"  throughput     {args.requests / wall:.1f} requests/s ({images_per_s:.1f} images/s)")
    print(f"  latency p50    {1000 * statistics.median(latencies):.1f} ms")
    print(f"  latency p99    {1000 * percentile(latencies, 99):.1f} ms")
    print(f"  errors         {len(errors)}")
    if slow is not None:
        served = len(latencies) - len(errors)
        held = f"{args.slow_clients} half-sent headers kept open ({slow.max_open} at most at once)"
        print(f"  slow clients   {held}")
        print(f"  dropped        {slow.dropped} slow connections dropped by the server (each reopened)")
        print(f"  served         {served} of {args.requests} well-behaved requests while they were connected")
    for problem in errors[:5]:
        print(f"    {problem}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
