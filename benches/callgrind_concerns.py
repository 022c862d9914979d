#!/usr/bin/env python3
"""Split a callgrind profile of `podip run` into the concerns of
docs/performance.md (sixth round): queue, scheduler index, allocator, tracker,
draws, and the model (pods, nodes, the event loop).

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        target/release/podip run benches/peer-churn.yaml --out /tmp/pc --force --no-charts
    python3 benches/callgrind_concerns.py cg.out 1898875

or, for a cachegrind profile with its cache and branch simulation, one of its
events (simulated branch mispredictions `Bcm` and `Bim`, L1 data misses
`D1mr` and `D1mw`):

    valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes \
        --cachegrind-out-file=cgr.out target/release/podip run benches/peer-churn.yaml ...
    python3 benches/callgrind_concerns.py cgr.out 1898875 Bcm

Instructions are counted where they were written (callgrind's file:function,
self cost): code inlined from a crate counts for that crate. Standard-library
helpers inlined into a function count for the function's concern, so
`Tracker::observe`'s `bool::then` and `max`, inlined into `World::run`, count
as the model's: the tracker's figure is a floor.
"""

import collections
import re
import subprocess
import sys


# The draws' functions, by name (`churn_arrival`, also `churn_`, is the model's).
DRAW_FUNCTIONS = ("churn_draws", "churn_gap", "sample_lifetime", "millis")


def concern(path: str, function: str) -> str:
    if "engine/src/" in path:
        return "queue"
    if "cluster/src/load.rs" in path:
        return "scheduler index"
    if any(part in path for part in ("dynamic/src", "net/src", "allocator/src")):
        return "allocator"
    if "cluster/src/record.rs" in path:
        return "tracker"
    if any(part in path for part in ("exp1.rs", "world/draws.rs", "rand", "chacha", "sse2.rs", "avx2.rs", "libm")):
        return "draws"
    if "workloads.rs" in path and any(name in function for name in DRAW_FUNCTIONS):
        return "draws"  # before 20ea1c4 the draws were in workloads.rs
    if "/rustc/" in path:
        # A standard-library helper: the function it was inlined into decides.
        for needle, name in (("load", "scheduler index"), ("queue", "queue"), ("Tracker", "tracker"),
                             ("dynamic", "allocator"), ("index_pool", "allocator"), ("range::", "allocator"),
                             ("churn_draws", "draws"), ("churn_gap", "draws"), ("rand", "draws"), ("cluster::", "model (pods, nodes, event loop)")):
            if needle in function:
                return name
        return "other (std, start-up, output)"
    if "crates/cluster" in path:
        return "model (pods, nodes, event loop)"
    return "other (std, start-up, output)"


def main() -> None:
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: callgrind_concerns.py CALLGRIND.OUT EVENTS\n"
                 "       callgrind_concerns.py CACHEGRIND.OUT EVENTS Ir|Bcm|Bim|D1mr|D1mw|...")
    events = int(sys.argv[2])
    if len(sys.argv) == 4:
        counter = sys.argv[3]
        command = ["cg_annotate", f"--show={counter}", f"--sort={counter}", "--threshold=0", "--auto=no"]
    else:
        command = ["callgrind_annotate", "--auto=no", "--threshold=100"]
    listing = subprocess.run([*command, sys.argv[1]], capture_output=True, text=True, check=True).stdout
    totals: collections.Counter = collections.Counter()
    program = 0
    for line in listing.splitlines():
        match = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)", line)
        if not match:
            continue
        count, rest = int(match.group(1).replace(",", "")), match.group(2)
        if "PROGRAM TOTALS" in rest:
            program = count
            continue
        path, _, function = rest.partition(":")
        totals[concern(path, function)] += count
    def row(name: str, count: int) -> None:
        per = count / events
        print(f"{name:32s} {count / 1e6:8.1f} M {per:8.0f} per event" if per >= 10 else
              f"{name:32s} {count / 1e6:8.1f} M {per:8.2f} per event")

    row("whole run", program)
    for name, count in totals.most_common():
        row(name, count)


if __name__ == "__main__":
    main()
