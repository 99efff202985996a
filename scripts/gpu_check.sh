#!/usr/bin/env bash
# Paper-scale runs on one GPU (written for an H200 with preinstalled PyTorch and no network; nothing
# is installed: the package is imported from lib/ via PYTHONPATH). The whole script stays under
# $GPU_CHECK_BUDGET seconds (default 540, i.e. < 10 minutes): every stage gets a timeout from the
# time left, and stages run in priority order, so a slow card loses the last stages, not the first.
#
#   bash scripts/gpu_check.sh                   # writes into results/paper/ (or $OUT/ when set)
#   GPU_CHECK_DRY=1 bash scripts/gpu_check.sh   # CPU dry run with tiny overrides (checks the plumbing;
#                                               # writes into runs/gpu_check_dry/, never results/)
#
# Stages (each appends to <dest>/gpu_check.log):
#   1. train single / looped / shift at --scale paper, seed 0, full length   -> <dest>/train_<model>/
#      (bf16 autocast, checkpoint every 1000 steps; a stage cut by its timeout resumes on a rerun)
#   2. throughput: ci, small, paper eager and paper compiled                   -> <dest>/throughput.json
#   3. reproduce sample-dynamics at paper scale, 3 seeds                      -> <dest>/reproduce/
#   4. reproduce hessian-dynamics at paper scale, 1 seed, capped at 3000 steps -> <dest>/reproduce_hessian/
#   5. with >= 2 GPUs: a torchrun DDP smoke run                               -> <dest>/train_looped_ddp/
# Exit status: 0 when every stage that ran succeeded, 1 otherwise (the log says which).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/lib${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python}"
DRY="${GPU_CHECK_DRY:-0}"
if [ "$DRY" = "1" ]; then
  DEST="${OUT:-runs/gpu_check_dry}"
  BUDGET="${GPU_CHECK_BUDGET:-300}"
  TRAIN_X=(--device cpu --steps 10 --eval-every 5 --n-train 256 --n-test 64 --threads 1 --ckpt-every 5)
  SD_X=(--seeds 1 --max-steps 2)
  HD_X=()  # dense 1024×1024 Hessians are too slow for a CPU dry run: stage 4 is skipped
  TP_X=(--scales ci --no-compile --steps 2 --warmup 1 --device cpu)
  export CUDA_VISIBLE_DEVICES=""
else
  DEST="${OUT:-results/paper}"
  BUDGET="${GPU_CHECK_BUDGET:-540}"
  TRAIN_X=(--ckpt-every 1000 --amp auto)
  SD_X=(--seeds 3)
  HD_X=(--seeds 1 --max-steps 3000)  # half length, same number of spectra (cadences compressed)
  TP_X=(--scales ci small paper --compile-scales paper --steps 50)
fi
mkdir -p "$DEST"
LOG="$DEST/gpu_check.log"
: >"$LOG"
START=$(date +%s)
FAILED=()

left() { echo $(( BUDGET - ($(date +%s) - START) )); }

# stage NAME MAX_SECONDS CMD...: run CMD with a timeout of min(MAX_SECONDS, time left), log it.
stage() {
  local name=$1 want=$2; shift 2
  local l t t0 rc
  l=$(left); t=$(( want < l ? want : l ))
  if [ "$t" -lt 15 ]; then
    echo "[skip] $name: time budget spent" | tee -a "$LOG"; FAILED+=("$name(skipped)"); return 0
  fi
  echo "[run ] $name (timeout ${t}s): $*" | tee -a "$LOG"
  t0=$(date +%s)
  timeout --kill-after=10 "$t" "$@" >>"$LOG" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "[ ok ] $name in $(( $(date +%s) - t0 ))s" | tee -a "$LOG"
  else
    echo "[FAIL] $name (exit $rc$([ $rc -eq 124 ] && echo ', timed out')) after $(( $(date +%s) - t0 ))s" | tee -a "$LOG"
    FAILED+=("$name")
  fi
  return 0
}

echo "# gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ) dry=$DRY budget=${BUDGET}s dest=$DEST" | tee -a "$LOG"
"$PY" - >>"$LOG" 2>&1 <<'EOF'
import platform, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| available", torch.cuda.is_available())
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"gpu {i}: {p.name}, {p.total_memory / 2**30:.0f} GiB, bf16 {torch.cuda.is_bf16_supported()}")
EOF
if [ "$DRY" != "1" ] && ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "no CUDA device: run with GPU_CHECK_DRY=1 for the CPU dry run" | tee -a "$LOG"; exit 1
fi

# 1. the three paper-scale training runs (the records notebooks/06 loads)
for m in single looped shift; do
  if [ -f "$DEST/train_$m/record.json" ]; then echo "[done] train $m: record exists" | tee -a "$LOG"; continue; fi
  stage "train $m" 150 "$PY" -m loopvalley train --model "$m" --scale paper --seed 0 --quiet \
    --out "$DEST/train_$m" --resume auto "${TRAIN_X[@]}"
  [ -f "$DEST/train_$m/record.json" ] && rm -f "$DEST/train_$m/checkpoint.pt"  # finished: no need to ship it
done

# 2. throughput (tokens/s, TFLOP/s, % of the bf16 peak; eager vs compiled)
stage "throughput" 200 "$PY" benchmarks/throughput.py "${TP_X[@]}" --json "$DEST/throughput.json"

# 3-4. the claims ledger at paper scale
stage "reproduce sample-dynamics" 200 "$PY" -m loopvalley reproduce --scale paper --only sample-dynamics \
  --quiet --out "$DEST/reproduce" "${SD_X[@]}"
if [ "$DRY" = "1" ]; then
  echo "[skip] reproduce hessian-dynamics: not in the CPU dry run" | tee -a "$LOG"
else
  stage "reproduce hessian-dynamics" 240 "$PY" -m loopvalley reproduce --scale paper --only hessian-dynamics \
    --quiet --out "$DEST/reproduce_hessian" "${HD_X[@]}"
fi

# 5. multi-GPU smoke run (only where there are >= 2 GPUs)
NGPU=$("$PY" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
if [ "$DRY" != "1" ] && [ "${NGPU:-0}" -ge 2 ]; then
  stage "ddp looped" 120 "$PY" -m torch.distributed.run --standalone --nproc_per_node "$NGPU" -m loopvalley train \
    --model looped --scale paper --steps 500 --batch-size $(( 64 * NGPU )) --quiet --out "$DEST/train_looped_ddp"
fi

echo "# done in $(( $(date +%s) - START ))s; failed: ${FAILED[*]:-none}" | tee -a "$LOG"
"$PY" - "$DEST" >>"$LOG" 2>&1 <<'EOF' || true
import sys
from pathlib import Path
from loopvalley.train import RunRecord
for f in sorted(Path(sys.argv[1]).glob("train_*/record.json")):
    r = RunRecord.load(f)
    accs = ", ".join(f"{s} {r.eval_acc[s][-1]:.3f}" for s in r.eval_acc)
    print(f"{f.parent.name}: {len(r.train_step)} steps, final acc {accs}, {r.wall[-1]:.0f} s of training")
EOF
tail -n 8 "$LOG"
[ ${#FAILED[@]} -eq 0 ]
