#!/usr/bin/env bash
# Issue 13's comparison rows on one GPU in under 10 minutes, without the hub:
#
#   KEEP=DIR bash benchmarks/gpu_efficacy.sh     # PYTHON=... to pick the interpreter
#
# 1. benchmarks/efficacy.py: critic, oracle, none at 3 seeds, majority at seed 0 (the
#    defaults of `seal run`; three seeds side by side on the one GPU, each seed's later
#    variants from its critic run's bootstrap). Each finished run is appended to
#    KEEP/efficacy.jsonl, so a run cut off at the deadline keeps what finished; tabulate on
#    any machine with `python benchmarks/efficacy.py --from KEEP/efficacy.jsonl`.
# 2. benchmarks/trl_grpo.py beside it: TRL's GRPOTrainer on the same model and frontier
#    prompts for TRL_MINUTES (about one `seal run` here), with the verifier as reward and,
#    once seed 0's critic is trained, with that critic. KEEP/trl-*.json, and the tables.
# Every process shares the GPU (and its 16 cores), so the wall times of 1 and 2 are
# measured under the same load.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || { echo "no GPU"; exit 2; }
KEEP=${KEEP:-$(mktemp -d)}
DEADLINE=${DEADLINE:-520}
mkdir -p "$KEEP"
root=$(mktemp -d)
echo "== efficacy ($(date +%T)); kept in $KEEP"
TMPDIR=$root timeout "$DEADLINE" "$PY" benchmarks/efficacy.py --parallel 3 --seeds 0,1,2 \
  --variants critic,oracle,none,majority --keep "$KEEP/efficacy.jsonl" \
  --set model.device=cuda --set sampling.batch_size=512 > "$KEEP/efficacy.log" 2>&1 &
eff=$!
trl() {  # reward, then its extra flags
  local reward=$1; shift
  timeout "$((DEADLINE - 20))" "$PY" benchmarks/trl_grpo.py --reward "$reward" "$@" \
    --minutes "${TRL_MINUTES:-3}" --batch-prompts 8 --json "$KEEP/trl-$reward.json" \
    > "$KEEP/trl-$reward.log" 2>&1
  tail -n 12 "$KEEP/trl-$reward.log"
}
if "$PY" -c "import trl" 2>/dev/null; then
  trl verifier &
  critic=
  while kill -0 "$eff" 2>/dev/null; do  # seed 0's critic, once `seal run` has saved it
    critic=$(ls -d "$root"/seal-efficacy-*/seed-0/critic/critic-0 2>/dev/null | head -n 1)
    [ -n "$critic" ] && [ -f "$critic/metrics.json" ] && break
    sleep 5
  done
  [ -n "$critic" ] && trl critic --critic "$critic" &
else
  echo "TRL is not installed: pip install trl datasets to add its rows"
fi
wait "$eff"
echo "== efficacy exited $? ($(date +%T))"
grep -E "seed [0-9]+:|^\|" "$KEEP/efficacy.log"
wait
echo "== done ($(date +%T))"
