#!/usr/bin/env bash
# A full 68-fold LOSO of M9, STSTNet and M0 and benchmarks/train.py on one lent GPU, in under
# ten minutes (issue #13, item 7).
#
#   bash benchmarks/gpu.sh                  # on the GPU machine (writes JSON under $OUT)
#   GPU_SH_SMOKE=1 bash benchmarks/gpu.sh   # toy size, any CPU: the LOSO path end to end
#   bash benchmarks/gpu.sh --fetch-wheels   # HERE, once, before a GPU session (see below)
#
# Steps: nvidia-smi; a Python with torch and mlcore's needs; one realistic composite (442 clips,
# 68 subjects, `mlcore synth --preset realistic --seed GPU_SH_SEED`); benchmarks/gpu_loso.py:
# SMIC-HS apexes proposed and every row's inputs computed on all cores (same frames at 112 px,
# M0's and STSTNet's TV-L1 at 112 px), then M9, STSTNet and M0 in turn, every fold of the
# leave-one-subject-out protocol in one of GPU_SH_WORKERS processes side by side on the GPU;
# gpu_loso.json (pooled UF1/UAR full and per dataset, per-fold mean +- sd, one entry per
# held-out subject, each row's wall time measured and extrapolated to 30 epochs) is rewritten
# after every fold, so a run cut off keeps every fold it finished. Training stops at
# GPU_SH_DEADLINE_S - GPU_SH_TRAIN_S seconds after the start; then benchmarks/train.py on the
# same composite (training and inference speed, a fold's warm-up and epoch, the apex error)
# in what is left, writing train.json part by part. gpu_loso.json, train.json and gpu.log are
# in $OUT (or var/gpu without $OUT). GPU_SH_SMOKE=1: an 18-clip composite, 32 px, 2 epochs, tiny
# FRL-DGT, CPU, no train.py; tests/mlcore/test_gpu_benchmark.py runs it.
#
# Exit status: 0 all done; 3 the LOSO was cut off at its deadline (gpu_loso.json holds every
# fold finished); 124 train.py was cut off (train.json holds its finished parts); else a failure
# (gpu.log says which).
#
# The lent GPU machine reaches no package registry, so nothing is pip-installed from the
# network there (and `pip install -e .` would try to): its python3 already holds torch (CUDA),
# numpy, scipy, scikit-image, matplotlib, pillow and tqdm; mlcore runs from the working tree on
# PYTHONPATH. What it lacks (OpenCV's contrib module with TV-L1, openpyxl) travels as wheels in
# .whl/: run `bash benchmarks/gpu.sh --fetch-wheels` here, then call the device with
# carry [".whl"] and the command `bash benchmarks/gpu.sh` (timeout_s 600).
#
# Knobs (environment): GPU_SH_EPOCHS epochs per fold (default 30: at 10 the learned rows had not
# fitted their training clips on a CPU, docs/frl-dgt.md; the JSON extrapolates to 30),
# GPU_SH_WORKERS fold processes (6), GPU_SH_SEED the composite and training seed (0),
# GPU_SH_ONLY row ids (loso: "M9 STSTNet M0"; kfold: all),
# GPU_SH_DEADLINE_S the whole script's seconds (570), GPU_SH_TRAIN_S the seconds kept for
# benchmarks/train.py (90). GPU_SH_PROTOCOL=kfold runs the earlier mode instead of the LOSO:
# every ablation row over three composites (GPU_SH_SEEDS, "0 1 2"), subject-grouped 5-fold,
# until GPU_SH_BUDGET_S (330) training seconds are spent (benchmarks/gpu_ablation.py), then
# train.py on the seed-0 composite.
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

START=$(date +%s)
DEADLINE=${GPU_SH_DEADLINE_S:-570}
TRAIN_S=${GPU_SH_TRAIN_S:-90}
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
if [ -n "${PYTHON:-}" ]; then
    PY=$PYTHON  # the caller's (the smoke test passes its own interpreter)
elif [ -x .venv/bin/python ] && .venv/bin/python -c 'import torch' 2>/dev/null; then
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

PROTOCOL=${GPU_SH_PROTOCOL:-loso}
export PYTHONUNBUFFERED=1
status=0
if [ "$PROTOCOL" = loso ]; then
    echo "== loso"
    SEED=${GPU_SH_SEED:-0}
    RUN_DIR=$WORK/loso
    ARGS=(--out "$RUN_DIR" --json "$OUT_DIR/gpu_loso.json" --seed "$SEED"
          --epochs "${GPU_SH_EPOCHS:-30}" --workers "${GPU_SH_WORKERS:-6}"
          --stop-at "$((START + DEADLINE - TRAIN_S))")
    if [ "$SMOKE" = 1 ]; then
        RUN_DIR=$WORK/smoke-loso
        ARGS=(--out "$RUN_DIR" --json "$OUT_DIR/gpu_loso.json" --seed "$SEED" --smoke
              --workers "${GPU_SH_WORKERS:-2}" --device cpu)
    fi
    [ -n "${GPU_SH_ONLY:-}" ] && ARGS+=(--only $GPU_SH_ONLY)
    "$PY" benchmarks/gpu_loso.py "${ARGS[@]}" || status=$?
    [ "$status" = 3 ] && echo "LOSO cut off at the deadline: gpu_loso.json holds the folds done"
    DATA=$RUN_DIR/data-$SEED
elif [ "$PROTOCOL" = kfold ]; then
    echo "== ablation (kfold)"
    RUN_DIR=$WORK/ablation
    ARGS=(--out "$RUN_DIR" --seeds ${GPU_SH_SEEDS:-0 1 2} --epochs "${GPU_SH_EPOCHS:-30}"
          --budget-s "${GPU_SH_BUDGET_S:-330}")
    if [ "$SMOKE" = 1 ]; then
        RUN_DIR=$WORK/smoke
        ARGS=(--out "$RUN_DIR" --seeds ${GPU_SH_SEEDS:-0 1 2} --smoke
              --budget-s "${GPU_SH_BUDGET_S:-3000}" --device cpu)
    fi
    [ -n "${GPU_SH_ONLY:-}" ] && ARGS+=(--only $GPU_SH_ONLY)
    "$PY" benchmarks/gpu_ablation.py "${ARGS[@]}" || status=$?
    if [ -f "$RUN_DIR/gpu_ablation.json" ]; then
        cp "$RUN_DIR/gpu_ablation.json" "$OUT_DIR/gpu_ablation.json"
        echo "-> $OUT_DIR/gpu_ablation.json"
    fi
    DATA=$RUN_DIR/data-$(echo ${GPU_SH_SEEDS:-0 1 2} | cut -d' ' -f1)
else
    echo "GPU_SH_PROTOCOL must be loso or kfold, not $PROTOCOL" >&2
    exit 2
fi

echo "== train.py"
train_status=0
if [ "$SMOKE" = 1 ]; then
    echo "(skipped in the smoke run: its default FRL-DGT trains for minutes on a CPU)"
else
    # On the composite the LOSO used, so nothing is generated twice; train.py writes its JSON
    # part by part, so a cut-off run keeps what it measured.
    left=$((START + DEADLINE - $(date +%s)))
    limit=$((left < TRAIN_S ? left : TRAIN_S))
    if [ "$limit" -gt 5 ]; then
        timeout "$limit" "$PY" benchmarks/train.py --composite "$DATA" \
            --threads "$(nproc)" --out "$OUT_DIR/train.json" || train_status=$?
        [ "$train_status" = 124 ] && echo "train.py cut off after $limit s"
    else
        echo "no time left for train.py"
    fi
    [ -f "$OUT_DIR/train.json" ] && echo "-> $OUT_DIR/train.json"
fi
date -u
[ "$status" = 0 ] && status=$train_status
exit $status
