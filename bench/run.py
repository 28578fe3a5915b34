#!/usr/bin/env python3
"""Stop-time benchmark: ptrace next to gdb and eu-stack on the same targets.

Three cases (`--cases`):
  - threads: the `threads` example (-O0 and -O2 builds, N threads each DEPTH frames deep, parked);
  - bigdwarf: a generated C++ program whose executable and shared libraries carry >= 300 MB of
    DWARF (bench/bigdwarf.py builds it once, cached under bench/build/), N threads each DEPTH
    frames deep through DEPTH different units, parked (build column "big");
  - core (not run unless asked): core files of `threads-O2 N DEPTH` written by gdb's `gcore`
    (`--core-threads`), one with glibc's default malloc arenas (a 64 MiB reservation per thread:
    about 3 GB for 256 threads) and one with MALLOC_ARENA_MAX=1 (small), read by `ptrace --core`
    (every variable), `gdb -batch -c CORE EXE -ex 'thread apply all bt full'` and
    `eu-stack -v --core CORE`: wall time and peak RSS only (nothing is stopped). The cores go
    under --core-dir (default: a temporary folder), removed afterwards.
  - view (not run unless asked): `ptrace view` on the snapshots of `threads-O2 N DEPTH`
    (`--view-threads`, every variable), in a pseudo-terminal of 80x24: the time from the start
    to the first screen (the file read, parsed, grouped and drawn), to the screen after a search
    over every thread (`/` and a value), after `t` (the next thread of the biggest group), and to
    the exit after `q`.
For each, it runs each tool several times and measures, per run:
  - wall time and peak RSS of the tool (GNU time),
  - the target's pause as seen from inside the target: the example's ticker thread timestamps
    itself every ~20 us and records the longest gap (THREADS_PAUSE_FILE),
  - for ptrace, also its own `timing.stopped_us`.
It prints one table of medians with the ratios to gdb. Nothing here asserts on time: it reports.

Usage: python3 bench/run.py [--cases threads,bigdwarf,core] [--threads 1,64,256,1024] [--depth 20]
                            [--runs 5] [--builds O0,O2] [--big-threads 1,256] [--ptrace PATH]
                            [--tools ptrace,gdb,eu-stack] [--core-threads 256] [--core-dir DIR]
                            [--view-threads 256,1024]
"""

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import bigdwarf  # noqa: E402
PTRACE = os.path.join(ROOT, "target", "release", "ptrace")
EVERY_VARIABLE_MODULE = os.path.join(ROOT, "bench", "every_variable.lua")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build(build_ptrace=True):
    if build_ptrace:
        sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    sh(["make", "-s", "-C", os.path.join(ROOT, "c-examples")])
    if shutil.which("eu-stack") is None:
        print("installing elfutils for eu-stack ...", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "elfutils"], check=False)


def ptrace_help():
    return subprocess.run([PTRACE, "--help"], capture_output=True, text=True).stdout


def tools(outdir):
    """(label, argv builder) for every tool configuration this build supports."""
    help_text = ptrace_help()
    configs = []
    if "--no-variables" in help_text:
        configs.append(("ptrace frames", lambda pid: [PTRACE, "--no-variables", "-O", outdir, str(pid)]))
        configs.append(("ptrace full", lambda pid: [PTRACE, "-O", outdir, str(pid)]))
    else:
        configs.append(("ptrace frames", lambda pid: [PTRACE, "-O", outdir, str(pid)]))
    if "--module-load" in help_text and os.path.exists(EVERY_VARIABLE_MODULE):
        configs.append(
            ("ptrace full+lua", lambda pid: [PTRACE, "--module-load", EVERY_VARIABLE_MODULE, "-O", outdir, str(pid)])
        )
    configs.append(("gdb bt full", lambda pid: ["gdb", "-nx", "-batch", "-p", str(pid), "-ex", "thread apply all bt full"]))
    if shutil.which("eu-stack"):
        configs.append(("eu-stack -v", lambda pid: ["eu-stack", "-v", "-p", str(pid)]))
    return configs


class Target:
    """A running `threads` example with its pause ticker."""

    def __init__(self, binary, threads, depth):
        self.pause_file = tempfile.NamedTemporaryFile(prefix="pause.", delete=False).name
        env = dict(os.environ, THREADS_PAUSE_FILE=self.pause_file)
        self.proc = subprocess.Popen([binary, str(threads), str(depth)], stdout=subprocess.PIPE, env=env)
        line = self.proc.stdout.readline().decode().strip()
        if line != "ready":
            raise RuntimeError(f"{binary} did not get ready: {line!r}")

    def reset_pause(self):
        with open(self.pause_file, "r+b") as f:
            f.write(struct.pack("<q", 0))

    def pause_us(self):
        with open(self.pause_file, "rb") as f:
            return struct.unpack("<q", f.read(8))[0] / 1000.0

    def close(self):
        self.proc.kill()
        self.proc.wait()
        os.unlink(self.pause_file)


def measure(argv, target):
    """One run: (wall s, peak RSS MB, pause ms, ptrace stopped ms or None)."""
    target.reset_pause()
    time.sleep(0.05)  # let the ticker settle after the reset
    target.reset_pause()
    timing = tempfile.NamedTemporaryFile(prefix="time.", delete=False).name
    result = subprocess.run(
        ["/usr/bin/time", "-o", timing, "-f", "%e %M"] + argv, capture_output=True, text=True
    )
    time.sleep(0.02)
    pause_ms = target.pause_us() / 1000.0
    with open(timing) as f:
        wall, rss_kb = f.read().split()[-2:]
    os.unlink(timing)
    stopped_ms = None
    if argv[0] == PTRACE:
        if result.returncode != 0:
            raise RuntimeError(f"ptrace failed: {result.stderr}")
        path = result.stdout.strip().splitlines()[-1]
        with open(path) as f:
            stopped_ms = json.load(f)["timing"]["stopped_us"] / 1000.0
        os.unlink(path)
    return float(wall), int(rss_kb) / 1024.0, pause_ms, stopped_ms


def write_core(binary, threads, depth, folder, arenas):
    """A gcore of `binary threads depth` (with MALLOC_ARENA_MAX=arenas when given) in folder."""
    env = dict(os.environ)
    if arenas:
        env["MALLOC_ARENA_MAX"] = str(arenas)
    proc = subprocess.Popen([binary, str(threads), str(depth)], stdout=subprocess.PIPE, env=env)
    try:
        line = proc.stdout.readline().decode().strip()
        if line != "ready":
            raise RuntimeError(f"{binary} did not get ready: {line!r}")
        prefix = os.path.join(folder, f"core-{threads}-{'arena1' if arenas else 'default'}")
        sh(["gcore", "-o", prefix, str(proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return f"{prefix}.{proc.pid}"
    finally:
        proc.kill()
        proc.wait()


def timed(argv):
    """(wall s, peak RSS MB) of one run of argv, which must succeed."""
    timing = tempfile.NamedTemporaryFile(prefix="time.", delete=False).name
    result = subprocess.run(["/usr/bin/time", "-o", timing, "-f", "%e %M"] + argv, capture_output=True, text=True)
    with open(timing) as f:
        wall, rss_kb = f.read().split()[-2:]
    os.unlink(timing)
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {result.stderr[-2000:]}")
    return float(wall), int(rss_kb) / 1024.0


def core_rows(args, outdir):
    """The core case: each tool on each core, medians of --runs runs (the first run of each
    tool reads the core from disk into the page cache; the median is of warm runs)."""
    binary = os.path.join(ROOT, "c-examples", "build", "threads-O2")
    folder = args.core_dir or tempfile.mkdtemp(prefix="bench-cores.")
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(outdir, "core.json")
    tools = [
        ("ptrace --core", lambda core: [PTRACE, "--core", core, "-o", out]),
        ("gdb -c bt full", lambda core: ["gdb", "-nx", "-batch", "-c", core, binary, "-ex", "thread apply all bt full"]),
        # Frames only: the same question without the variables.
        ("ptrace --core frames", lambda core: [PTRACE, "--core", core, "--no-variables", "-o", out]),
        ("gdb -c bt", lambda core: ["gdb", "-nx", "-batch", "-c", core, binary, "-ex", "thread apply all bt"]),
    ]
    if shutil.which("eu-stack"):
        tools.append(("eu-stack -v --core", lambda core: ["eu-stack", "-v", "--core", core, "-e", binary]))
    if args.tools:
        tools = [t for t in tools if any(t[0].startswith(x) for x in args.tools.split(","))]
    rows = []
    try:
        for n in [int(n) for n in args.core_threads.split(",")]:
            for arenas in (1, None):
                core = write_core(binary, n, args.depth, folder, arenas)
                size_mb = os.path.getsize(core) / 1e6
                try:
                    for label, make_argv in tools:
                        samples = [timed(make_argv(core)) for _ in range(args.runs + 1)][1:]
                        rows.append(
                            {"threads": n, "core_mb": size_mb, "tool": label,
                             "wall_s": statistics.median(s[0] for s in samples),
                             "rss_mb": statistics.median(s[1] for s in samples)}
                        )
                finally:
                    os.unlink(core)
    finally:
        if not args.core_dir:
            shutil.rmtree(folder, ignore_errors=True)
    # Each row against gdb doing the same: `bt` for frames only, `bt full` for the rest.
    gdb = {(r["threads"], r["core_mb"], r["tool"]): r for r in rows if r["tool"].startswith("gdb")}
    print(f"{'threads':>7} {'core MB':>8} {'tool':20} {'wall s':>8} {'RSS MB':>7} {'gdb/wall':>8}")
    for r in rows:
        same = "gdb -c bt" if r["tool"].endswith("frames") else "gdb -c bt full"
        g = gdb.get((r["threads"], r["core_mb"], same))
        ratio = f"{g['wall_s'] / r['wall_s']:.1f}x" if g and r["wall_s"] else "-"
        print(f"{r['threads']:>7} {r['core_mb']:8.0f} {r['tool']:20} {r['wall_s']:8.3f} {r['rss_mb']:7.1f} {ratio:>8}")
    return rows


def until_screen_shows(fd, text, limit_s=60.0):
    """Reads the terminal `fd` until `text` was written to it; the seconds it took."""
    import select
    start = time.monotonic()
    seen = b""
    while text.encode() not in seen:
        if time.monotonic() - start > limit_s:
            raise RuntimeError(f"the viewer never showed {text!r}")
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                seen = seen[-4096:] + os.read(fd, 65536)
            except OSError:
                raise RuntimeError(f"the viewer ended before showing {text!r}")
    return time.monotonic() - start


def until_redrawn(fd, quiet_s=0.3, limit_s=60.0):
    """Reads the terminal `fd` until nothing more comes for `quiet_s`; the seconds from the call
    to the last byte (the viewer draws a screen with one write)."""
    import select
    start = time.monotonic()
    last = None
    while time.monotonic() - start < limit_s:
        ready, _, _ = select.select([fd], [], [], quiet_s)
        if not ready:
            if last is not None:
                return last - start
            continue
        os.read(fd, 65536)
        last = time.monotonic()
    raise RuntimeError("the viewer never redrew")


def drain(fd, quiet_s=0.3):
    """Reads what the terminal `fd` still has until nothing comes for `quiet_s`."""
    import select
    while select.select([fd], [], [], quiet_s)[0]:
        os.read(fd, 65536)


def view_once(snapshot, search):
    """One run of `ptrace view snapshot` in an 80x24 pseudo-terminal: seconds to the first
    screen, to the first match of `search`, to the next thread's status after `t`, to the exit
    after `q`."""
    import fcntl
    import pty
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start = time.monotonic()
    proc = subprocess.Popen([PTRACE, "view", snapshot], stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, env=dict(os.environ, TERM="xterm-256color"))
    os.close(slave)
    try:
        until_screen_shows(master, "Stack groups (")
        opened = time.monotonic() - start
        os.write(master, f"/{search}\r".encode())
        searched = until_screen_shows(master, "match 1 of ")
        drain(master)
        # The first match is in the biggest group: `t` shows its next thread.
        os.write(master, b"t")
        stepped = until_redrawn(master)
        begin = time.monotonic()
        os.write(master, b"q")
        proc.wait(timeout=60)
        quit_s = time.monotonic() - begin
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    return opened, searched, stepped, quit_s


def view_rows(args, outdir):
    """The view case: medians of --runs runs per snapshot size."""
    binary = os.path.join(ROOT, "c-examples", "build", "threads-O2")
    rows = []
    for n in [int(n) for n in args.view_threads.split(",")]:
        target = Target(binary, n, args.depth)
        snapshot = os.path.join(outdir, f"view-{n}.json")
        try:
            sh([PTRACE, "-o", snapshot, str(target.proc.pid)], capture_output=True)
        finally:
            target.close()
        size_mb = os.path.getsize(snapshot) / 1e6
        # `window` is a local of every threads_recurse frame: the search walks every thread.
        samples = [view_once(snapshot, "window") for _ in range(args.runs)]
        rows.append({"threads": n, "snapshot_mb": size_mb,
                     **{k: statistics.median(s[i] for s in samples)
                        for i, k in enumerate(["open_s", "search_s", "next_thread_s", "quit_s"])}})
        os.unlink(snapshot)
    print(f"{'threads':>7} {'JSON MB':>8} {'open ms':>8} {'search ms':>9} {'t ms':>6} {'q ms':>6}")
    for r in rows:
        print(f"{r['threads']:>7} {r['snapshot_mb']:8.1f} {r['open_s'] * 1e3:8.0f} {r['search_s'] * 1e3:9.1f} "
              f"{r['next_thread_s'] * 1e3:6.2f} {r['quit_s'] * 1e3:6.1f}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,64,256,1024")
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--builds", default="O0,O2", help="threads case: which builds")
    parser.add_argument("--cases", default="threads,bigdwarf", help="threads, bigdwarf, core, view (comma-separated)")
    parser.add_argument("--big-threads", default="1,256", help="bigdwarf case: thread counts")
    parser.add_argument("--json", help="also write the raw medians here")
    parser.add_argument("--tools", help="only the tools whose label starts with one of these (e.g. ptrace,gdb)")
    parser.add_argument("--ptrace", help="measure this ptrace binary (not built) instead of target/release/ptrace")
    parser.add_argument("--core-threads", default="256", help="core case: thread counts")
    parser.add_argument("--core-dir", help="core case: where the cores are written (default: a temporary folder)")
    parser.add_argument("--view-threads", default="256,1024", help="view case: thread counts")
    args = parser.parse_args()

    global PTRACE
    if args.ptrace:
        PTRACE = os.path.abspath(args.ptrace)
    build(build_ptrace=not args.ptrace)
    cases = args.cases.split(",")
    targets = []
    if "threads" in cases:
        for opt in args.builds.split(","):
            binary = os.path.join(ROOT, "c-examples", "build", "threads" + ("-O2" if opt == "O2" else ""))
            targets += [(opt, binary, int(n)) for n in args.threads.split(",")]
    if "bigdwarf" in cases:
        binary = bigdwarf.build()
        targets += [("big", binary, int(n)) for n in args.big_threads.split(",")]
    outdir = tempfile.mkdtemp(prefix="bench.")
    core_results = core_rows(args, outdir) if "core" in cases else []
    core_results += view_rows(args, outdir) if "view" in cases else []
    configs = tools(outdir)
    if args.tools:
        configs = [c for c in configs if any(c[0].startswith(t) for t in args.tools.split(","))]
    rows = []
    for opt, binary, n in targets:
        target = Target(binary, n, args.depth)
        try:
            for label, make_argv in configs:
                samples = [measure(make_argv(target.proc.pid), target) for _ in range(args.runs)]
                med = lambda i: statistics.median(s[i] for s in samples) if samples[0][i] is not None else None
                rows.append(
                    {"build": opt, "threads": n, "tool": label, "wall_s": med(0), "rss_mb": med(1),
                     "pause_ms": med(2), "stopped_ms": med(3)}
                )
        finally:
            target.close()

    if rows:
        gdb = {(r["build"], r["threads"]): r for r in rows if r["tool"] == "gdb bt full"}
        print(f"{'build':5} {'threads':>7} {'tool':16} {'wall s':>8} {'pause ms':>9} {'stopped ms':>10} {'RSS MB':>7} {'gdb/pause':>9} {'gdb/wall':>8}")
        for r in rows:
            g = gdb.get((r["build"], r["threads"]))
            ratio_pause = f"{g['pause_ms'] / r['pause_ms']:.1f}x" if g and r["pause_ms"] else "-"
            ratio_wall = f"{g['wall_s'] / r['wall_s']:.1f}x" if g and r["wall_s"] else "-"
            stopped = f"{r['stopped_ms']:.2f}" if r["stopped_ms"] is not None else "-"
            print(
                f"{r['build']:5} {r['threads']:>7} {r['tool']:16} {r['wall_s']:8.2f} {r['pause_ms']:9.2f} {stopped:>10} "
                f"{r['rss_mb']:7.1f} {ratio_pause:>9} {ratio_wall:>8}"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows + core_results, f, indent=2)
    shutil.rmtree(outdir, ignore_errors=True)


if __name__ == "__main__":
    main()
