"""Load test of the studio: N concurrent clients send a bounded number of generate requests to a local
`ganforge serve` it starts, then it prints throughput, p50/p99 latency and the error count (must be 0).

    python bench/serve_load.py                          # 8 clients, 400 requests, a 32x32 DCGAN
    python bench/serve_load.py --clients 16 --requests 1000 --count 4
    python bench/serve_load.py --bundle runs/00000-dcgan-mnist

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
    args = parser.parse_args()
    if args.clients < 1 or args.requests < 1 or args.count < 1:
        parser.error("--clients, --requests and --count must be at least 1")

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
    for problem in errors[:5]:
        print(f"    {problem}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
