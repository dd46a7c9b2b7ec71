#!/usr/bin/env python3
"""`mtlsctl serve` with a big route policy against itself with one route, side by side.

Build first (this script builds nothing):

    cargo build --release
    cargo build --release --manifest-path bench/loadgen/Cargo.toml
    python3 bench/gateway_routes.py

Two gateways on the same PKI and the same upstream (a second nginx that
answers `200 ok`), measured in turns with the same load generator and the
same phases as bench/gateway_vs_nginx.py:

- "one route": no config file, `--upstream http://127.0.0.1:U` (today's
  catch-all route, client auth required).
- "big policy": a gateway.toml with 1,000 routes (100 hosts x 10 path
  prefixes, each host also under a wildcard) and, on the route the load
  generator's requests take (host localhost, path /), an allow list of
  10,000 exact `cn:` entries with the load generator's CN among them, plus
  10 glob entries and a deny list.

Phases (each --rounds times, alternating which gateway goes first):
(a) full handshakes/s (a new TLS 1.3 connection per request);
(b) gateway CPU microseconds per keep-alive request;
(c) p99 latency at an open-loop 5,000 requests/s, --c-rounds short windows
    taken in turn.

Targets (issue 13): big policy >= 0.95x one route on (a) and on (b)'s
requests per CPU second, and (c) p99 <= 1.1x. The table prints the ratios.

Usage:
    python3 bench/gateway_routes.py [--rounds 3] [--duration 8] [--phases abc]
        [--c-rounds 10] [--json FILE] [--keep]

Linux only (taskset, /proc). Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import DEFAULT_MTLSCTL, REPO, loadavg
from gateway_vs_nginx import (
    DEFAULT_LOADGEN,
    Bench,
    Mtlsctl,
    Upstream,
    describe,
    log,
    make_pki,
    median,
)

TARGET_THROUGHPUT = 0.95
TARGET_P99 = 1.10


def big_config(upstream_port: int, client_cn: str) -> str:
    """1,000 routes and a 10,000-entry allow list on the route taken."""
    lines = [f'upstream = "http://127.0.0.1:{upstream_port}"', ""]
    for h in range(100):
        for p in range(10):
            host = f"svc{h}.bench.internal" if p < 9 else f"*.zone{h}.bench.internal"
            path = f"/api/v{p}" if p < 9 else "/"
            lines += ["[[route]]", f'host = "{host}"', f'path = "{path}"', ""]
    allow = [f'"cn:client-{i:05d}"' for i in range(9_999)] + [f'"cn:{client_cn}"']
    allow += [f'"dns:*.team{i}.bench.internal"' for i in range(10)]
    lines += [
        "[[route]]",
        'name = "bench"',
        'host = "localhost"',
        'path = "/"',
        "allow = [" + ", ".join(allow) + "]",
        'deny = ["cn:mallory", "role:suspended"]',
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mtlsctl", type=Path, default=DEFAULT_MTLSCTL)
    ap.add_argument("--loadgen", type=Path, default=DEFAULT_LOADGEN)
    ap.add_argument("--nginx", default="/usr/sbin/nginx", help="the upstream (default /usr/sbin/nginx)")
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=float, default=5000.0)
    ap.add_argument("--c-rounds", type=int, default=10)
    ap.add_argument("--c-window", type=float, default=4.0)
    ap.add_argument("--phases", default="abc")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    for tool, path in (("mtlsctl", args.mtlsctl), ("load generator", args.loadgen)):
        if not path.exists():
            log(f"{tool} not found at {path}; build it first (see the header)")
            return 2

    tmp = Path(tempfile.mkdtemp(prefix="gw-routes-"))
    upstream = None
    gws: dict[str, Mtlsctl] = {}
    runs: dict[str, dict] = {"one route": {}, "big policy": {}}
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    log(f"mtlsctl routes benchmark: {started}, load average {loadavg()}")
    try:
        pki = tmp / "pki"
        make_pki(args.mtlsctl, pki)
        upstream = Upstream(args.nginx, tmp)
        config = tmp / "gateway.toml"
        config.write_text(big_config(upstream.port, "bench-client"))
        log(f"config: {config.stat().st_size:,} bytes, 1,001 routes, 10,010 allow entries on the route taken")
        bench = Bench(args.loadgen, pki, upstream, args.duration, args.warmup, "x25519", False,
                      args.concurrency, args.rate, 1000, None)
        (tmp / "one").mkdir()
        (tmp / "big").mkdir()
        one = Mtlsctl(args.mtlsctl, tmp / "one", pki, upstream.port)
        big = Mtlsctl(args.mtlsctl, tmp / "big", pki, upstream.port, config=config)
        one.name, big.name = "one route", "big policy"

        def start(gw: Mtlsctl) -> None:
            gw.start()

        gws = {"one route": one, "big policy": big}
        order = list(gws)
        for rnd in range(args.rounds):
            for name in (order if rnd % 2 == 0 else list(reversed(order))):
                gw = gws[name]
                log(f"round {rnd + 1}/{args.rounds}, {name}:")
                start(gw)
                for phase, mode in (("a", "handshakes"), ("b", "keepalive")):
                    if phase in args.phases:
                        r = bench.load(mode, gw)
                        runs[name].setdefault(phase, []).append(r)
                        describe(name, f"({phase}) {mode}", r)
                gw.stop()
        if "c" in args.phases:
            for gw in gws.values():
                start(gw)
            for rnd in range(args.c_rounds):
                for name in (order if rnd % 2 == 0 else list(reversed(order))):
                    r = bench.load("latency", gws[name], "--rate", str(args.rate), duration=args.c_window, warmup=1.0)
                    runs[name].setdefault("c", []).append(r)
                    describe(name, "latency", r)
            for gw in gws.values():
                gw.stop()
        errors = bench.errors
    finally:
        for gw in gws.values():
            gw.stop()
        if upstream:
            upstream.stop()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    def med(name: str, phase: str, key: str) -> float:
        return median([r.get(key) for r in runs[name].get(phase, [])])

    rows = []
    summary: dict = {}
    if "a" in args.phases:
        o, b = med("one route", "a", "rate"), med("big policy", "a", "rate")
        summary["a"] = {"one_route": o, "big_policy": b, "ratio": b / o}
        rows.append(("(a) full handshakes/s", f"{o:,.0f}", f"{b:,.0f}", b / o, b / o >= TARGET_THROUGHPUT))
    if "b" in args.phases:
        o = med("one route", "b", "gateway_cpu_us_per_req")
        b = med("big policy", "b", "gateway_cpu_us_per_req")
        summary["b"] = {"one_route_us": o, "big_policy_us": b, "ratio": o / b}
        rows.append(("(b) requests per CPU second (1/us)", f"{o:.1f} us", f"{b:.1f} us", o / b, o / b >= TARGET_THROUGHPUT))
    if "c" in args.phases:
        o, b = med("one route", "c", "p99_ms"), med("big policy", "c", "p99_ms")
        pairs = [x["p99_ms"] / y["p99_ms"] for x, y in zip(runs["big policy"]["c"], runs["one route"]["c"]) if y["p99_ms"] > 0]
        geo = math.exp(sum(math.log(r) for r in pairs) / len(pairs)) if pairs else float("nan")
        summary["c"] = {"one_route_p99_ms": o, "big_policy_p99_ms": b, "ratio": b / o, "paired_geomean": geo}
        rows.append(("(c) p99 at 5,000/s", f"{o:.3f} ms", f"{b:.3f} ms", b / o, b / o <= TARGET_P99))
    log("")
    log(f"{'metric':38} {'one route':>12} {'big policy':>12} {'ratio':>7}  target met?")
    for metric, o, b, ratio, ok in rows:
        log(f"{metric:38} {o:>12} {b:>12} {ratio:>7.2f}  {'yes' if ok else 'NO'}")
    if "c" in summary:
        log(f"(c) window by window: geometric mean of big/one p99 {summary['c']['paired_geomean']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary, "started": started,
                                         "head": str(REPO)}, indent=2, default=str) + "\n")
    if errors:
        for e in errors:
            log(f"errors: {e}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
