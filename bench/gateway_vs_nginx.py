#!/usr/bin/env python3
"""`mtlsctl serve` against nginx as an mTLS gateway, side by side, on one core each.

Build first (this script builds nothing):

    cargo build --release
    cargo build --release --manifest-path bench/loadgen/Cargo.toml
    python3 bench/gateway_vs_nginx.py

Setup, in a fresh temporary directory:

- A PKI made with target/release/mtlsctl: `ca init --no-passphrase` (ECDSA
  P-256 root and intermediate), `issue bench-client` (the load generator's
  certificate), `issue bench-server --profile server --dns localhost --ip
  127.0.0.1` (nginx's server certificate; `mtlsctl serve` issues its own,
  also ECDSA P-256, at first start). Both gateways trust trust.pem and read
  the same crls.pem.
- The upstream: a second nginx (`worker_processes 1`, `return 200 "ok"`,
  no access log) on a plain-HTTP port, pinned to core 1.
- The gateways, one at a time, pinned to core 0 (`taskset -c 0`):
  `mtlsctl --pki PKI serve --listen 127.0.0.1:P --upstream http://127.0.0.1:U
  --workers 1` (a current-thread tokio runtime) and nginx 1.22 with
  `worker_processes 1`, TLS 1.3 only, session tickets and session cache off,
  `ssl_verify_client on`, `ssl_client_certificate trust.pem`, `ssl_crl
  crls.pem`, `ssl_verify_depth 2`, and `proxy_pass` to the upstream over
  pooled HTTP/1.1 keep-alive connections, adding the client-identity headers
  mtlsctl adds (Client-Cert, X-Client-Verify/-DN/-Serial/-Fingerprint,
  X-Forwarded-For/-Proto). Both write an access-log line per request to a
  file (their default behaviour). nginx's `keepalive_requests` is raised from
  its default 1,000 so that (b) measures proxied requests, not handshakes.
- The load generator, bench/loadgen (Rust: rustls + hyper, current-thread
  tokio), pinned to core 1 with the upstream. It presents the client
  certificate on every connection, offers X25519 only (what both servers
  then use; `--kx default` offers rustls' default X25519MLKEM768 first), and
  does not verify the server's chain (`--verify-server` turns that on) so
  that its core goes to load.

Phases, per gateway, never both gateways under load at once:

(d) idle memory, on a freshly started gateway: a short warm-up (1 s of
    keep-alive requests, 1 s of handshakes), 1.5 s to settle, the gateway's
    VmRSS (/proc/PID/status) as the baseline; then 1,000 mTLS connections
    opened (32 at a time), one request made on each, and held idle; RSS again
    after 5 s. Reported: (RSS - baseline) / connections, and the gateway's CPU
    use while the connections sit idle.
(a) full handshakes/s, on another fresh gateway process: a new TCP + TLS 1.3
    connection per request (GET /, Connection: close, no resumption, no
    session tickets), 32 in flight.
(b) keep-alive: 32 persistent connections, requests back to back; rate and
    gateway CPU microseconds per request.
(c) latency: an open-loop schedule at 5,000 requests/s over a pool of 32
    keep-alive connections; latency from each request's scheduled send time
    (so queueing is not hidden); p50 and p99. Both gateways run, and
    --c-rounds (20) windows of --c-window (4 s, after 1 s of warm-up) take
    turns between them; the table shows the median window, and a line
    below it the window-by-window comparison.
(e) 100,000 synthetic revoked certificates inserted into the inventory
    (inventory.db, one transaction) and `mtlsctl crl`, so crls.pem lists
    them (checked with `openssl crl -text`). mtlsctl, already running, must
    reload the new crls.pem by itself (its file watcher; the script waits for
    the "reloaded" log line); nginx is restarted. Then (a) again, compared
    with the same gateway's empty-CRL rate from (a).

Every phase but (c) runs --rounds times (default 5), alternating which gateway goes
first; the table shows the median of the rounds, the JSON every round. The
machine may be shared: a window during which other processes used more than
--noise-threshold (default 10%) of either core is measured again, up to
--noise-retries times (default 2), and the cleanest attempt is kept.

CPU: the load generator reads the gateway process's utime+stime
(/proc/PID/stat; for nginx the worker process) at the start and end of the
measured window, after the warm-up, and reports CPU microseconds per
request. It also reads the upstream's CPU and every core's busy time
(/proc/stat) over the same window, so the output shows whether the
gateway's core was the bottleneck and how much unrelated work ran on the
two cores meanwhile ("foreign"). Kernel work for loopback TCP (including the
receiving side's softirq processing of packets the gateway sends) is charged
to whichever process sends, the same way for both gateways.

Output: a line per phase and round, then the table (metric | mtlsctl |
nginx | ratio | target met?), a table of where each core's time went, and
with --json FILE every figure. --perf DIR also records `perf record
--call-graph dwarf` profiles of the gateway per phase (this slows it).

Exit status: 0 when the run completed (whether or not targets are met; the
table says), 2 when something failed to start or a phase had errors.

Usage:
    python3 bench/gateway_vs_nginx.py [--duration 10] [--warmup 2]
        [--rounds 5] [--only mtlsctl|nginx] [--phases dabce] [--json FILE]
        [--no-access-log] [--kx x25519|p256|default] [--verify-server]
        [--wait-quiet LOAD] [--perf DIR] [--workdir DIR] [--keep]

Python 3.11 standard library only. Linux only (taskset, /proc). Listens on
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import common
from common import DEFAULT_MTLSCTL, REPO, busy_fraction, children, loadavg, proc_cpu_s, rss_kib

DEFAULT_LOADGEN = REPO / "bench" / "loadgen" / "target" / "release" / "mtls-loadgen"
GATEWAY_CORE = "0"
CLIENT_CORE = "1"

# Targets from the issue: mtlsctl against nginx.
TARGET_HANDSHAKE_RATIO = 2.5  # (a) mtlsctl >= 2.5x nginx
TARGET_CRL_RETENTION = 0.95  # (e) mtlsctl with 100k CRL >= 0.95x its own empty-CRL rate


def log(msg: str) -> None:
    print(msg, flush=True)


def fail(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def run(argv: list[str], input: str | None = None) -> subprocess.CompletedProcess:
    try:
        return common.run(Path(argv[0]).name, argv, input=input)
    except common.CommandFailed as e:
        fail(f"{' '.join(argv)} exited {e.proc.returncode}:\n{e.proc.stderr}{e.proc.stdout}")
        raise


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"{what} exited with {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    fail(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


# --------------------------------------------------------------------------- PKI


def make_pki(mtlsctl: Path, pki: Path) -> None:
    base = [str(mtlsctl), "--pki", str(pki), "-q"]
    run(base + ["ca", "init", "--no-passphrase", "--name", "Bench CA"])
    run(base + ["issue", "bench-client"])
    run(base + ["issue", "bench-server", "--profile", "server", "--dns", "localhost", "--ip", "127.0.0.1"])


def random_serial() -> str:
    """16 random bytes, top bit clear, first byte nonzero: like mtlsctl's serials."""
    while True:
        b = bytearray(secrets.token_bytes(16))
        b[0] &= 0x7F
        if b[0] != 0:
            return b.hex()


def add_revoked(mtlsctl: Path, pki: Path, count: int, openssl: str | None) -> int:
    """Inserts `count` synthetic revoked client certificates (one transaction),
    re-signs the CRLs, and returns how many entries crls.pem lists."""
    now = int(time.time())
    conn = sqlite3.connect(pki / "inventory.db")
    try:
        issuer, generation = conn.execute(
            "SELECT issuer, ca_generation FROM certificates WHERE name = 'bench-client' AND current = 1"
        ).fetchone()
        serials: set[str] = set()
        while len(serials) < count:
            serials.add(random_serial())
        rows = [
            (
                s, f"synthetic{i}", "client", "ecdsa-p256", f"CN=synthetic{i}", f"synthetic{i}",
                None, None, 7776000, issuer, "[]", now - 86400, now + 7776000 - 86400,
                secrets.token_hex(32), generation, 1, 0, now - 86400, now - 3600, "key-compromise",
            )
            for i, s in enumerate(sorted(serials))
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
    run([str(mtlsctl), "--pki", str(pki), "-q", "crl"])
    if openssl:
        # crls.pem holds several CRLs; count the entries of each.
        text = (pki / "crls.pem").read_text()
        total = 0
        for block in text.split("-----END X509 CRL-----")[:-1]:
            pem = block[block.index("-----BEGIN X509 CRL-----") :] + "-----END X509 CRL-----\n"
            out = run([openssl, "crl", "-noout", "-text"], input=pem).stdout
            total += out.count("Serial Number:")
        return total
    return -1


# --------------------------------------------------------------------------- processes


def nginx_preamble(prefix: Path, access_log: str, keepalive_timeout: str) -> str:
    """The start of an nginx.conf for one worker under `prefix`, up to and
    including the `http` block's common settings (left open)."""
    p = prefix
    return f"""
worker_processes 1;
worker_rlimit_nofile 8192;
daemon off;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    access_log {access_log};
    keepalive_timeout {keepalive_timeout};
    keepalive_requests 10000000;"""


class Gateway:
    name = "?"

    def __init__(self, work: Path, pki: Path, upstream_port: int):
        self.work = work
        self.pki = pki
        self.upstream_port = upstream_port
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.pid = 0  # the process doing the work
        self.starts = 0

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Mtlsctl(Gateway):
    name = "mtlsctl"

    def __init__(self, mtlsctl: Path, *a, access_log: bool = True, config: Path | None = None):
        super().__init__(*a)
        self.mtlsctl = mtlsctl
        # With a gateway config, its routes name the upstream.
        self.config = config
        self.env = dict(os.environ)
        if not access_log:
            # Everything but the per-request access line.
            self.env["MTLSCTL_LOG"] = "info,mtlsctl::access=off"

    def start(self) -> None:
        self.starts += 1
        self.port = free_port()
        self.logfile = self.work / f"mtlsctl-{self.starts}.log"
        self.argv = [
            "taskset", "-c", GATEWAY_CORE,
            str(self.mtlsctl), "--pki", str(self.pki), "serve",
            "--listen", f"127.0.0.1:{self.port}",
            *(["--config", str(self.config)] if self.config else
              ["--upstream", f"http://127.0.0.1:{self.upstream_port}"]),
            "--workers", "1",
        ]
        with open(self.logfile, "wb") as errf:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf, env=self.env)
        wait_port(self.port, self.proc, "mtlsctl serve")
        self.pid = self.proc.pid  # taskset execs mtlsctl

    def wait_reload(self, at_least: int, timeout: float = 120.0) -> int | None:
        """Waits for the log line of a reload whose snapshot holds at least
        `at_least` revoked serials; returns that count."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.logfile.read_text().splitlines():
                if '"reloaded"' in line:
                    n = json.loads(line).get("revoked")
                    if isinstance(n, int) and n >= at_least:
                        time.sleep(1.0)  # let any follow-up reload settle
                        return n
            time.sleep(0.2)
        fail(f"mtlsctl did not reload a snapshot with {at_least} revoked serials within {timeout} s; see {self.logfile}")
        return None

    def listening_line(self) -> dict:
        for line in self.logfile.read_text().splitlines():
            if '"listening"' in line:
                return json.loads(line)
        return {}


class Nginx(Gateway):
    name = "nginx"

    def __init__(self, nginx: str, *a, access_log: bool = True):
        super().__init__(*a)
        self.nginx = nginx
        self.access_log = access_log

    def conf(self) -> str:
        pki = self.pki
        srv = pki / "certs" / "bench-server"
        p = self.prefix
        return nginx_preamble(p, f"{p}/access.log" if self.access_log else "off", "75s") + f"""
    upstream backend {{
        server 127.0.0.1:{self.upstream_port};
        keepalive 64;
        keepalive_requests 10000000;
    }}
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name localhost;
        ssl_certificate {srv}/chain.pem;
        ssl_certificate_key {srv}/key.pem;
        ssl_protocols TLSv1.3;
        ssl_session_tickets off;
        ssl_session_cache off;
        ssl_verify_client on;
        ssl_client_certificate {pki}/trust.pem;
        ssl_crl {pki}/crls.pem;
        ssl_verify_depth 2;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header Client-Cert $ssl_client_escaped_cert;
            proxy_set_header X-Client-Verify $ssl_client_verify;
            proxy_set_header X-Client-DN $ssl_client_s_dn;
            proxy_set_header X-Client-Serial $ssl_client_serial;
            proxy_set_header X-Client-Fingerprint $ssl_client_fingerprint;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"""

    def start(self) -> None:
        self.starts += 1
        self.port = free_port()
        self.prefix = self.work / f"nginx-{self.starts}"
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.conf())
        self.argv = ["taskset", "-c", GATEWAY_CORE, self.nginx, "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(self.prefix / "stderr.log", "wb"))
        wait_port(self.port, self.proc, "nginx")
        # The master listens before it forks its worker.
        deadline = time.monotonic() + 5
        workers = children(self.proc.pid)
        while len(workers) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            workers = children(self.proc.pid)
        if len(workers) != 1:
            fail(f"nginx master {self.proc.pid} has {len(workers)} workers, expected 1")
        self.pid = workers[0]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Upstream:
    """A second nginx answering `200 ok` on plain HTTP, pinned to core 1."""

    def __init__(self, nginx: str, work: Path):
        self.prefix = work / "upstream"
        (self.prefix / "tmp").mkdir(parents=True)
        self.port = free_port()
        p = self.prefix
        conf = p / "nginx.conf"
        conf.write_text(nginx_preamble(p, "off", "300s") + f"""
    server {{
        listen 127.0.0.1:{self.port};
        default_type text/plain;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
""")
        self.proc = subprocess.Popen(
            ["taskset", "-c", CLIENT_CORE, nginx, "-p", str(p), "-c", str(conf), "-e", str(p / "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(p / "stderr.log", "wb"),
        )
        wait_port(self.port, self.proc, "upstream nginx")
        self.pid = children(self.proc.pid)[0]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            self.proc.wait(timeout=15)


# --------------------------------------------------------------------------- load


@dataclass
class Bench:
    loadgen: Path
    pki: Path
    upstream: Upstream
    duration: float
    warmup: float
    kx: str
    verify_server: bool
    concurrency: int
    rate: float
    idle_connections: int
    perf_dir: Path | None = None
    noise_threshold: float = 0.10
    noise_retries: int = 2
    errors: list[str] = field(default_factory=list)

    def base(self, mode: str, gw: Gateway) -> list[str]:
        client = self.pki / "certs" / "bench-client"
        argv = [
            "taskset", "-c", CLIENT_CORE, str(self.loadgen), mode,
            "--addr", f"127.0.0.1:{gw.port}", "--server-name", "localhost",
            "--cert", str(client / "chain.pem"), "--key", str(client / "key.pem"),
            "--ca", str(self.pki / "trust.pem"), "--kx", self.kx,
            "--pid", str(gw.pid), "--other-pid", str(self.upstream.pid),
        ]
        if self.verify_server:
            argv.append("--verify-server")
        return argv

    def load(self, mode: str, gw: Gateway, *extra: str, duration: float | None = None, warmup: float | None = None) -> dict:
        """One measured window; repeated (up to noise_retries times) when
        other work took more than noise_threshold of either core meanwhile.
        Returns the cleanest attempt, with the others under "noisy_attempts"."""
        attempts = []
        for attempt in range(self.noise_retries + 1):
            r = self.load_once(mode, gw, *extra, duration=duration, warmup=warmup)
            r["noise"] = max(r["core0_foreign_util"], r["core1_foreign_util"])
            attempts.append(r)
            if r["noise"] <= self.noise_threshold or duration is not None:
                break
            log(f"  ({gw.name} {mode}: other work took {r['noise'] * 100:.0f}% of a core during the window; "
                f"measuring again in 10 s, attempt {attempt + 2}/{self.noise_retries + 1})")
            time.sleep(10)
        best = min(attempts, key=lambda a: a["noise"])
        best["noisy_attempts"] = [a for a in attempts if a is not best]
        return best

    def load_once(self, mode: str, gw: Gateway, *extra: str, duration: float | None = None, warmup: float | None = None) -> dict:
        argv = self.base(mode, gw) + [
            "--duration", str(duration if duration is not None else self.duration),
            "--warmup", str(warmup if warmup is not None else self.warmup),
            "--concurrency", str(self.concurrency), *extra,
        ]
        perf = None
        if self.perf_dir:
            # Sample the gateway (call graphs) while the load runs.
            self.perf_dir.mkdir(parents=True, exist_ok=True)
            out = self.perf_dir / f"{gw.name}-{mode}-{gw.starts}.data"
            perf = subprocess.Popen(
                ["perf", "record", "-F", "997", "--call-graph", "dwarf,16384", "-p", str(gw.pid), "-o", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        res = subprocess.run(argv, capture_output=True, text=True)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
        line = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
        if not line.startswith("{"):
            fail(f"load generator failed ({res.returncode}): {' '.join(argv)}\n{res.stderr}{res.stdout}")
        out = json.loads(line)
        out["argv"] = " ".join(argv)
        if out.get("errors"):
            self.errors.append(f"{gw.name} {mode}: {out['errors']} errors, first: {out.get('first_error')}")
        secs = out["seconds"]
        out["upstream_util"] = (out["other_cpu_s"][0] or 0) / secs
        cores = out.get("core_busy_s") or [0, 0]
        out["core0_util"] = cores[0] / secs
        out["core1_util"] = cores[1] / secs if len(cores) > 1 else 0
        # What else ran on the gateway's core while measuring.
        out["core0_foreign_util"] = max(0.0, out["core0_util"] - out.get("gateway_cpu_util", 0))
        out["core1_foreign_util"] = max(0.0, out["core1_util"] - out["loadgen_cpu_s"] / secs - out["upstream_util"])
        return out

    def idle(self, gw: Gateway) -> dict:
        # Warm up the fresh gateway (first handshakes, the upstream pool),
        # let it settle, then take the baseline.
        self.load("keepalive", gw, duration=1, warmup=0.5)
        self.load("handshakes", gw, duration=1, warmup=0.2)
        time.sleep(1.5)
        base = rss_kib(gw.pid)
        argv = self.base("idle", gw) + [
            "--connections", str(self.idle_connections), "--concurrency", "32", "--hold-seconds", "120",
        ]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            if not line.startswith("{"):
                proc.kill()
                fail(f"idle load generator failed: {' '.join(argv)}\n{proc.stderr.read()}")
            ready = json.loads(line)
            time.sleep(2.0)
            cpu0 = proc_cpu_s(gw.pid)
            t0 = time.monotonic()
            time.sleep(3.0)
            held = rss_kib(gw.pid)
            idle_cpu = (proc_cpu_s(gw.pid) - cpu0) / (time.monotonic() - t0)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
        n = ready["open"]
        if ready.get("errors"):
            self.errors.append(f"{gw.name} idle: {ready['errors']} errors, first: {ready.get('first_error')}")
        return {
            "baseline_kib": base,
            "held_kib": held,
            "open": n,
            "kib_per_conn": (held - base) / n if n else float("nan"),
            "idle_cpu_util": idle_cpu,
            "seconds_to_open": ready["seconds_to_open"],
            "argv": " ".join(argv),
        }


def describe(gw: str, phase: str, r: dict) -> None:
    util = f"gateway core {r.get('gateway_cpu_util', 0) * 100:.0f}%, loadgen {r['loadgen_cpu_s'] / r['seconds'] * 100:.0f}%, " \
        f"upstream {r['upstream_util'] * 100:.0f}%, foreign on core0 {r['core0_foreign_util'] * 100:.0f}% / core1 {r['core1_foreign_util'] * 100:.0f}%"
    if phase == "latency":
        log(f"  {gw} (c) latency @ {r['target_rate']}/s: done {r['rate']:.0f}/s, p50 {r['p50_ms']:.3f} ms, p90 {r['p90_ms']:.3f} ms, "
            f"p99 {r['p99_ms']:.3f} ms, p99.9 {r['p999_ms']:.3f} ms, max {r['max_ms']:.3f} ms, "
            f"{r.get('gateway_cpu_us_per_req', float('nan')):.1f} us CPU/req; {util}; errors {r['errors']}")
    else:
        log(f"  {gw} {phase}: {r['rate']:.0f}/s, {r.get('gateway_cpu_us_per_req', float('nan')):.1f} us gateway CPU/op, "
            f"kx {r.get('kx')}; {util}; errors {r['errors']}")


# --------------------------------------------------------------------------- report


def median(values: list[float]) -> float:
    v = sorted(x for x in values if isinstance(x, (int, float)) and x == x)
    if not v:
        return float("nan")
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def summarize(runs: dict) -> dict:
    """Per phase, the median over rounds of every numeric figure, plus the
    per-round values of the headline figures."""
    out: dict = {}
    for phase, rounds in runs.items():
        if not isinstance(rounds, list) or not rounds or not isinstance(rounds[0], dict):
            continue
        keys = [k for k, v in rounds[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        out[phase] = {k: median([r.get(k) for r in rounds]) for k in keys}
        out[phase]["rounds"] = len(rounds)
        for k in ("rate", "gateway_cpu_us_per_req", "p50_ms", "p99_ms", "kib_per_conn", "core0_foreign_util", "core1_foreign_util"):
            if k in rounds[0]:
                out[phase][f"{k}_each"] = [r.get(k) for r in rounds]
    return out


def paired_p99(runs: dict) -> dict | None:
    """(c) windows taken in turn, as pairs: the geometric mean of the p99
    ratios and how often mtlsctl's p99 was the lower."""
    m, n = runs.get("mtlsctl", {}).get("c"), runs.get("nginx", {}).get("c")
    if not m or not n:
        return None
    ratios = [a["p99_ms"] / b["p99_ms"] for a, b in zip(m, n) if a["p99_ms"] > 0 and b["p99_ms"] > 0]
    if not ratios:
        return None
    return {
        "pairs": len(ratios),
        "geomean_ratio": math.exp(sum(math.log(r) for r in ratios) / len(ratios)),
        "mtlsctl_lower": sum(1 for r in ratios if r < 1),
    }


def fmt(v: float, digits: int = 0) -> str:
    if v is None or v != v:
        return "n/a"
    return f"{v:,.{digits}f}"


def table(res: dict) -> str:
    m, n = res.get("mtlsctl", {}), res.get("nginx", {})

    def get(d: dict, *path):
        for p in path:
            if not isinstance(d, dict) or p not in d:
                return float("nan")
            d = d[p]
        return d

    rows = []

    def row(metric: str, mv: float, nv: float, digits: int, target: str | None, met: bool | None, ratio: float | None = None):
        if ratio is None:
            ratio = mv / nv if nv and nv == nv and mv == mv else float("nan")
        verdict = "" if met is None else ("yes" if met else "**no**")
        rows.append(f"| {metric} | {fmt(mv, digits)} | {fmt(nv, digits)} | {fmt(ratio, 2)} | {target or ''} {verdict} |".replace("  |", " |"))

    ma, na = get(m, "a", "rate"), get(n, "a", "rate")
    row("(a) full mTLS handshakes/s", ma, na, 0, f">= {TARGET_HANDSHAKE_RATIO}x:", ma >= TARGET_HANDSHAKE_RATIO * na if na == na and ma == ma else None)
    row("(a) gateway CPU µs per handshake", get(m, "a", "gateway_cpu_us_per_req"), get(n, "a", "gateway_cpu_us_per_req"), 0, None, None)
    row("(b) keep-alive proxied requests/s", get(m, "b", "rate"), get(n, "b", "rate"), 0, None, None)
    mb, nb = get(m, "b", "gateway_cpu_us_per_req"), get(n, "b", "gateway_cpu_us_per_req")
    row("(b) gateway CPU µs per request", mb, nb, 1, "<= nginx:", mb <= nb if mb == mb and nb == nb else None)
    row("(c) p50 latency at 5,000 req/s, ms", get(m, "c", "p50_ms"), get(n, "c", "p50_ms"), 3, None, None)
    mc, nc = get(m, "c", "p99_ms"), get(n, "c", "p99_ms")
    row("(c) p99 latency at 5,000 req/s, ms", mc, nc, 3, "<= nginx:", mc <= nc if mc == mc and nc == nc else None)
    row("(c) gateway CPU µs per request at 5,000/s", get(m, "c", "gateway_cpu_us_per_req"), get(n, "c", "gateway_cpu_us_per_req"), 1, None, None)
    md, nd = get(m, "d", "kib_per_conn"), get(n, "d", "kib_per_conn")
    row("(d) RSS KiB per idle mTLS connection (1,000)", md, nd, 1, "<= nginx:", md <= nd if md == md and nd == nd else None)
    me, ne = get(m, "e", "rate"), get(n, "e", "rate")
    row("(e) handshakes/s with a 100,000-entry CRL", me, ne, 0, None, None)

    def retention(d: dict, own_a: float) -> float:
        # Each big-CRL window against the empty-CRL window next to it, pooled
        # over rounds that put each first equally often; the (a) rate from
        # minutes earlier only when there are no such pairs.
        big, empty = get(d, "e", "rate_each"), get(d, "e_empty", "rate_each")
        if isinstance(big, list) and isinstance(empty, list) and big and len(big) == len(empty) and sum(empty):
            return sum(big) / sum(empty)
        return d.get("e", {}).get("rate", float("nan")) / own_a if own_a == own_a and own_a else float("nan")

    mr, nr = retention(m, ma), retention(n, na)
    rows.append(
        f"| (e) 100k-CRL rate / own empty-CRL rate (paired windows) | {fmt(mr, 2)} | {fmt(nr, 2)} | | mtlsctl >= {TARGET_CRL_RETENTION}: "
        + ("" if mr != mr else ("yes" if mr >= TARGET_CRL_RETENTION else "**no**")) + " |"
    )
    row("(e) gateway CPU µs per handshake, 100k CRL", get(m, "e", "gateway_cpu_us_per_req"), get(n, "e", "gateway_cpu_us_per_req"), 0, None, None)
    head = "| metric | mtlsctl | nginx | mtlsctl/nginx | target met? |\n|---|--:|--:|--:|---|"
    return head + "\n" + "\n".join(rows)


def load_split(res: dict) -> str:
    """Where the two cores' time went in each phase (medians)."""
    lines = ["| phase | gateway | gateway core busy | loadgen | upstream | other work on core 0 | other work on core 1 |",
             "|---|---|--:|--:|--:|--:|--:|"]
    names = {"a": "(a) handshakes", "b": "(b) keep-alive", "c": "(c) 5,000 req/s", "e": "(e) handshakes, big CRL"}
    for phase, label in names.items():
        for gw in ("mtlsctl", "nginx"):
            r = res.get(gw, {}).get(phase)
            if not r:
                continue
            secs = r.get("seconds") or float("nan")
            pct = lambda v: fmt(v * 100, 0) + "%"
            lines.append(f"| {label} | {gw} | {pct(r.get('gateway_cpu_util', float('nan')))} | "
                         f"{pct(r.get('loadgen_cpu_s', float('nan')) / secs)} | {pct(r.get('upstream_util', float('nan')))} | "
                         f"{pct(r.get('core0_foreign_util', float('nan')))} | {pct(r.get('core1_foreign_util', float('nan')))} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mtlsctl", type=Path, default=DEFAULT_MTLSCTL)
    ap.add_argument("--loadgen", type=Path, default=DEFAULT_LOADGEN)
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds per phase (default 10)")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each window (default 2)")
    ap.add_argument("--concurrency", type=int, default=32, help="connections in flight for (a), (b), (c) (default 32)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="repeat every phase this many times, alternating which gateway goes first; the table shows medians (default 5)")
    ap.add_argument("--rate", type=float, default=5000.0, help="(c) fixed request rate (default 5000)")
    ap.add_argument("--c-rounds", type=int, default=20,
                    help="(c) windows per gateway, alternating between the two running gateways (default 20)")
    ap.add_argument("--c-window", type=float, default=4.0, help="(c) measured seconds per window, after 1 s of warm-up (default 4)")
    ap.add_argument("--idle-connections", type=int, default=1000)
    ap.add_argument("--crl-entries", type=int, default=100_000)
    ap.add_argument("--kx", default="x25519", choices=["x25519", "p256", "default"])
    ap.add_argument("--verify-server", action="store_true", help="the load generator verifies the server chain too")
    ap.add_argument("--no-access-log", action="store_true",
                    help="turn the per-request access log off in both gateways (default: both log to a file)")
    ap.add_argument("--only", choices=["mtlsctl", "nginx"])
    ap.add_argument("--phases", default="dabce", help="which of a, b, c, d, e to run (default all)")
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--wait-quiet", type=float, metavar="LOAD",
                    help="wait (up to 30 min) until the 1-minute load average is below LOAD before starting")
    ap.add_argument("--noise-threshold", type=float, default=0.10, metavar="FRACTION",
                    help="re-measure a window when other processes used more than this fraction of either core (default 0.10)")
    ap.add_argument("--noise-retries", type=int, default=2, help="how many times to re-measure a noisy window (default 2)")
    ap.add_argument("--perf", type=Path, metavar="DIR",
                    help="record `perf record -g` profiles of the gateway per phase into DIR (skews the figures a little)")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    for tool, path in (("mtlsctl", args.mtlsctl), ("load generator", args.loadgen)):
        if not path.exists():
            fail(f"{tool} not found at {path}; build it: cargo build --release && "
                 "cargo build --release --manifest-path bench/loadgen/Cargo.toml")
    if not shutil.which("taskset"):
        fail("taskset not found (util-linux)")
    if os.cpu_count() is None or os.cpu_count() < 2:
        fail("needs two cores")
    openssl = shutil.which("openssl")
    # Enough descriptors for 1,000 idle connections (inherited by children).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    if args.wait_quiet is not None:
        deadline = time.monotonic() + 1800
        while os.getloadavg()[0] >= args.wait_quiet and time.monotonic() < deadline:
            log(f"waiting for a quiet machine: load {loadavg()}")
            time.sleep(30)

    gateways = ["mtlsctl", "nginx"] if not args.only else [args.only]
    phases = set(args.phases)
    nginx_v = subprocess.run([args.nginx, "-v"], capture_output=True, text=True).stderr.strip()
    meta = {
        "git_head": subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "nginx": nginx_v,
        "openssl": subprocess.run([openssl, "version"], capture_output=True, text=True).stdout.strip() if openssl else None,
        "kernel": os.uname().release,
        "loadavg_start": loadavg(),
        "busy_start": busy_fraction(1.0),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    log(f"mtlsctl gateway benchmark: {meta['started']}, HEAD {meta['git_head'][:12]}, {nginx_v}, {meta['openssl']}")
    log(f"load average {meta['loadavg_start']}; core busy over 1 s before start: "
        + ", ".join(f"cpu{i} {b * 100:.0f}%" for i, b in enumerate(meta["busy_start"])))

    tmp = Path(tempfile.mkdtemp(prefix="gw-bench-", dir=args.workdir))
    results: dict = {"meta": meta}
    upstream = None
    try:
        pki = tmp / "pki"
        make_pki(args.mtlsctl, pki)
        upstream = Upstream(args.nginx, tmp)
        bench = Bench(args.loadgen, pki, upstream, args.duration, args.warmup, args.kx, args.verify_server,
                      args.concurrency, args.rate, args.idle_connections, args.perf,
                      args.noise_threshold, args.noise_retries)
        gws: dict[str, Gateway] = {
            "mtlsctl": Mtlsctl(args.mtlsctl, tmp, pki, upstream.port, access_log=not args.no_access_log),
            "nginx": Nginx(args.nginx, tmp, pki, upstream.port, access_log=not args.no_access_log),
        }
        runs: dict = {name: {} for name in gateways}
        results["runs"] = runs
        for rnd in range(args.rounds):
            # Alternate which gateway goes first, so drift in the machine's
            # background load does not always favour the same one.
            order = gateways if rnd % 2 == 0 else list(reversed(gateways))
            for name in order:
                gw = gws[name]
                log(f"round {rnd + 1}/{args.rounds}, {name}:")
                gw.start()
                runs[name].setdefault("argv", " ".join(gw.argv))
                if "d" in phases:
                    d = bench.idle(gw)
                    runs[name].setdefault("d", []).append(d)
                    log(f"  {name} (d) idle: baseline {d['baseline_kib']} KiB, with {d['open']} idle connections "
                        f"{d['held_kib']} KiB: {d['kib_per_conn']:.1f} KiB/connection; idle CPU {d['idle_cpu_util'] * 100:.1f}% of a core")
                    # A fresh process for the throughput phases.
                    gw.stop()
                    gw.start()
                for phase, mode, label in (
                    ("a", "handshakes", "(a) handshakes"),
                    ("b", "keepalive", "(b) keep-alive"),
                ):
                    if phase in phases:
                        r = bench.load(mode, gw)
                        runs[name].setdefault(phase, []).append(r)
                        describe(name, label, r)
                runs[name].setdefault("rss_end_kib", []).append(rss_kib(gw.pid))
                gw.stop()
        if "c" in phases:
            # Both gateways run, and short windows alternate between them:
            # the p99 of one window is set by the few stalls of this shared
            # VM that fall into it (0.5 to 5 ms for either gateway), so many
            # interleaved windows compare the gateways, and five long ones
            # mostly compare their luck.
            for gw in gws.values():
                gw.start()
            for rnd in range(args.c_rounds):
                order = gateways if rnd % 2 == 0 else list(reversed(gateways))
                log(f"(c) windows {rnd + 1}/{args.c_rounds}:")
                for name in order:
                    # Not re-measured when noisy: the median and the pairs
                    # absorb a noisy window.
                    r = bench.load("latency", gws[name], "--rate", str(args.rate), duration=args.c_window, warmup=1.0)
                    runs[name].setdefault("c", []).append(r)
                    describe(name, "latency", r)
            for gw in gws.values():
                gw.stop()
        if "e" in phases:
            # A copy of the PKI as it is now (empty CRLs), so that each
            # round measures both CRL sizes back to back: the machine's
            # speed drifts over minutes, more than the effect measured.
            pki_empty = tmp / "pki-empty-crl"
            shutil.copytree(pki, pki_empty)
            (tmp / "empty-crl").mkdir()
            empty_gws: dict[str, Gateway] = {
                "mtlsctl": Mtlsctl(args.mtlsctl, tmp / "empty-crl", pki_empty, upstream.port, access_log=not args.no_access_log),
                "nginx": Nginx(args.nginx, tmp / "empty-crl", pki_empty, upstream.port, access_log=not args.no_access_log),
            }
            mt = gws["mtlsctl"] if "mtlsctl" in gateways else None
            if mt:
                # mtlsctl keeps running while the CRL grows: it must pick the
                # new crls.pem up by itself (file watcher) before (e).
                mt.start()
            t0 = time.monotonic()
            listed = add_revoked(args.mtlsctl, pki, args.crl_entries, openssl)
            results["crl"] = {"inserted": args.crl_entries, "listed": listed, "crls_pem_bytes": (pki / "crls.pem").stat().st_size,
                              "seconds_to_insert_and_sign": round(time.monotonic() - t0, 2)}
            log(f"CRL: inserted {args.crl_entries} revoked rows and re-signed in {time.monotonic() - t0:.1f} s; "
                f"crls.pem lists {listed} entries, {results['crl']['crls_pem_bytes']:,} bytes")
            if mt:
                revoked = mt.wait_reload(args.crl_entries)
                results["crl"]["mtlsctl_reloaded_revoked"] = revoked
                log(f"  mtlsctl reloaded by itself: the new snapshot holds {revoked} revoked serials")
            # An even number of rounds, half of them with the big CRL first:
            # whichever window runs second in a pair measured 5-8% lower
            # here, so both orders must weigh the same.
            for rnd in range(args.rounds + args.rounds % 2):
                order = gateways if rnd % 2 == 0 else list(reversed(gateways))
                for name in order:
                    pair = [("e", gws[name]), ("e_empty", empty_gws[name])]
                    if rnd % 2:
                        pair.reverse()
                    for key, gw in pair:
                        if gw.proc is None:
                            gw.start()  # nginx: a restart reads the new crls.pem
                            if isinstance(gw, Mtlsctl):
                                log(f"  mtlsctl started with {gw.listening_line().get('revoked')} revoked serials")
                        r = bench.load("handshakes", gw)
                        runs[name].setdefault(key, []).append(r)
                        what = f"{args.crl_entries:,}-entry CRL" if key == "e" else "empty CRL, same round"
                        describe(name, f"(e) handshakes, {what}", r)
                        gw.stop()
            for gw in empty_gws.values():
                gw.stop()
        for name in gateways:
            results[name] = summarize(runs[name])
        meta["loadavg_end"] = loadavg()
        meta["errors"] = bench.errors
    finally:
        for gw in list(locals().get("gws", {}).values()):
            gw.stop()
        if upstream:
            upstream.stop()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    log("")
    log(f"Summary (median of {args.rounds} rounds; {args.duration:g} s per phase after {args.warmup:g} s warm-up; gateway on core {GATEWAY_CORE}, "
        f"load generator and upstream on core {CLIENT_CORE}; load average {meta['loadavg_start']} -> {meta['loadavg_end']})")
    log("")
    log(table(results))
    log("")
    log(load_split(results))
    pairs = paired_p99(runs)
    if pairs:
        log(f"(c) p99 window by window (median of {args.c_rounds} windows of {args.c_window:g} s per gateway, interleaved): "
            f"geometric mean of mtlsctl/nginx {pairs['geomean_ratio']:.2f}, mtlsctl lower in {pairs['mtlsctl_lower']} of {pairs['pairs']} pairs")
        results["c_pairs"] = pairs
    for gw in gateways:
        d = results.get(gw, {}).get("d")
        if d:
            log(f"{gw}: idle CPU with {args.idle_connections} idle connections: {d['idle_cpu_util'] * 100:.1f}% of a core; "
                f"baseline RSS {d['baseline_kib']:.0f} KiB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    if bench.errors:
        log("")
        for e in bench.errors:
            log(f"errors: {e}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
