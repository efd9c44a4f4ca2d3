#!/usr/bin/env bash
# Loop settings side by side on one GPU: one benchmarks/efficacy.py process per setting, all
# at once, each running VARIANTS (default critic,oracle: the second from the first's
# bootstrap) at SEEDS (default 0):
#
#   KEEP=DIR bash benchmarks/gpu_sweep.sh "defaults=" "p128=run.prompts_per_level=128" \
#       "p128-r10=run.prompts_per_level=128 run.replay=10"
#
# Each argument is NAME=SETTINGS (space-separated `seal --set` overrides, none for the
# defaults). Every finished run is appended to KEEP/NAME.jsonl as it finishes, so a sweep cut
# off at DEADLINE seconds keeps what finished; tabulate anywhere with
# `python benchmarks/efficacy.py --from KEEP/NAME.jsonl`. Logs go to LOGS/NAME.log (default
# KEEP; their ends are printed at the end). All settings share the GPU and its
# cores, so their wall times are comparable with each other, not with a run alone.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: KEEP=DIR bash benchmarks/gpu_sweep.sh NAME=SETTINGS ..."; exit 2; }
PY=${PYTHON:-python}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
for spec in "$@"; do  # every name checked before anything starts
  name=${spec%%=*}
  case $spec in *=*) ;; *) echo "error: '$spec' is not NAME=SETTINGS"; exit 2;; esac
  case $name in ""|*[!A-Za-z0-9._-]*) echo "error: setting name '$name': use letters, digits, . _ -"; exit 2;; esac
done
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || { echo "error: no GPU"; exit 2; }
KEEP=${KEEP:-$(mktemp -d)}
LOGS=${LOGS:-$KEEP}
mkdir -p "$KEEP" "$LOGS"
names=()
for spec in "$@"; do
  name=${spec%%=*}
  settings=${spec#*=}
  sets=()
  for kv in $settings; do sets+=(--set "$kv"); done
  echo "== $name: ${settings:-defaults} ($(date +%T))"
  TMPDIR=$(mktemp -d) timeout "${DEADLINE:-520}" "$PY" benchmarks/efficacy.py --no-append \
    --seeds "${SEEDS:-0}" --parallel 3 --variants "${VARIANTS:-critic,oracle}" \
    --keep "$KEEP/$name.jsonl" --set model.device=cuda --set sampling.batch_size=512 \
    "${sets[@]}" > "$LOGS/$name.log" 2>&1 &
  names+=("$name")
done
wait
for name in "${names[@]}"; do
  echo "== $name ($(date +%T))"
  grep -E "seed [0-9]+:|Error|error" "$LOGS/$name.log" | tail -n 5
  [ -s "$KEEP/$name.jsonl" ] && "$PY" benchmarks/efficacy.py --from "$KEEP/$name.jsonl" --no-append \
    | grep -E "^\|" || tail -n 5 "$LOGS/$name.log"
done
