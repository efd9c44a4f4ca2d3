#!/usr/bin/env bash
# Set up seal-lm in a virtual environment: .venv by default, or $SEAL_VENV.
#
# PyTorch comes first so that a CPU-only machine never downloads the multi-GB CUDA build:
#   - torch already importable in the venv: kept as is;
#   - an NVIDIA GPU (nvidia-smi) or SEAL_TORCH=cuda: the default (CUDA) build from PyPI;
#   - otherwise: torch 2.13.0, CPU build, from PyTorch's CPU index (or a local wheel).
# Extra arguments are pip extras for seal-lm itself, e.g. `scripts/setup.sh test`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SEAL_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip)

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  if [ "${SEAL_TORCH:-}" = cuda ] || command -v nvidia-smi >/dev/null 2>&1; then
    "${pip[@]}" install -q "torch>=2.3"
  else
    "${pip[@]}" install -q --retries 0 "torch==2.13.0" \
      --extra-index-url https://download.pytorch.org/whl/cpu
  fi
fi

extras="$(IFS=,; echo "$*")"
"${pip[@]}" install -q -e ".${extras:+[$extras]}"
