"""PyTorch eager doing the method's train step, timed the same way as scripts/gpu/ort_step.mjs.

Step: x' = x + 0.01 * randn_like(x); teacher (frozen copy, eval mode, no_grad) logits on x'; student
(train mode) logits on x'; loss = mse(student, teacher); SGD(momentum 0.9, weight decay 5e-4) step.
Models (10 classes): `resnet18`, torchvision's ResNet-18 (7x7 stem + max-pool, width 64) on 32x32x3
(torchvision's own when importable, else an identical local definition); `resnet18w8`, the zoo's demo model
(width 8, 3x3 stride-1 stem, no max-pool) on 28x28x1, local definition. Timing: warm-up excluded, median
over repeats, CUDA synchronised before each clock read.

usage: python3 scripts/gpu/torch_step.py [--model resnet18|resnet18w8] [--device cuda,cpu] [--batch 256,1024]
       [--cpu-batch 64] [--cpu-threads N] [--steps 10] [--repeats 5] [--cpu-steps 3] [--cpu-repeats 3] [--warmup 8]
       [--json out.json]
"""
import argparse
import copy
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision.models.resnet18's layout and init (kaiming_normal_ fan_out for convs, BN 1/0)."""

    def __init__(self, num_classes=10, width=64, channels=3, stem="torchvision"):
        super().__init__()
        if stem == "torchvision":
            self.conv1 = nn.Conv2d(channels, width, 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        else:  # the zoo's small-image stem
            self.conv1 = nn.Conv2d(channels, width, 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        layers, cin = [], width
        for i in range(4):
            cout = width * 2 ** i
            layers.append(nn.Sequential(BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


MODELS = {  # name: (channels, image size)
    "resnet18": (3, 32),
    "resnet18w8": (1, 28),
}


def make_model(name):
    if name == "resnet18w8":
        return ResNet18(10, width=8, channels=1, stem="small"), "local"
    try:
        import torchvision

        return torchvision.models.resnet18(num_classes=10), "torchvision"
    except Exception:  # torchvision absent or broken: the same network, defined above
        return ResNet18(10), "local"


def make_step(name, device, batch):
    """The method's step on a seeded model: (step(x) -> loss, two input batches, the model's source)."""
    torch.manual_seed(0)
    channels, image = MODELS[name]
    student, source = make_model(name)
    student = student.to(device).train()
    teacher = copy.deepcopy(student).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD(student.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    xs = [torch.randn(batch, channels, image, image, device=device) for _ in range(2)]

    def step(x):
        xn = x + 0.01 * torch.randn_like(x)
        with torch.no_grad():
            target = teacher(xn)
        loss = F.mse_loss(student(xn), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step, xs, source


def bench(name, device, batch, steps, repeats, warmup=8):
    channels, image = MODELS[name]
    step, xs, source = make_step(name, device, batch)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for i in range(warmup):
        step(xs[i % 2])
    sync()
    per_step = []
    cpu0 = time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            loss = step(xs[i % 2])
        sync()
        per_step.append((time.perf_counter() - t0) * 1000 / steps)
    ms = statistics.median(per_step)
    return {
        "stack": "pytorch-eager", "torch": torch.__version__, "model": f"{name} ({source})", "input": [channels, image, image], "device": device,
        "threads": torch.get_num_threads(), "batch": batch, "warmupSteps": warmup, "msPerStep": ms, "imagesPerSecond": batch * 1000 / ms,
        "repeatsMsPerStep": per_step, "cpuMsPerStep": (time.process_time() - cpu0) * 1000 / (steps * repeats),
        "lastLoss": float(loss.item()),
        "peakGpuMiB": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet18", choices=sorted(MODELS))
    ap.add_argument("--device", default="cuda,cpu")
    ap.add_argument("--batch", default="256,1024")
    ap.add_argument("--cpu-batch", default="64")
    ap.add_argument("--cpu-threads", type=int)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cpu-steps", type=int, default=3)
    ap.add_argument("--cpu-repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=8, help="untimed steps first (as scripts/bench.ts)")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.cpu_threads:
        torch.set_num_threads(a.cpu_threads)
    results = []
    for device in [d for d in a.device.split(",") if d]:
        if device == "cuda" and not torch.cuda.is_available():
            results.append({"stack": "pytorch-eager", "device": "cuda", "error": "torch.cuda.is_available() is False"})
            continue
        batches = a.cpu_batch if device == "cpu" else a.batch
        for batch in [int(b) for b in batches.split(",") if b]:
            steps, repeats = (a.cpu_steps, a.cpu_repeats) if device == "cpu" else (a.steps, a.repeats)
            r = bench(a.model, device, batch, steps, repeats, a.warmup)
            results.append(r)
            print(f"torch {a.model} {device} batch {batch}: {r['msPerStep']:.2f} ms/step, {r['imagesPerSecond']:.0f} img/s", flush=True)
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
        "timings": results,
    }
    text = json.dumps(doc, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
