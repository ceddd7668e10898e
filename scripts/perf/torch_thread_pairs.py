"""PyTorch eager's train step (scripts/gpu/torch_step.py's) at two thread counts, alternated in one process.

After warm-up at each count, P pairs: `steps` steps at one count then `steps` at the other (the order swapped
every pair), so both halves of a pair run under the same load; prints one JSON line per pair.
usage: python3 scripts/perf/torch_thread_pairs.py --model resnet18 --batch 256 --threads 1,2 --pairs 4 --steps 4
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gpu"))
from torch_step import MODELS, make_step  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet18", choices=sorted(MODELS))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=8)
    a = ap.parse_args()
    lo, hi = [int(t) for t in a.threads.split(",")]
    step, xs, _ = make_step(a.model, "cpu", a.batch)

    def timed(threads, n):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        for i in range(n):
            step(xs[i % 2])
        return (time.perf_counter() - t0) * 1000 / n

    for t in (lo, hi):
        timed(t, a.warmup)
    for p in range(a.pairs):
        ms = {}
        for t in ((lo, hi) if p % 2 == 0 else (hi, lo)):
            ms[t] = timed(t, a.steps)
        print(json.dumps({"pair": p, "ms": {str(k): v for k, v in ms.items()}, "load": os.getloadavg()[0]}), flush=True)


if __name__ == "__main__":
    main()
