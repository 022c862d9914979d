#!/usr/bin/env python3
"""Split `perf record -e cpu-clock` samples of `podip run` into the concerns of
benches/callgrind_concerns.py: where the wall time goes, where that script
says where the instructions go. A software clock, so it works on a VM without
hardware counters.

    perf record -F 20000 -e cpu-clock -o perf.data -- bash -c 'for i in 1 2 3 4 5 6 7 8; do
        target/release/podip run benches/peer-churn.yaml --out /tmp/pc --force --no-charts; done'
    python3 benches/perf_concerns.py perf.data target/release/podip

Each sample's address is rebased per process (address-space randomisation
loads the binary elsewhere in every run) and named by `addr2line`, which gives
the innermost inlined source line: code inlined from a crate counts for that
crate, as in the callgrind split.
"""

import collections
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from callgrind_concerns import concern  # noqa: E402


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: perf_concerns.py PERF.DATA PODIP-BINARY")
    data, binary = sys.argv[1], sys.argv[2]
    script = subprocess.run(["perf", "script", "-i", data, "-F", "pid,ip,sym,symoff,dso"],
                            capture_output=True, text=True, check=True).stdout
    # A process's load address comes from a sample in a function whose
    # demangled name is unique in the binary (generic code repeats names).
    addresses_of = collections.defaultdict(set)
    for line in subprocess.run(["nm", "-C", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        address, _, name = line.split(" ", 2) if line.count(" ") >= 2 else ("", "", "")
        if address:
            addresses_of[name].add(int(address, 16))
    symbols = {name: min(found) for name, found in addresses_of.items() if len(found) == 1}
    target = str(Path(binary).resolve())  # perf names the binary by its absolute path
    total, elsewhere = 0, 0
    bases: dict[int, int] = {}
    samples = []
    for line in script.splitlines():
        total += 1
        match = re.match(r"\s*(\d+)\s+([0-9a-f]+) (.*)\+0x([0-9a-f]+) \((.*)\)$", line)
        if not match or match.group(5) != target:
            elsewhere += 1
            continue
        pid, ip, symbol, offset = int(match.group(1)), int(match.group(2), 16), match.group(3), int(match.group(4), 16)
        if pid not in bases and symbol in symbols:
            bases[pid] = ip - symbols[symbol] - offset
        samples.append((pid, ip))
    counts = collections.Counter(ip - bases[pid] for pid, ip in samples if pid in bases)
    elsewhere += sum(1 for pid, _ in samples if pid not in bases)
    addresses = sorted(counts)
    names = subprocess.run(["addr2line", "-e", binary, "-f", "-C", *map(hex, addresses)],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    totals: collections.Counter = collections.Counter()
    for i, address in enumerate(addresses):
        function, location = names[2 * i], names[2 * i + 1]
        totals[concern(location, function)] += counts[address]
    totals["kernel, loader and other processes"] += elsewhere
    print(f"{total} samples from {len(bases)} processes")
    for name, count in totals.most_common():
        print(f"{name:40s} {100 * count / total:5.1f} %")


if __name__ == "__main__":
    main()
