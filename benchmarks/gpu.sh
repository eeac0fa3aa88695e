#!/usr/bin/env bash
# The realistic-composite FRL-DGT ablation on one lent GPU, in under ten minutes.
#
#   bash benchmarks/gpu.sh                  # on the GPU machine (writes JSON under $OUT)
#   GPU_SH_SMOKE=1 bash benchmarks/gpu.sh   # toy size, any CPU: the pipeline end to end
#   bash benchmarks/gpu.sh --fetch-wheels   # HERE, once, before a GPU session (see below)
#
# Steps: nvidia-smi; a Python with torch and mlcore's needs; three realistic composites
# (442 clips, 68 subjects each, seeds 0 1 2, `mlcore synth --preset realistic`); the ablation
# rows (flow floors, M0, M9, STSTNet first, then M1..M8) each over the three seeds, at 112 px,
# subject-grouped 5-fold, SMIC-HS apexes proposed, until the training budget is spent
# (benchmarks/gpu_ablation.py); the table of mean +- sd; then benchmarks/train.py on the seed-0
# composite (training and inference speed, a fold's epoch and the extrapolated full LOSO, the
# apex proposer's error), cut off after GPU_SH_TRAIN_S; gpu_ablation.json, train.json and the log
# in $OUT (or var/gpu without $OUT).
#
# The lent GPU machine reaches no package registry, so nothing is pip-installed from the
# network there (and `pip install -e .` would try to): its python3 already holds torch (CUDA),
# numpy, scipy, scikit-image, matplotlib, pillow and tqdm; mlcore runs from the working tree on
# PYTHONPATH. What it lacks (OpenCV's contrib module with TV-L1, openpyxl) travels as wheels in
# .whl/: run `bash benchmarks/gpu.sh --fetch-wheels` here, then call the device with
# carry [".whl"] and the command `bash benchmarks/gpu.sh` (timeout_s 600).
#
# Knobs (environment): GPU_SH_BUDGET_S ablation training seconds (default 330), GPU_SH_TRAIN_S
# the seconds benchmarks/train.py may take (default 100), GPU_SH_PROTOCOL kfold|loso
# (default kfold; loso = the 68-fold protocol, far slower), GPU_SH_EPOCHS (30), GPU_SH_SEEDS
# ("0 1 2"), GPU_SH_ONLY (row ids, default all).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "${1:-}" = "--fetch-wheels" ]; then
    # Versions pinned to this checkout's venv, built for the device's CPython 3.12 on x86-64.
    PY=${PYTHON:-.venv/bin/python}
    mapfile -t WHEELS < <("$PY" - <<'EOF'
import importlib.metadata as metadata
for name in ("opencv-contrib-python-headless", "openpyxl", "et-xmlfile"):
    print(f"{name}=={metadata.version(name)}")
EOF
    )
    EXCLUDE=$(git rev-parse --git-path info/exclude)  # .whl/ travels with carry, never in git
    mkdir -p "$(dirname "$EXCLUDE")"
    grep -qx '/.whl/' "$EXCLUDE" 2>/dev/null || echo '/.whl/' >> "$EXCLUDE"
    "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl "${WHEELS[@]}"
    ls -la .whl
    exit 0
fi

SMOKE=${GPU_SH_SMOKE:-0}
OUT_DIR=${OUT:-$ROOT/var/gpu}
WORK=${GPU_SH_WORK:-${TMPDIR:-/tmp}/mestudio-gpu}
mkdir -p "$OUT_DIR" "$WORK"
LOG=$OUT_DIR/gpu.log
exec > >(tee "$LOG") 2>&1

echo "== machine"
date -u
nvidia-smi || echo "(no nvidia-smi: no NVIDIA GPU here)"
nproc

echo "== python"
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import torch' 2>/dev/null; then
    PY=$ROOT/.venv/bin/python  # a developer checkout
else
    PY=python3  # the GPU machine's interpreter that holds torch
fi
export PYTHONPATH=$ROOT:$ROOT/platform${PYTHONPATH:+:$PYTHONPATH}
NEEDS='import cv2, openpyxl, torch, numpy, scipy, skimage, matplotlib, PIL, tqdm; cv2.optflow.DualTVL1OpticalFlow_create'
if ! "$PY" -c "$NEEDS" 2>/dev/null; then
    if ! ls .whl/*.whl >/dev/null 2>&1; then
        echo "missing packages and no .whl/: run 'bash benchmarks/gpu.sh --fetch-wheels' where pip works, carry .whl" >&2
        "$PY" -c "$NEEDS"
        exit 2
    fi
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$WORK/site" .whl/*.whl
    export PYTHONPATH=$WORK/site:$PYTHONPATH  # first: contrib's cv2 shadows the plain one
    "$PY" -c "$NEEDS"
fi
"$PY" -c 'import torch, cv2; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "cv2", cv2.__version__)'

echo "== ablation"
RUN_DIR=$WORK/ablation
[ "$SMOKE" = 1 ] && RUN_DIR=$WORK/smoke
ARGS=(--out "$RUN_DIR" --seeds ${GPU_SH_SEEDS:-0 1 2} --epochs "${GPU_SH_EPOCHS:-30}"
      --protocol "${GPU_SH_PROTOCOL:-kfold}" --budget-s "${GPU_SH_BUDGET_S:-330}")
if [ "$SMOKE" = 1 ]; then
    ARGS=(--out "$RUN_DIR" --seeds ${GPU_SH_SEEDS:-0 1 2} --smoke --budget-s "${GPU_SH_BUDGET_S:-3000}"
          --device cpu)
fi
if [ -n "${GPU_SH_ONLY:-}" ]; then
    ARGS+=(--only $GPU_SH_ONLY)
fi
export PYTHONUNBUFFERED=1
status=0
"$PY" benchmarks/gpu_ablation.py "${ARGS[@]}" || status=$?
if [ -f "$RUN_DIR/gpu_ablation.json" ]; then
    cp "$RUN_DIR/gpu_ablation.json" "$OUT_DIR/gpu_ablation.json"
    echo "-> $OUT_DIR/gpu_ablation.json"
fi

echo "== train.py"
# On the ablation's seed-0 composite, so nothing is generated twice; a cut-off run still leaves
# the log, and the ablation's JSON is already saved above.
train_status=0
timeout "${GPU_SH_TRAIN_S:-100}" "$PY" benchmarks/train.py --composite "$RUN_DIR/data-0" \
    --threads "$(nproc)" --out "$OUT_DIR/train.json" || train_status=$?
[ "$train_status" = 124 ] && echo "train.py cut off after ${GPU_SH_TRAIN_S:-100} s"
[ -f "$OUT_DIR/train.json" ] && echo "-> $OUT_DIR/train.json"
date -u
[ "$status" = 0 ] && status=$train_status
exit $status
