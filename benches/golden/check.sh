#!/bin/bash
# Golden output hashes for optimisation work (docs/performance.md): runs every
# bundled scenario and `compare` on growth-compare.yaml with all five allocators,
# CSV only, and prints the sha256 of every CSV. An optimisation must leave this
# list unchanged:
#   cargo build --release && benches/golden/check.sh target/release/podip | diff benches/golden/sha256.txt -
set -euo pipefail
bin=$(realpath "${1:-target/release/podip}")
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for scenario in scenarios/*.yaml; do
  stem=$(basename "$scenario" .yaml)
  "$bin" run "$scenario" --out "$tmp/$stem" --force --no-charts >"$tmp/$stem.log" 2>&1 || echo "FAILED $stem"
done
"$bin" compare scenarios/growth-compare.yaml --allocators node-subnet,dynamic,static-block,kubenet,overlay \
  --out "$tmp/compare" --force --no-charts >"$tmp/compare.log" 2>&1 || echo "FAILED compare"
(cd "$tmp" && find . -name '*.csv' | LC_ALL=C sort | xargs sha256sum)
