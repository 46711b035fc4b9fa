#!/usr/bin/env bash
# mtsa vs PyTorch eager on the same network, interleaved (A B A B ...) so load from other
# processes hits both sides alike; prints mtsa/pytorch median-time ratios (< 1: mtsa faster).
#
#   bench/compare.sh [--threads 2] [--rounds 3] [--presets "tiny small paper"] \
#                    [--modes "infer train"] [--train-presets "tiny small"] [--out DIR] \
#                    [--mtsa-args "--layout nhwc"] [--torch-args "--channels-last"]
#
# Needs target/release/mtsa (cargo build --release -p mtsa-cli) and .venv-bench
# (scripts/setup --bench). Each round runs every (preset, mode) once per side; the ratio uses
# the median over rounds of each run's median. Raw JSON lines go to DIR/results.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=2
ROUNDS=3
PRESETS="tiny small paper"
MODES="infer train"
TRAIN_PRESETS="tiny small"
OUT=target/bench
MTSA_ARGS=""
TORCH_ARGS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --presets) PRESETS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --train-presets) TRAIN_PRESETS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --mtsa-args) MTSA_ARGS=$2; shift 2 ;;
    --torch-args) TORCH_ARGS=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

MTSA=${MTSA:-target/release/mtsa}
PY=${PY:-.venv-bench/bin/python}
[ -x "$MTSA" ] || { echo "compare.sh: $MTSA missing: cargo build --release -p mtsa-cli" >&2; exit 1; }
[ -x "$PY" ] || { echo "compare.sh: $PY missing: scripts/setup --bench" >&2; exit 1; }

# Iterations per (preset, mode): enough for a median, few enough for the paper preset.
iters() {
  case "$1:$2" in
    tiny:infer) echo 20 ;; small:infer) echo 10 ;; paper:infer) echo 5 ;;
    tiny:train) echo 10 ;; small:train) echo 5 ;; paper:train) echo 3 ;;
  esac
}

mkdir -p "$OUT"
RES="$OUT/results.jsonl"
: > "$RES"
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS MTSA_LOG=warn
for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    presets=$PRESETS
    [ "$mode" = train ] && presets=$TRAIN_PRESETS
    for preset in $presets; do
      n=$(iters "$preset" "$mode")
      # Alternate which side goes first so neither always runs on a warmer machine.
      if [ $((round % 2)) -eq 1 ]; then order="mtsa torch"; else order="torch mtsa"; fi
      for side in $order; do
        echo "round $round: $side $preset $mode ($n iters)" >&2
        if [ "$side" = mtsa ]; then
          # shellcheck disable=SC2086
          "$MTSA" --threads "$THREADS" bench --preset "$preset" --mode "$mode" --iters "$n" --json $MTSA_ARGS >> "$RES"
        else
          # shellcheck disable=SC2086
          "$PY" bench/pytorch_reference.py --threads "$THREADS" --preset "$preset" --mode "$mode" --iters "$n" --json $TORCH_ARGS >> "$RES"
        fi
      done
    done
  done
done

"$PY" - "$RES" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cells = {}
for r in rows:
    cells.setdefault((r["preset"], r["mode"]), {}).setdefault(r["tool"], []).append(r)
order = {"tiny": 0, "small": 1, "paper": 2}
print(f"{'preset':<7} {'mode':<6} {'mtsa med s':>11} {'torch med s':>12} {'ratio':>6}  {'mtsa sl/s':>9} {'torch sl/s':>10} {'mtsa GF/s':>9} {'mtsa RSS':>8} {'torch RSS':>9}  rounds")
for (preset, mode) in sorted(cells, key=lambda k: (k[1], order.get(k[0], 9))):
    c = cells[(preset, mode)]
    m, t = c.get("mtsa", []), c.get("pytorch", [])
    if not m or not t:
        continue
    mm = statistics.median(r["median_s"] for r in m)
    tm = statistics.median(r["median_s"] for r in t)
    spi = m[0]["slices_per_iter"]
    print(f"{preset:<7} {mode:<6} {mm:>11.4f} {tm:>12.4f} {mm / tm:>6.2f}  {spi / mm:>9.2f} {spi / tm:>10.2f} "
          f"{statistics.median(r['gflops_per_s'] for r in m):>9.1f} {max(r['peak_rss_mib'] or 0 for r in m):>7.0f}M "
          f"{max(r['peak_rss_mib'] or 0 for r in t):>8.0f}M  {len(m)}/{len(t)}")
print(f"(threads {rows[0]['threads']}; ratio = mtsa median / pytorch median, < 1 means mtsa is faster)")
EOF
