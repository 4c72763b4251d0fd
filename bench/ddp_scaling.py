"""Data-parallel scaling: training images/s of ganforge's trainer with 1, 2, ... processes.

Each process runs the same per-process batch (weak scaling) of a DCGAN under `torchrun`
(gloo on CPU, NCCL on GPU) and gradients are averaged every phase. On CPU the threads are
split between processes so that the comparison uses the same cores.

    python bench/ddp_scaling.py --procs 1,2 --size 32 --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).with_name("_ddp_worker.py")


def run(procs: int, args: argparse.Namespace) -> dict:
    cores = os.cpu_count() or 1
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, cores // procs)), "PYTHONWARNINGS": "ignore"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={procs}",
        str(WORKER),
        "--size",
        str(args.size),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--batch",
        str(args.batch),
        "--device",
        args.device,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"torchrun with {procs} processes failed:\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default="1,2", help="comma-separated process counts")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32, help="per-process batch")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    base = None
    print(
        f"DCGAN {args.size}x{args.size}, per-process batch {args.batch}, "
        f"{args.steps} timed steps, {args.device}"
    )
    for procs in (int(p) for p in args.procs.split(",")):
        result = run(procs, args)
        base = base or result["images_per_second"]
        print(
            f"{procs} process(es): {result['images_per_second']:8.1f} images/s "
            f"(speed-up {result['images_per_second'] / base:.2f}x, {result['threads']} threads each)"
        )


if __name__ == "__main__":
    main()
