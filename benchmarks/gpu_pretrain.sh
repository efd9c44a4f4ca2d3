#!/usr/bin/env bash
# Pre-training recipes for the embedded model side by side on one GPU, each then profiled
# (issue 17: where is the edge of competence?), in under 10 minutes, without the hub:
#
#   OUT=DIR bash benchmarks/gpu_pretrain.sh "s0=pretrain.stretch_share=0" \
#       "s05=pretrain.stretch_share=0.005" ...
#
# Each argument is NAME=SETTINGS (space-separated `seal pretrain-tiny --set` overrides). Every
# variant trains at once (`--device cuda`; with MPS where `nvidia-cuda-mps-control -d` works,
# else time-sliced: four full recipes took 349-369 s on an H100 with MPS), stopped after
# TRAIN_SECONDS (420); then benchmarks/level_profile.py (PROFILE_SECONDS, 240) gives greedy
# accuracy on PROFILE_LEVELS (1-8) and maj@16 / pass@16 / distinct right paths on
# PROFILE_SAMPLED (6-8), PROBLEMS (200) a level. The tables are printed; OUT/runs.tgz holds
# them (NAME.profile.txt), the logs and pretrain.json files; the KEEP (3) variants whose
# greedy on BAND_LEVEL (6: the first level above the default recipe's pre-training) is
# closest to 50% come back as OUT/NAME.model.tgz.partNN (split under 16 MiB:
# `cat NAME.model.tgz.part* | tar xz`). Weights trained on a GPU differ from the CPU
# recipe's (summation order): the profiles compare recipes. DEVICE=cpu runs it all on the
# CPU (the test suite does, with a toy recipe).
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: OUT=DIR bash benchmarks/gpu_pretrain.sh NAME=SETTINGS ..."; exit 2; }
PY=${PYTHON:-python}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
for spec in "$@"; do
  name=${spec%%=*}
  case $spec in *=*) ;; *) echo "error: '$spec' is not NAME=SETTINGS"; exit 2;; esac
  case $name in ""|*[!A-Za-z0-9_-]*) echo "error: variant name '$name': use letters, digits, _ -"; exit 2;; esac
done
DEVICE=${DEVICE:-cuda}  # DEVICE=cpu: a smoke test of the script itself
[ "$DEVICE" = cpu ] || nvidia-smi --query-gpu=name,memory.total --format=csv,noheader \
  || { echo "error: no GPU"; exit 2; }
OUT=${OUT:-$(mktemp -d)}
work=$(mktemp -d)
mkdir -p "$OUT"
# MPS lets the processes' kernels overlap instead of time-slicing; optional
[ "$DEVICE" != cpu ] && nvidia-cuda-mps-control -d 2>/dev/null && echo "MPS on" || echo "MPS not available"
t0=$(date +%s)
for spec in "$@"; do
  name=${spec%%=*}
  sets=()
  for kv in ${spec#*=}; do sets+=(--set "$kv"); done
  (
    timeout "${TRAIN_SECONDS:-420}" "$PY" -m seal.cli pretrain-tiny --out "$work/$name" --force \
      --device "$DEVICE" "${sets[@]}" > "$work/$name.log" 2>&1 || { echo "$name: training failed"; exit 1; }
    echo "$name trained in $(( $(date +%s) - t0 )) s"
    timeout "${PROFILE_SECONDS:-240}" "$PY" benchmarks/level_profile.py --model "$work/$name" \
      --levels "${PROFILE_LEVELS:-1-8}" --sample-levels "${PROFILE_SAMPLED:-6-8}" --samples 16 --problems "${PROBLEMS:-200}" \
      --device "$DEVICE" --batch 512 --no-append > "$work/$name.profile.txt" 2>&1
    echo "$name profiled in $(( $(date +%s) - t0 )) s"
  ) &
done
wait
for spec in "$@"; do
  name=${spec%%=*}
  echo "== $name: ${spec#*=}"
  grep -E "^\|" "$work/$name.profile.txt" | head -n 12 || tail -n 5 "$work/$name.log"
done
tar czf "$OUT/runs.tgz" -C "$work" --exclude='*.safetensors' .
# the variants closest to the band's middle come back whole
"$PY" - "$work" "${KEEP:-3}" "${BAND_LEVEL:-6}" "$@" <<'PYEOF' | while read -r name; do
import re, sys
from pathlib import Path
work, keep, band = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
names = [a.split("=")[0] for a in sys.argv[4:]]
scored = []
for n in names:
    f = work / f"{n}.profile.txt"
    row = re.compile(rf"\| {band} \|")
    rows = [r for r in f.read_text().splitlines() if row.match(r)] if f.exists() else []
    if rows:
        scored.append((abs(float(rows[0].split("|")[3]) - 50), n))
for _, n in sorted(scored)[:keep]:
    print(n)
PYEOF
  tar czf - -C "$work" "$name" | split -b 15m -d - "$OUT/$name.model.tgz.part"
  echo "kept $name"
done
rm -rf "$work"
