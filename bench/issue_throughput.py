#!/usr/bin/env python3
"""Issue throughput of `mtlsctl issue`, and whether it stays flat as the PKI grows.

What it measures, in one run, in a fresh temporary directory:

1. mtlsctl: `ca init --no-passphrase`, then N client certificates (default
   10,000) issued one process at a time into the same PKI. Each `mtlsctl issue`
   process is timed with time.perf_counter() around subprocess.run(), so the
   figure includes process start-up, loading the issuing CA, generating an
   ECDSA P-256 key, signing, the fsynced file writes, the SQLite inventory
   insert and the audit line. It prints certificates/second for the first
   phase (default 1,000), for the whole run, and the mean time of the last
   100 issues divided by the mean time of the first 100 ("last/first"). The
   inventory looks everything up by an index, so per-issue cost should not
   grow with the number of certificates held: the target is last/first <= 1.2.

2. The openssl command line doing the same work per certificate, as a
   baseline: `openssl genpkey` (EC P-256 key), `openssl req -new` (CSR) and
   `openssl ca -batch` (signed by an intermediate, recorded in index.txt, the
   analog of mtlsctl's inventory). The three commands together are timed as
   one issue. Root and intermediate are made with openssl first. Same phases,
   same figures.

3. A summary table: mtlsctl certs/s divided by openssl certs/s per phase, and
   both last/first ratios.

For small counts the "100" windows shrink to min(100, count // 3).

Exit status: 0 on success; 2 if an mtlsctl (or openssl) command fails (its
stderr is printed); 1 if mtlsctl's last/first ratio is above 1.2.

Usage:
    python3 bench/issue_throughput.py [--mtlsctl PATH] [--count N]
        [--warmup-count M] [--skip-openssl]

Python 3.11 standard library only. No networking.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import DEFAULT_MTLSCTL, P256, CommandFailed, filesystem_of, openssl_ca, run, timed

TARGET_RATIO = 1.2

# Leaf validity: mtlsctl's default for the client profile is 90 days.
LEAF_DAYS = 90


@dataclass
class Result:
    """Per-issue timings (seconds) of one tool."""

    tool: str
    warmup: int
    window: int
    times: list[float] = field(default_factory=list)
    inventory: str = ""

    def rate(self, n: int) -> float:
        return n / sum(self.times[:n])

    def last_first(self) -> float:
        w = self.window
        return statistics.fmean(self.times[-w:]) / statistics.fmean(self.times[:w])

    def last_first_median(self) -> float:
        w = self.window
        return statistics.median(self.times[-w:]) / statistics.median(self.times[:w])


def progress(tool: str, i: int, total: int, times: list[float]) -> None:
    if i % 1000 == 0 or i == total:
        recent = times[-1000:]
        print(
            f"  [{tool}] {i:>6}/{total}  last {len(recent)}: {len(recent) / sum(recent):7.1f} certs/s",
            file=sys.stderr,
            flush=True,
        )


def report_phase(res: Result, n: int) -> None:
    t = res.times[:n]
    print(
        f"{res.tool}: {n} certificates in {sum(t):.2f} s = {res.rate(n):.1f} certs/s "
        f"(mean {statistics.fmean(t) * 1000:.2f} ms, median {statistics.median(t) * 1000:.2f} ms per issue)",
        flush=True,
    )


def report_ratio(res: Result) -> None:
    w = res.window
    first = statistics.fmean(res.times[:w]) * 1000
    last = statistics.fmean(res.times[-w:]) * 1000
    print(
        f"{res.tool}: mean of last {w} / mean of first {w} issues = "
        f"{last:.2f} ms / {first:.2f} ms = {res.last_first():.3f} "
        f"(medians: {res.last_first_median():.3f})",
        flush=True,
    )


def issue_loop(res: Result, total: int, one_issue) -> None:
    """Runs one_issue(i) for i in 1..total, timing each, reporting phase 1 on the way."""
    for i in range(1, total + 1):
        elapsed = one_issue(i)
        res.times.append(elapsed)
        progress(res.tool, i, total, res.times)
        if i == res.warmup:
            report_phase(res, res.warmup)
    report_phase(res, total)
    report_ratio(res)


# --------------------------------------------------------------------------- mtlsctl


def bench_mtlsctl(mtlsctl: Path, work: Path, total: int, warmup: int, window: int) -> Result:
    pki = work / "mtlsctl-pki"
    base = [str(mtlsctl), "--pki", str(pki), "-q"]
    run("mtlsctl", base + ["ca", "init", "--no-passphrase", "--name", "Bench"])
    res = Result("mtlsctl", warmup, window)

    def one(i: int) -> float:
        argv = base + ["issue", f"client-{i:05d}"]
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise CommandFailed("mtlsctl", argv, proc)
        return elapsed

    print(f"mtlsctl: issuing {total} client certificates into {pki}", flush=True)
    issue_loop(res, total, one)

    db = pki / "inventory.db"
    uri = f"file:{db}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute("SELECT count(*) FROM certificates").fetchone()[0]
    conn.close()
    res.inventory = f"inventory.db: {rows} records, {db.stat().st_size / 1024:.0f} KiB"
    print(f"mtlsctl: {res.inventory}", flush=True)
    if rows != total:
        print(f"error: mtlsctl inventory holds {rows} records, expected {total}", file=sys.stderr)
        sys.exit(2)
    return res


# --------------------------------------------------------------------------- openssl

def bench_openssl(openssl: str, work: Path, total: int, warmup: int, window: int) -> Result:
    d = work / "openssl-pki"
    # Root (self-signed) and intermediate (signed by the root).
    c = openssl_ca(openssl, d, days=LEAF_DAYS)

    res = Result("openssl", warmup, window)

    def one(i: int) -> float:
        name = f"client-{i:05d}"
        leaf = d / "certs" / name
        leaf.mkdir()
        key, csr, cert = str(leaf / "key.pem"), str(leaf / "req.csr"), str(leaf / "cert.pem")
        cmds = [
            [openssl, "genpkey", *P256, "-out", key],
            [openssl, "req", "-new", *c, "-key", key, "-subj", f"/CN={name}", "-out", csr],
            [openssl, "ca", "-batch", *c, "-rand_serial", "-notext", "-in", csr, "-out", cert],
        ]
        return timed("openssl", cmds)

    print(f"openssl: issuing {total} client certificates into {d}", flush=True)
    issue_loop(res, total, one)

    index = d / "index.txt"
    with index.open() as f:
        rows = sum(1 for _ in f)
    res.inventory = f"index.txt: {rows} records, {index.stat().st_size / 1024:.0f} KiB"
    print(f"openssl: {res.inventory}", flush=True)
    return res


# --------------------------------------------------------------------------- summary


def summary(m: Result, o: Result | None, total: int, warmup: int, window: int) -> None:
    def row(label: str, mv: str, ov: str, rv: str) -> None:
        print(f"| {label:<34} | {mv:>9} | {ov:>9} | {rv:>15} |")

    print()
    print(f"Summary: {total} issues, first phase {warmup}, last/first over windows of {window}")
    print()
    row("", "mtlsctl", "openssl", "mtlsctl/openssl")
    print(f"|{'-' * 36}|{'-' * 10}:|{'-' * 10}:|{'-' * 16}:|")
    for n in (warmup, total):
        mv = m.rate(n)
        ov = o.rate(n) if o else None
        row(
            f"certs/s, first {n}" if n != total else f"certs/s, all {n}",
            f"{mv:.1f}",
            f"{ov:.1f}" if ov else "-",
            f"{mv / ov:.2f}" if ov else "-",
        )
    row(
        f"mean last {window} / mean first {window}",
        f"{m.last_first():.3f}",
        f"{o.last_first():.3f}" if o else "-",
        "",
    )
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mtlsctl", type=Path, default=DEFAULT_MTLSCTL,
                    help=f"the mtlsctl binary (default: {DEFAULT_MTLSCTL})")
    ap.add_argument("--count", type=int, default=10_000, help="certificates to issue in total (default 10000)")
    ap.add_argument("--warmup-count", type=int, default=1_000,
                    help="certificates in the first phase (default 1000)")
    ap.add_argument("--skip-openssl", action="store_true", help="do not run the openssl baseline")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="parent of the temporary directory (default: the system temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    if args.count < 3:
        ap.error("--count must be at least 3")
    if not 1 <= args.warmup_count <= args.count:
        ap.error("--warmup-count must be between 1 and --count")
    mtlsctl = args.mtlsctl.resolve()
    if not os.access(mtlsctl, os.X_OK):
        print(f"error: {mtlsctl} is not an executable; build it with `cargo build --release`", file=sys.stderr)
        return 2
    openssl = None
    if not args.skip_openssl:
        openssl = shutil.which("openssl")
        if openssl is None:
            print("error: openssl not found on PATH (use --skip-openssl)", file=sys.stderr)
            return 2
    window = min(100, args.count // 3)

    work = Path(tempfile.mkdtemp(prefix="mtlsctl-bench-", dir=args.workdir))
    ver = run("mtlsctl", [str(mtlsctl), "--version"]).stdout.strip()
    print(f"binary:  {mtlsctl} ({ver})")
    if openssl:
        print(f"openssl: {openssl} ({run('openssl', [openssl, 'version']).stdout.strip()})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"workdir: {work} on {filesystem_of(work)}")
    print(flush=True)

    try:
        m = bench_mtlsctl(mtlsctl, work, args.count, args.warmup_count, window)
        print(flush=True)
        o = bench_openssl(openssl, work, args.count, args.warmup_count, window) if openssl else None
    except CommandFailed as e:
        print(f"\nerror: {e}", file=sys.stderr)
        print(e.proc.stderr.rstrip() or "(no stderr)", file=sys.stderr)
        print(f"(work directory left in place: {work})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted (work directory left in place: {work})", file=sys.stderr)
        return 130

    summary(m, o, args.count, args.warmup_count, window)
    if args.keep:
        print(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)

    ratio = m.last_first()
    if ratio > TARGET_RATIO:
        print(
            f"FAIL: mtlsctl's per-issue cost grew with the inventory: mean of the last {window} issues is "
            f"{ratio:.3f}x the mean of the first {window} (target <= {TARGET_RATIO})",
            file=sys.stderr,
        )
        return 1
    print(f"OK: mtlsctl last/first ratio {ratio:.3f} <= {TARGET_RATIO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
