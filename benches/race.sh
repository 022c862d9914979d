#!/usr/bin/env bash
# The side-by-side race of docs/performance.md (sixth to eighth rounds), in
# one run on one machine: the SimPy peer three times, then each podip binary
# given, alternated seven times, then the floor (benches/floor.rs, the same
# replay written for this kind of scenario alone; its hourly samples must equal
# the last podip's), then the bare parts (the churn's draws, alone and with
# each queue), then the heap baseline. Whole-process wall clock and
# peak RSS.
#
#   python3 -m venv /tmp/peers-venv && /tmp/peers-venv/bin/pip install simpy==4.1.2
#   (cd ../shared/peers/heap_baseline && CARGO_TARGET_DIR=/tmp/heap cargo build --release)
#   cargo build --release -p benches --example churn_floor
#   benches/race.sh /tmp/podip-before target/release/podip
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-../shared/peers}
PYTHON=${PYTHON:-/tmp/peers-venv/bin/python}
HEAP=${HEAP:-/tmp/heap/release/heap_baseline}
FLOOR=${FLOOR:-target/release/examples/churn_floor}
[ $# -ge 1 ] || { echo "usage: benches/race.sh PODIP [PODIP ...]" >&2; exit 2; }
ARGS="--nodes 100 --max-pods 250 --pod-subnet-prefix 16 --arrivals-per-hour 20000 \
--mean-lifetime-s 3600 --duration-s 172800 --sample-every-s 3600 --seed 1"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== SimPy"
for _ in 1 2 3; do
  # shellcheck disable=SC2086
  /usr/bin/time -f "process %e s, %M KiB" "$PYTHON" "$PEERS/simpy_churn.py" $ARGS --out "$out/simpy.csv" 2>&1 | tail -2 | tr '\n' ' '
  echo
done
echo "== podip, alternated"
for _ in $(seq 7); do
  for bin in "$@"; do
    echo -n "$bin: "
    /usr/bin/time -f "process %e s, %M KiB" "$bin" run benches/peer-churn.yaml --out "$out/podip" --force --no-charts 2>&1 | grep -v wrote | tr '\n' ' '
    echo
  done
done
echo "== floor"
newest=${!#}
"$newest" run benches/peer-churn.yaml --out "$out/newest" --force --no-charts > "$out/newest.log" 2>&1 ||
  { cat "$out/newest.log" >&2; exit 1; }
# The floor prints its samples as time_s,allocated,in_use, then a summary.
"$FLOOR" | grep -E '^[0-9]+,' > "$out/floor.csv"
awk -F, '$3 == "pods" {print $1 "," $6 "," $7}' "$out/newest/utilization.csv" | diff -q - "$out/floor.csv" > /dev/null ||
  { echo "the floor's samples differ from $newest's utilization.csv" >&2; exit 1; }
for _ in $(seq 7); do
  /usr/bin/time -f "$FLOOR: process %e s, %M KiB" "$FLOOR" 2>&1 > /dev/null
done
# What no exact replay can drop (docs/performance.md, eighth round): the churn's
# draws alone, then with the engine's queue, then with benches::calendar.
echo "== bare parts"
for part in --draws --draws-and-queue --draws-and-calendar; do
  for _ in 1 2 3; do
    /usr/bin/time -f "$FLOOR $part: process %e s, %M KiB" "$FLOOR" "$part" 2>&1 > /dev/null
  done
done
echo "== heap baseline"
for pending in 2e4 1e6; do "$HEAP" --pending "$pending" --holds 2e7; done
