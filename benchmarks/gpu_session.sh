#!/usr/bin/env bash
# Everything this project checks and measures on a GPU, as parts that each run under their own time limit, so a
# slow part cannot take the rest with it. All parts together take about 16 minutes on an H200, more than one
# 10-minute call: pick what a lease has time for with PARTS (default: all, in this order, most important first):
#   tests            the CUDA tests (tests/test_cuda.py; ZSM_REQUIRE_CUDA=1, so they fail rather than skip)  ~30 s
#   inference-paper  benchmarks/inference.py, paper network at Vid4 size: fp32 / bf16 / fp16 / channels-last /
#                    CUDA graph, both deformable-convolution backends, batch 1                              ~90 s
#   inference-batch  the same at batch 8, paper and tiny                                                   ~100 s
#   train            a larger network (C=32, 5 + 10 blocks, global skip) trained with the shipped recipe for
#                    TRAIN_SECONDS (default 150; its length set from a 40-step calibration), then evaluated
#                    on the held-out clip                                                         ~TRAIN_SECONDS + 80 s
#   train-bench      benchmarks/train.py: tiny and paper, fp32 vs bf16 vs fp16                             ~120 s
#   dcn              benchmarks/dcn.py, batches 1 and 8                                                     ~15 s
#   profile          benchmarks/profile_network.py on CUDA: GPU time by category, paper bf16, batch 1 and 8  ~60 s
#   compile          torch.compile of the paper network in bf16                                           ~110 s
# Usage (repository root, footage in data/ from `python -m zsm data`, ../shared/fixtures copied to .devshared/):
#   OUT=/some/folder bash benchmarks/gpu_session.sh
#   PARTS="tests train-bench profile" OUT=/some/folder bash benchmarks/gpu_session.sh
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
$PY -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'gpu_session.sh needs a CUDA GPU')" || exit 2
START=$(date +%s)
MACHINE=$($PY -c "import torch; import re; print('cuda-' + re.sub('[^a-z0-9]+', '-', torch.cuda.get_device_name().lower()).strip('-'))")

PARTS=${PARTS:-tests inference-paper inference-batch train train-bench dcn profile compile}
want() { [[ " $PARTS " == *" $1 "* ]]; }
# Every log and JSON, but no checkpoints (with optimiser state they are too large to bring back from a lease).
pack() { tar -czf "$OUT/results.tar.gz" -C "$WORK" --exclude='*.pt' . 2>/dev/null; }
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

want tests && part tests 150 $PY -m pytest -q -p no:cacheprovider tests/test_cuda.py
want inference-paper && part inference-paper 130 $PY benchmarks/inference.py --presets paper --backends auto pure \
  --configs fp32 bf16 fp16 bf16+cl bf16+graph --machine "$MACHINE-b1" --out-dir "$WORK/results" --worker-timeout 40
want inference-batch && part inference-batch 150 $PY benchmarks/inference.py --presets paper tiny --backends auto \
  --configs fp32 bf16 bf16+graph --batch 8 --machine "$MACHINE-b8" --out-dir "$WORK/results" --worker-timeout 40

# A larger network trained for a fixed budget of GPU time: calibrate its steps/s, then one cosine cycle that fits.
if want train; then
  MODEL="channels=32,groups=4,extraction_blocks=5,reconstruction_blocks=10,hr_channels=32"
  # the shipped model's recipe (zsm/weights/README.md) at a larger width; the bikes shot 76-137 is held out and
  # watched, carphone and Vid4 stay evaluation-only
  TRAIN=(-m zsm train --videos data/bigbuckbunny.mp4 data/bikes.mp4:0-76 data/bikes.mp4:137-250 --preset tiny_skip
         --model "$MODEL" --batch-size 16 --lr-size 32 --learning-rate 1e-3 --workers 6 --no-progress --seed 0
         --synthetic 0.5 --synthetic-speed 2 --kaiming-init)
  part train-calibrate 60 $PY "${TRAIN[@]}" --iterations 40 --log-every 10 --val-every 0 --checkpoint-every 0 \
    --run-dir "$WORK/calibrate"  # full steps only: their speed sets the length
  STEPS=$($PY -c "import json; c=json.load(open('$WORK/calibrate/curves.json')); print(max(100, int(c['its'][-1] * ${TRAIN_SECONDS:-150}) // 50 * 50))" 2>/dev/null || echo 1000)
  ALIGN=300  # alignment steps (the first two stages on the guide alone) run several times faster than full ones
  echo "training $ALIGN alignment steps, then $STEPS full steps" | tee -a "$OUT/summary.txt"
  part train-gpu $(( ${TRAIN_SECONDS:-150} + 90 )) $PY "${TRAIN[@]}" --iterations $(( ALIGN + STEPS )) \
    --restart-every $(( ALIGN + STEPS )) --align-steps $ALIGN --guide-weight 1 --guide-steps $(( STEPS * 3 / 4 )) \
    --val-clip data/bikes.mp4:76-137 --val-frames 15 --val-every $(( (ALIGN + STEPS) / 4 )) --log-every 25 \
    --checkpoint-every 500 --run-dir "$WORK/train-gpu"
  cp "$WORK/train-gpu/model.pt" "$OUT/model-gpu.pt" 2>/dev/null
  part evaluate-gpu 60 $PY -m zsm evaluate --footage data --clips carphone_pristine --frames 119 --device cuda \
    --weights "$WORK/train-gpu/model.pt" "$($PY -c 'import zsm; print(zsm.SHIPPED_MODEL)')" --offsets \
    --out "$OUT/eval-gpu.json"
fi

want train-bench && part train-bench 150 $PY benchmarks/train.py --presets tiny paper --amps off bf16 fp16 --steps 20 \
  --warmup 5 --out-dir "$WORK/results"
want dcn && part dcn 40 $PY benchmarks/dcn.py --repeats 20 --warmup 5 --batch 1 8 --out-dir "$WORK/results"
if want profile; then
  for b in 1 8; do
    part "profile-b$b" 45 $PY benchmarks/profile_network.py --preset paper --backend auto --autocast bf16 --batch "$b" \
      --out-dir "$WORK/results"
  done
fi
want compile && part inference-compile 120 $PY benchmarks/inference.py --presets paper --backends auto \
  --configs fp32 bf16+compile --machine "$MACHINE-compile" --out-dir "$WORK/results" --worker-timeout 100
echo "== done after $(( $(date +%s) - START )) s" | tee -a "$OUT/summary.txt"
