#!/usr/bin/env python3
"""Revoking one more certificate when the CRL already holds 100,000 entries: mtlsctl vs `openssl ca`.

What it measures, in one run, in a fresh temporary directory:

1. mtlsctl: `ca init --no-passphrase`, `--repeat` real client certificates
   (`issue certN`), then `--entries` synthetic revoked certificates (default
   100,000) inserted straight into the SQLite inventory in one transaction,
   and one `mtlsctl crl` so the intermediate's CRL on disk lists them all.
   Then each real certificate is revoked with `mtlsctl -q revoke certN
   --reason key-compromise`, one process at a time, timed with
   time.perf_counter() around subprocess.run(). One revoke is the whole
   operation: process start-up, loading the issuing CA, reading the revoked
   entries from the inventory, signing the new CRL, the atomic (fsynced)
   writes of ca/1/intermediate.crl and crls.pem, the inventory commit and the
   audit line. For reference the same revokes are timed in a second, small
   PKI whose CRL starts empty, and `mtlsctl crl` (re-sign only, no new entry)
   is timed `--repeat` times on the big PKI.

2. The openssl command line doing the same work, as a baseline: a root and
   an intermediate (ECDSA P-256, like mtlsctl's default) set up for
   `openssl ca` (index.txt, crlnumber, default_crl_days 30), an index.txt
   holding the same synthetic serials as 'R' lines (reason keyCompromise),
   and `--repeat` real client certificates issued with `openssl ca`. Revoking
   one more is `openssl ca -revoke certN.pem -crl_reason keyCompromise`
   followed by `openssl ca -gencrl -out crl.pem`; the two commands together
   are timed as one revoke. The same with an empty index.txt for reference,
   and `openssl ca -gencrl` alone on the big index.

3. A table, mtlsctl against openssl and their ratio: time to revoke one more
   with `--entries` entries (mean and median), the same with an empty CRL,
   re-signing alone, and the size of the final CRL (PEM and DER, converted
   with `openssl crl -outform DER`). Both final CRLs are checked to list
   `--entries` + `--repeat` certificates.

Exit status: 0 on success; 2 if a command fails (its stderr is printed) or a
CRL does not list the expected number of entries.

Usage:
    python3 bench/crl_revoke.py [--mtlsctl PATH] [--entries 100000]
        [--repeat 5] [--workdir DIR] [--keep]

Python 3.11 standard library only. No networking.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from common import DEFAULT_MTLSCTL, P256, CommandFailed, filesystem_of, openssl_ca, run, timed

# Synthetic entries: revoked some time in the last 60 days, expiring within
# the next 80 days (still valid, so they stay on the CRL), 90-day leaves.
LEAF_SECONDS = 90 * 86400
CRL_DAYS = 30


class CheckFailed(Exception):
    """A result did not match what the benchmark set up."""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


@dataclass
class Synthetic:
    """One synthetic revoked certificate, shared by both tools."""

    serial: str  # lowercase hex, 16 bytes, top bit clear, first byte nonzero
    not_before: int
    not_after: int
    revoked_at: int


def synthetic_entries(n: int, now: int) -> list[Synthetic]:
    out: list[Synthetic] = []
    seen: set[str] = set()
    while len(out) < n:
        b = bytearray(os.urandom(16))
        b[0] &= 0x7F
        if b[0] == 0:
            b[0] = 0x40
        serial = b.hex()
        if serial in seen:
            continue
        seen.add(serial)
        i = len(out)
        revoked_at = now - 60 - (i * 60 * 86400) // max(n, 1)  # spread over 60 days, oldest last
        not_after = now + 86400 + (i % 80) * 86400
        out.append(Synthetic(serial, not_after - LEAF_SECONDS, not_after, revoked_at))
    return out


@dataclass
class Crl:
    pem_bytes: int = 0
    der_bytes: int = 0
    entries: int = 0


def crl_facts(openssl: str, tool: str, pem: Path) -> Crl:
    """Sizes of a PEM CRL and its DER form, and the number of entries it lists."""
    der = pem.with_suffix(".der")
    run(tool, [openssl, "crl", "-in", str(pem), "-outform", "DER", "-out", str(der)])
    text = run(tool, [openssl, "crl", "-in", str(pem), "-noout", "-text"]).stdout
    facts = Crl(pem.stat().st_size, der.stat().st_size, text.count("Serial Number:"))
    der.unlink()
    return facts


@dataclass
class Result:
    """Timings (seconds) of one tool."""

    tool: str
    big: list[float] = field(default_factory=list)  # revoke one more, `entries` on the CRL
    empty: list[float] = field(default_factory=list)  # revoke one more, CRL starting empty
    resign: list[float] = field(default_factory=list)  # re-sign only, `entries` on the CRL
    setup_crl: float = 0.0  # the first CRL with `entries` (mtlsctl crl / openssl ca -gencrl)
    crl: Crl = field(default_factory=Crl)
    notes: list[str] = field(default_factory=list)


def report(tool: str, what: str, times: list[float]) -> None:
    print(
        f"{tool}: {what}: mean {ms(statistics.fmean(times))}, median {ms(statistics.median(times))}, "
        f"min {ms(min(times))}, max {ms(max(times))} ({', '.join(f'{t * 1000:.0f}' for t in times)} ms)",
        flush=True,
    )


# --------------------------------------------------------------------------- mtlsctl


def mtlsctl_pki(mtlsctl: Path, pki: Path, repeat: int) -> list[str]:
    """A fresh PKI with `repeat` client certificates; returns the base argv."""
    base = [str(mtlsctl), "--pki", str(pki), "-q"]
    run("mtlsctl", base + ["ca", "init", "--no-passphrase", "--name", "Bench"])
    for i in range(1, repeat + 1):
        run("mtlsctl", base + ["issue", f"cert{i}"])
    return base


def insert_synthetic(db: Path, entries: list[Synthetic]) -> None:
    """Adds revoked rows to the inventory, one transaction (no mtlsctl process runs)."""
    conn = sqlite3.connect(db)
    try:
        issuer, generation = conn.execute(
            "SELECT issuer, ca_generation FROM certificates WHERE current = 1 LIMIT 1"
        ).fetchone()
        rows = [
            (
                e.serial, f"synthetic{i}", "client", "ecdsa-p256", f"CN=synthetic{i}", f"synthetic{i}",
                None, None, LEAF_SECONDS, issuer, "[]", e.not_before, e.not_after,
                os.urandom(32).hex(), generation, 1, 0, e.not_before, e.revoked_at, "key-compromise",
            )
            for i, e in enumerate(entries)
        ]
        with conn:
            conn.executemany(
                "INSERT INTO certificates (serial, name, profile, key_type, subject, cn, org, ou, lifetime,"
                " issuer, sans, not_before, not_after, fingerprint, ca_generation, key_held, current,"
                " issued_at, revoked_at, revocation_reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        conn.close()


def bench_mtlsctl(mtlsctl: Path, openssl: str, work: Path, entries: list[Synthetic], repeat: int) -> Result:
    res = Result("mtlsctl")
    n = len(entries)

    # Reference: a small PKI whose intermediate CRL starts empty.
    small = work / "mtlsctl-empty"
    base = mtlsctl_pki(mtlsctl, small, repeat)
    for i in range(1, repeat + 1):
        res.empty.append(timed("mtlsctl", [base + ["revoke", f"cert{i}", "--reason", "key-compromise"]]))
    report("mtlsctl", f"revoke one more, CRL starting empty ({repeat} revokes)", res.empty)

    # The big one.
    pki = work / "mtlsctl-pki"
    base = mtlsctl_pki(mtlsctl, pki, repeat)
    t0 = time.perf_counter()
    insert_synthetic(pki / "inventory.db", entries)
    print(f"mtlsctl: inserted {n} synthetic revoked rows in {time.perf_counter() - t0:.2f} s", flush=True)
    res.setup_crl = timed("mtlsctl", [base + ["crl"]])
    crl = pki / "ca" / "1" / "intermediate.crl"
    first = crl_facts(openssl, "mtlsctl", crl)
    print(f"mtlsctl: first `crl` with {first.entries} entries took {ms(res.setup_crl)}; "
          f"intermediate.crl {first.pem_bytes} bytes PEM, {first.der_bytes} DER", flush=True)
    if first.entries != n:
        raise CheckFailed(f"mtlsctl: {crl} lists {first.entries} certificates after `crl`, expected {n}")

    for i in range(1, repeat + 1):
        res.big.append(timed("mtlsctl", [base + ["revoke", f"cert{i}", "--reason", "key-compromise"]]))
    report("mtlsctl", f"revoke one more with {n} entries ({repeat} revokes)", res.big)
    for _ in range(repeat):
        res.resign.append(timed("mtlsctl", [base + ["crl"]]))
    report("mtlsctl", f"`crl` (re-sign only) with {n + repeat} entries", res.resign)

    res.crl = crl_facts(openssl, "mtlsctl", crl)
    if res.crl.entries != n + repeat:
        raise CheckFailed(f"mtlsctl: {crl} lists {res.crl.entries} certificates, expected {n + repeat}")
    crls = pki / "crls.pem"
    res.notes.append(
        f"intermediate.crl {res.crl.pem_bytes} bytes PEM, {res.crl.der_bytes} DER, {res.crl.entries} entries; "
        f"crls.pem (root + intermediate CRLs, also rewritten by every revoke) {crls.stat().st_size} bytes; "
        f"inventory.db {(pki / 'inventory.db').stat().st_size / 1024 / 1024:.1f} MiB"
    )
    print(f"mtlsctl: {res.notes[-1]}", flush=True)
    return res


# --------------------------------------------------------------------------- openssl

def openssl_time(unix: int) -> str:
    """index.txt's time format (UTCTime)."""
    return datetime.fromtimestamp(unix, timezone.utc).strftime("%y%m%d%H%M%SZ")


def openssl_ca_with_certs(openssl: str, d: Path, repeat: int) -> list[str]:
    """Root + intermediate for `openssl ca` in d, `repeat` client certificates; returns the -config args."""
    c = openssl_ca(openssl, d, crl_days=CRL_DAYS)
    o = "openssl"
    for i in range(1, repeat + 1):
        key, csr, cert = (str(d / "certs" / f"cert{i}.{ext}") for ext in ("key", "csr", "pem"))
        run(o, [openssl, "genpkey", *P256, "-out", key])
        run(o, [openssl, "req", "-new", *c, "-key", key, "-subj", f"/CN=cert{i}", "-out", csr])
        run(o, [openssl, "ca", "-batch", *c, "-rand_serial", "-notext", "-in", csr, "-out", cert])
    return c


def revoke_argvs(openssl: str, d: Path, c: list[str], i: int) -> list[list[str]]:
    return [
        [openssl, "ca", "-batch", *c, "-revoke", str(d / "certs" / f"cert{i}.pem"), "-crl_reason", "keyCompromise"],
        [openssl, "ca", "-batch", *c, "-gencrl", "-out", str(d / "crl.pem")],
    ]


def bench_openssl(openssl: str, work: Path, entries: list[Synthetic], repeat: int) -> Result:
    res = Result("openssl")
    n = len(entries)

    small = work / "openssl-empty"
    c = openssl_ca_with_certs(openssl, small, repeat)
    run("openssl", [openssl, "ca", "-batch", *c, "-gencrl", "-out", str(small / "crl.pem")])
    for i in range(1, repeat + 1):
        res.empty.append(timed("openssl", revoke_argvs(openssl, small, c, i)))
    report("openssl", f"revoke + gencrl, CRL starting empty ({repeat} revokes)", res.empty)

    d = work / "openssl-pki"
    c = openssl_ca_with_certs(openssl, d, repeat)
    # The synthetic entries go before the real certificates' 'V' lines.
    # Format checked against `openssl ca -revoke`:
    # R <TAB> expiry <TAB> revocation,reason <TAB> SERIAL <TAB> unknown <TAB> subject
    index = d / "index.txt"
    real = index.read_text()
    with index.open("w") as f:
        for i, e in enumerate(entries):
            f.write(f"R\t{openssl_time(e.not_after)}\t{openssl_time(e.revoked_at)},keyCompromise\t"
                    f"{e.serial.upper()}\tunknown\t/CN=synthetic{i}\n")
        f.write(real)
    print(f"openssl: index.txt with {n} synthetic 'R' lines, {index.stat().st_size / 1024:.0f} KiB", flush=True)
    res.setup_crl = timed("openssl", [[openssl, "ca", "-batch", *c, "-gencrl", "-out", str(d / "crl.pem")]])
    first = crl_facts(openssl, "openssl", d / "crl.pem")
    print(f"openssl: first -gencrl with {first.entries} entries took {ms(res.setup_crl)}; "
          f"crl.pem {first.pem_bytes} bytes PEM, {first.der_bytes} DER", flush=True)
    if first.entries != n:
        raise CheckFailed(f"openssl: crl.pem lists {first.entries} certificates after -gencrl, expected {n}")

    revoke_only: list[float] = []
    for i in range(1, repeat + 1):
        argvs = revoke_argvs(openssl, d, c, i)
        t0 = time.perf_counter()
        revoke_only.append(timed("openssl", argvs[:1]))
        timed("openssl", argvs[1:])
        res.big.append(time.perf_counter() - t0)
    report("openssl", f"revoke + gencrl with {n} entries ({repeat} revokes)", res.big)
    report("openssl", "  of which `ca -revoke`", revoke_only)
    for _ in range(repeat):
        res.resign.append(timed("openssl", [[openssl, "ca", "-batch", *c, "-gencrl", "-out", str(d / "crl.pem")]]))
    report("openssl", f"`ca -gencrl` (re-sign only) with {n + repeat} entries", res.resign)

    res.crl = crl_facts(openssl, "openssl", d / "crl.pem")
    if res.crl.entries != n + repeat:
        raise CheckFailed(f"openssl: crl.pem lists {res.crl.entries} certificates, expected {n + repeat}")
    res.notes.append(
        f"crl.pem {res.crl.pem_bytes} bytes PEM, {res.crl.der_bytes} DER, {res.crl.entries} entries; "
        f"index.txt {index.stat().st_size / 1024 / 1024:.1f} MiB"
    )
    print(f"openssl: {res.notes[-1]}", flush=True)
    return res


# --------------------------------------------------------------------------- summary


def summary(m: Result, o: Result, n: int, repeat: int) -> None:
    def row(label: str, mv: str, ov: str, rv: str) -> None:
        print(f"| {label:<46} | {mv:>11} | {ov:>11} | {rv:>15} |")

    def t(label: str, mt: float, ot: float) -> None:
        row(label, ms(mt), ms(ot), f"{mt / ot:.2f}")

    print()
    print(f"Summary: {n:,} entries on the CRL, {repeat} revokes per figure")
    print()
    row("", "mtlsctl", "openssl", "mtlsctl/openssl")
    print(f"|{'-' * 48}|{'-' * 12}:|{'-' * 12}:|{'-' * 16}:|")
    t(f"revoke one more, {n:,} entries, mean", statistics.fmean(m.big), statistics.fmean(o.big))
    t(f"revoke one more, {n:,} entries, median", statistics.median(m.big), statistics.median(o.big))
    t("revoke one more, empty CRL, mean", statistics.fmean(m.empty), statistics.fmean(o.empty))
    t("revoke one more, empty CRL, median", statistics.median(m.empty), statistics.median(o.empty))
    t("re-sign only (crl / -gencrl), median", statistics.median(m.resign), statistics.median(o.resign))
    row(f"CRL size, DER ({n + repeat:,} entries)", f"{m.crl.der_bytes:,} B", f"{o.crl.der_bytes:,} B",
        f"{m.crl.der_bytes / o.crl.der_bytes:.2f}")
    row("CRL size, PEM", f"{m.crl.pem_bytes:,} B", f"{o.crl.pem_bytes:,} B",
        f"{m.crl.pem_bytes / o.crl.pem_bytes:.2f}")
    print()
    print("openssl's revoke is `openssl ca -revoke` + `openssl ca -gencrl`, timed together.")
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mtlsctl", type=Path, default=DEFAULT_MTLSCTL,
                    help=f"the mtlsctl binary (default: {DEFAULT_MTLSCTL})")
    ap.add_argument("--entries", type=int, default=100_000,
                    help="revoked certificates already on the CRL (default 100000)")
    ap.add_argument("--repeat", type=int, default=5, help="revokes timed per figure (default 5)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="parent of the temporary directory (default: the system temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    if args.entries < 0:
        ap.error("--entries must not be negative")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    mtlsctl = args.mtlsctl.resolve()
    if not os.access(mtlsctl, os.X_OK):
        print(f"error: {mtlsctl} is not an executable; build it with `cargo build --release`", file=sys.stderr)
        return 2
    openssl = shutil.which("openssl")
    if openssl is None:
        print("error: openssl not found on PATH", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="mtlsctl-crl-bench-", dir=args.workdir))
    ver = run("mtlsctl", [str(mtlsctl), "--version"]).stdout.strip()
    print(f"binary:  {mtlsctl} ({ver})")
    print(f"openssl: {openssl} ({run('openssl', [openssl, 'version']).stdout.strip()})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"workdir: {work} on {filesystem_of(work)}")
    print(f"entries: {args.entries:,}, repeat: {args.repeat}")
    print(flush=True)

    entries = synthetic_entries(args.entries, int(time.time()))
    try:
        m = bench_mtlsctl(mtlsctl, openssl, work, entries, args.repeat)
        print(flush=True)
        o = bench_openssl(openssl, work, entries, args.repeat)
    except CommandFailed as e:
        print(f"\nerror: {e}", file=sys.stderr)
        print(e.proc.stderr.rstrip() or "(no stderr)", file=sys.stderr)
        print(f"(work directory left in place: {work})", file=sys.stderr)
        return 2
    except CheckFailed as e:
        print(f"\nerror: {e}", file=sys.stderr)
        print(f"(work directory left in place: {work})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted (work directory left in place: {work})", file=sys.stderr)
        return 130

    summary(m, o, args.entries, args.repeat)
    if args.keep:
        print(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
