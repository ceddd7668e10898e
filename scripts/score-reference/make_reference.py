"""Reference vectors for the challenge score, from the organisers' own metric.py run on the CPU.

Usage (Debian's python3 with numpy and torch; torch only makes these fixtures, it is no dependency):
    git -C <mirror of google-deepmind/unlearning_evaluation> show HEAD:metric.py > /tmp/metric.py
    /usr/bin/python3 scripts/score-reference/make_reference.py /tmp/metric.py test/fixtures/score/reference.json

metric.py is run as released with two run-time patches, nothing else: `.cuda()` returns the tensor itself
(no GPU; its comparisons are float64 either way), and `assert thr_eps` (an error under numpy >= 1.24 for
arrays) reads `assert len(thr_eps)`. Per-example epsilons are taken from its `_get_epsilons`, F from
`compute_forget_score_from_confs`. Inputs are rounded to 6 decimals to keep the file small; the reference is
computed on exactly the stored values. A few `torch.linspace` and `np.linspace` grids are stored too: the
single-threshold thresholds are a float32 torch.linspace, whose rounding depends on the torch version; the
window edges are float64 np.linspace.
"""
import json
import sys
import types

import numpy as np
import torch

torch.set_num_threads(1)
torch.Tensor.cuda = lambda self, *a, **k: self


def load_metric(path):
    src = open(path).read()
    patched = src.replace("assert thr_eps,", "assert len(thr_eps),")
    assert patched != src, "metric.py changed: the assert patch did not apply"
    mod = types.ModuleType("metric")
    exec(compile(patched, path, "exec"), mod.__dict__)
    return mod


def per_example(rng, n, s, kind):
    """[N, S] unlearned and retrained confidences for one kind of case."""
    mu = rng.uniform(-2, 6, size=s)
    sd = rng.uniform(0.5, 2.0, size=s)
    r = mu + sd * rng.standard_normal((n, s))
    if kind == "identical":
        u = mu + sd * rng.standard_normal((n, s))
    elif kind == "shifted":
        u = mu + 0.5 * sd + sd * rng.standard_normal((n, s))
    elif kind == "narrow":
        u = mu + 0.5 * sd * rng.standard_normal((n, s))
    elif kind == "skewed":
        # Confidences of real models are skewed: a Gumbel-like tail on one side.
        r = mu - sd * rng.gumbel(size=(n, s))
        u = mu + 0.3 * sd - sd * 1.3 * rng.gumbel(size=(n, s))
    elif kind == "ties":
        u = mu + sd * rng.standard_normal((n, s))
        r, u = np.round(r * 4) / 4, np.round(u * 4) / 4
        u[:, :3] = u[0, :3]  # three deterministic examples: the 1% spread rule
    elif kind == "mixed":
        u = np.empty((n, s))
        for j in range(s):
            c = j % 5
            z = rng.standard_normal(n)
            u[:, j] = mu[j] + sd[j] * [z, 1.0 + z, 0.2 * z, 10 + z, 2 * z][c]
    else:
        raise ValueError(kind)
    return np.round(u, 6), np.round(r, 6)


CASES = [
    ("identical", 16, 50, 101),
    ("shifted", 32, 50, 102),
    ("narrow", 32, 40, 103),
    ("skewed", 64, 30, 104),
    ("ties", 16, 50, 105),
    ("mixed", 64, 30, 106),
    ("identical", 128, 10, 107),
]


def main(metric_path, out_path):
    metric = load_metric(metric_path)
    captured = []
    original = metric._get_epsilons
    metric._get_epsilons = lambda *a, **k: captured.append(original(*a, **k)) or captured[-1]
    cases = []
    grids = []
    np_grids = []
    for kind, n, s, seed in CASES:
        u, r = per_example(np.random.default_rng(seed), n, s, kind)
        captured.clear()
        f = metric.compute_forget_score_from_confs(u, r)
        eps = captured[0]
        cases.append(
            {
                "name": f"{kind} N={n} S={s} seed={seed}",
                "unlearned_confs": u.tolist(),
                "retrained_confs": r.tolist(),
                "epsilons": [float(e) for e in eps],
                "forget_score": float(f),
            }
        )
        print(f"{cases[-1]['name']}: F = {f:.6f}", file=sys.stderr)
        if len(grids) < 2:
            # The first example's single-threshold grid, as metric.py builds it.
            lo = min(u[:, 0].min(), r[:, 0].min())
            hi = max(u[:, 0].max(), r[:, 0].max())
            steps = int(np.ceil((hi - lo) * 100))
            values = torch.linspace(torch.tensor(lo), torch.tensor(hi), steps)
            assert values.dtype == torch.float32
            grids.append({"start": float(lo), "end": float(hi), "steps": steps, "values": values.tolist()})
            # And np.linspace as the window attack calls it: right edges, and the left edges of one of them.
            pos = u[:, 0] if np.ptp(u[:, 0]) < np.ptp(r[:, 0]) else r[:, 0]
            w = np.ptp(pos)
            a_, b_ = pos.min() + w - 2.0, pos.max() + 2.0
            rights = np.linspace(a_, b_, num=int(np.ceil((b_ - a_) * 100)))
            tr = rights[len(rights) // 3]
            for start, stop, num in [(a_, b_, len(rights)), (tr - w - 2.0, tr - w + 2.0, 400)]:
                values = np.linspace(start, stop, num=num)
                np_grids.append({"start": float(start), "stop": float(stop), "num": num, "values": values.tolist()})
    capability = next((l.split(":")[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l), "?")
    doc = {
        "source": "google-deepmind/unlearning_evaluation metric.py (commit ffae0fff4c3e), run on the CPU",
        "torch": torch.__version__,
        "torch_cpu_capability": capability,
        "numpy": np.__version__,
        "single_threshold_grid": "torch1.13-avx2" if torch.__version__.startswith("1.13") and capability == "AVX2" else "torch2",
        "cases": cases,
        "torch_linspace": grids,
        "numpy_linspace": np_grids,
    }
    with open(out_path, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
