#!/usr/bin/env python3
"""Compares the stop of two (or more) ptrace binaries on one running target.

Starts `c-examples/build/threads-O2 THREADS DEPTH`, then snapshots it PAIRS times with each binary
in turn (alternating, so that both meet the same machine load), and prints for each binary the
median, minimum and mean of `timing.stopped_us` in milliseconds. Extra arguments after `--` go to
every ptrace run (e.g. `-- --no-variables`).

    python3 bench/ab.py /tmp/ptrace-before target/release/ptrace --pairs 30

Build the c-examples first (`make -C c-examples`). An A/B comparison is what a change to the stop
is judged by: the noise of a loaded machine is larger than most differences, and alternating
cancels its drift.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binaries", nargs="+", help="ptrace binaries to compare")
    parser.add_argument("--pairs", type=int, default=20, help="snapshots by each binary")
    parser.add_argument("--threads", type=int, default=256)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--program", default=os.path.join(ROOT, "c-examples", "build", "threads-O2"))
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    target = subprocess.Popen(
        [args.program, str(args.threads), str(args.depth)], stdout=subprocess.PIPE
    )
    try:
        # The program prints a line once every thread is blocked.
        target.stdout.readline()
        time.sleep(1)
        stopped = {binary: [] for binary in args.binaries}
        with tempfile.TemporaryDirectory() as folder:
            out = os.path.join(folder, "snapshot.json")
            for _ in range(args.pairs):
                for binary in args.binaries:
                    subprocess.run(
                        [binary, *extra, "-o", out, str(target.pid)],
                        check=True,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    with open(out) as f:
                        stopped[binary].append(json.load(f)["timing"]["stopped_us"] / 1000)
    finally:
        target.kill()
        target.wait()
    for binary, values in stopped.items():
        print(
            f"{binary}: stopped ms median {statistics.median(values):.2f} "
            f"min {min(values):.2f} mean {statistics.mean(values):.2f} ({len(values)} snapshots)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
