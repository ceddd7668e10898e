"""Where PyTorch eager's train step spends its time per conv shape: torch.profiler over the step of
scripts/gpu/torch_step.py (teacher + student + MSE + SGD), self CPU time per step of aten::mkldnn_convolution
(forward: teacher and student) and aten::convolution_backward (dX and dW), by input and weight shape, and the
step's top ops. For comparing with `npm run profile:step -- --nodes N --json` (docs/PERFORMANCE.md, tenth session).

usage: python3 scripts/perf/torch_conv_profile.py [--model resnet18|resnet18w8] [--batch 256] [--threads 1]
       [--steps 4]
"""
import argparse
import collections
import os
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gpu"))
from torch_step import make_step  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--model", default="resnet18", choices=["resnet18", "resnet18w8"])
ap.add_argument("--batch", type=int, default=256)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--steps", type=int, default=4)
a = ap.parse_args()
torch.set_num_threads(a.threads)
step, xs, _ = make_step(a.model, "cpu", a.batch)
for i in range(6):
    step(xs[i % 2])
t = time.perf_counter()
for i in range(a.steps):
    step(xs[i % 2])
print(f"{a.model}, batch {a.batch}, {a.threads} thread(s): {(time.perf_counter() - t) / a.steps * 1000:.1f} ms/step unprofiled")
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    for i in range(a.steps):
        step(xs[i % 2])
per_shape = collections.defaultdict(lambda: [0.0, 0])
for e in prof.key_averages(group_by_input_shape=True):
    if e.key == "aten::mkldnn_convolution":
        key = ("forward", tuple(e.input_shapes[0]), tuple(e.input_shapes[1]))
    elif e.key == "aten::convolution_backward":
        key = ("backward", tuple(e.input_shapes[1]), tuple(e.input_shapes[2]))
    else:
        continue
    per_shape[key][0] += e.self_cpu_time_total / a.steps / 1000
    per_shape[key][1] += e.count / a.steps
print("| pass | input | weight | calls per step | ms per step | ms per call |")
print("|---|---|---|---|---|---|")
for (kind, x, w), (ms, calls) in sorted(per_shape.items(), key=lambda kv: -kv[1][0]):
    print(f"| {kind} | {list(x)} | {list(w)} | {calls:g} | {ms:.2f} | {ms / calls:.2f} |")
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
