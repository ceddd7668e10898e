#!/usr/bin/env bash
# ONE device call on a lent H100/H200 (see docs/PERFORMANCE.md, "GPU check"): unpacks the CUDA kit, then
# (a) checks CUDA-vs-CPU parity of 3 train steps of ResNet-18 (rel. error <= 1e-3), (b) times our step on
# CUDA at batch 256 and 1024 (1 and 8 steps per run) and on the CPU, (c) times PyTorch eager's same step
# in the same run, (d) prints a short table last and writes JSON + logs to $OUT.
# Needs, carried into the call: .gpukit/b (and .gpukit/a unless an earlier call on this warm machine
# unpacked it), dist (npm run build), node_modules/onnx-buf, node_modules/@bufbuild, node_modules/seedrandom.
# Env knobs: BATCHES (256,1024), KS (1,8), CPU_BATCH (64), CPU_THREADS (all cores), STEPS (10), REPEATS (5),
# ORT_ARGS (more ort_step.mjs options, e.g. "--model resnet18w8 --image 28 --channels 1" for a smoke test).
set -uo pipefail
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
for half in a b; do [ -d .gpukit/$half ] && bash .gpukit/$half/unpack-kit.sh > "$OUT/unpack-$half.log" 2>&1; done
[ -f /tmp/kit/env.sh ] || { echo "no CUDA kit in /tmp/kit (carry .gpukit/a and .gpukit/b)"; exit 3; }
source /tmp/kit/env.sh
[ -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so ] || echo "warning: CUDA provider missing (carry .gpukit/b)"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,temperature.gpu --format=csv > "$OUT/gpu.csv" 2>&1
CPU_THREADS=${CPU_THREADS:-$(nproc)}
timeout 330 node scripts/gpu/ort_step.mjs --ep cuda,cpu --batch "${BATCHES:-256,1024}" --k "${KS:-1,8}" \
  --cpu-batch "${CPU_BATCH:-64}" --cpu-threads "$CPU_THREADS" --steps "${STEPS:-10}" --repeats "${REPEATS:-5}" \
  --parity cuda,cpu --json "$OUT/ort.json" ${ORT_ARGS:-} > "$OUT/ort.log" 2>&1
echo "ort exit $?" >> "$OUT/ort.log"
timeout 200 python3 scripts/gpu/torch_step.py --device cuda,cpu --batch "${BATCHES:-256,1024}" --cpu-batch "${CPU_BATCH:-64}" \
  --cpu-threads "$CPU_THREADS" --steps "${STEPS:-10}" --repeats "${REPEATS:-5}" --json "$OUT/torch.json" > "$OUT/torch.log" 2>&1
echo "torch exit $?" >> "$OUT/torch.log"
tail -n 15 "$OUT/ort.log" "$OUT/torch.log"
cat "$OUT/gpu.csv"
node scripts/gpu/table.mjs "$OUT/ort.json" "$OUT/torch.json" | tee "$OUT/table.md"
