#!/usr/bin/env bash
# Everything this project checks and measures on a GPU, in one call that fits a short lease (about 9 minutes on
# an H100-class GPU), most important first, each part under its own time limit so a slow part cannot take the
# rest with it:
#   1. the CUDA tests (tests/test_cuda.py; ZSM_REQUIRE_CUDA=1, so they fail rather than skip);
#   2. benchmarks/inference.py: the paper network at Vid4 size, fp32 / bf16 / fp16 / channels-last / CUDA graph,
#      both deformable-convolution backends, batches of 1 and 8 clips; the tiny preset;
#   3. a training run of a larger network (C=32, 5 + 10 blocks, global skip) on the footage for a fixed time
#      budget (its length is set from a 30-step calibration), then its evaluation on the held-out clip;
#   4. benchmarks/train.py (tiny and paper, fp32 vs bf16 vs fp16), benchmarks/dcn.py, torch.compile.
# Usage (repository root, footage in data/ from `python -m zsm data`):
#   OUT=/some/folder bash benchmarks/gpu_session.sh
# Results: $OUT/summary.txt (one line per part), $OUT/results.tar.gz (every log and JSON, refreshed after each
# part), $OUT/model-gpu.pt and $OUT/eval-gpu.json (the trained network and its evaluation).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/zsm-gpu}
WORK=/tmp/zsm-gpu-work
mkdir -p "$OUT" "$WORK/results"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 MPLBACKEND=Agg ZSM_REQUIRE_CUDA=1
[ -d .devshared ] && export ZSM_SHARED=$PWD/.devshared  # a copy of ../shared/fixtures, carried to the machine
PY=${PYTHON:-python3}
START=$(date +%s)
MACHINE=$($PY -c "import torch; import re; print('cuda-' + re.sub('[^a-z0-9]+', '-', torch.cuda.get_device_name().lower()).strip('-'))")

pack() { tar -czf "$OUT/results.tar.gz" -C "$WORK" . 2>/dev/null; }
part() {  # part NAME SECONDS COMMAND...: run with a time limit (SIGINT first, so Python prints where it was)
  local name=$1 limit=$2; shift 2
  echo "== $(( $(date +%s) - START )) s: $name (at most $limit s)"
  timeout -s INT -k 10 "$limit" "$@" > "$WORK/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc after $(( $(date +%s) - START )) s" | tee -a "$OUT/summary.txt"
  tail -n 30 "$WORK/$name.log"
  pack
}

{ nvidia-smi; $PY -c "import torch, zsm.ops as o; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(), o.torchvision_status())"; } > "$WORK/env.log" 2>&1
cat "$WORK/env.log"

part tests 100 $PY -m pytest -q -p no:cacheprovider tests/test_cuda.py
part inference-paper 130 $PY benchmarks/inference.py --presets paper --backends auto pure \
  --configs fp32 bf16 fp16 bf16+cl bf16+graph --machine "$MACHINE-b1" --out-dir "$WORK/results" --worker-timeout 40
part inference-batch 75 $PY benchmarks/inference.py --presets paper tiny --backends auto \
  --configs fp32 bf16 bf16+graph --batch 8 --machine "$MACHINE-b8" --out-dir "$WORK/results" --worker-timeout 40

# A larger network trained for a fixed budget of GPU time: calibrate its steps/s, then one cosine cycle that fits.
MODEL="channels=32,groups=4,extraction_blocks=5,reconstruction_blocks=10,hr_channels=32"
TRAIN=(-m zsm train --videos data/bigbuckbunny.mp4 data/bikes.mp4 --preset tiny_skip --model "$MODEL"
       --batch-size 16 --lr-size 32 --learning-rate 4e-4 --workers 6 --no-progress --seed 0)
part train-calibrate 60 $PY "${TRAIN[@]}" --iterations 40 --log-every 10 --val-every 0 --checkpoint-every 0 \
  --run-dir "$WORK/calibrate"
STEPS=$($PY -c "import json,sys; c=json.load(open('$WORK/calibrate/curves.json')); print(max(100, int(c['its'][-1] * ${TRAIN_SECONDS:-150}) // 50 * 50))" 2>/dev/null || echo 1000)
echo "training $STEPS steps" | tee -a "$OUT/summary.txt"
part train-gpu $(( ${TRAIN_SECONDS:-150} + 60 )) $PY "${TRAIN[@]}" --iterations "$STEPS" --restart-every "$STEPS" \
  --val-clip data/carphone_pristine.mp4 --val-frames 15 --val-every $(( STEPS / 4 )) --log-every 25 \
  --checkpoint-every 500 --run-dir "$WORK/train-gpu"
cp "$WORK/train-gpu/model.pt" "$OUT/model-gpu.pt" 2>/dev/null
part evaluate-gpu 60 $PY -m zsm evaluate --footage data --clips carphone_pristine --frames 119 --device cuda \
  --weights "$WORK/train-gpu/model.pt" zsm/weights/zsm-footage.pt --out "$OUT/eval-gpu.json"

part train-bench 80 $PY benchmarks/train.py --presets tiny paper --amps off bf16 fp16 --steps 20 --warmup 5 \
  --out-dir "$WORK/results"
part dcn 40 $PY benchmarks/dcn.py --repeats 20 --warmup 5 --batch 1 8 --out-dir "$WORK/results"
part inference-compile 120 $PY benchmarks/inference.py --presets paper --backends auto --configs fp32 bf16+compile \
  --machine "$MACHINE-compile" --out-dir "$WORK/results" --worker-timeout 100
echo "== done after $(( $(date +%s) - START )) s" | tee -a "$OUT/summary.txt"
