"""Helpers the benchmarks share: where the binary is, running and timing
commands, the filesystem a figure was measured on, and the `openssl ca`
setup (openssl.cnf, root and intermediate) the openssl baselines use.

The scripts import it as `from common import ...`: Python puts a script's
own directory first on sys.path, so this works from the repository root
(`python3 bench/X.py`) and from inside bench/.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MTLSCTL = REPO / "target" / "release" / "mtlsctl"


class CommandFailed(Exception):
    """A command the benchmark ran exited non-zero."""

    def __init__(self, tool: str, argv: list[str], proc: subprocess.CompletedProcess):
        self.tool = tool
        self.argv = argv
        self.proc = proc
        super().__init__(f"{tool}: {' '.join(argv)} exited with {proc.returncode}")


def run(tool: str, argv: list[str], cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    """Runs a command to completion, output captured; CommandFailed if it fails."""
    proc = subprocess.run(argv, cwd=cwd, input=input, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CommandFailed(tool, argv, proc)
    return proc


def timed(tool: str, argvs: list[list[str]]) -> float:
    """Runs the commands one after the other; their total wall time in seconds."""
    t0 = time.perf_counter()
    for argv in argvs:
        run(tool, argv)
    return time.perf_counter() - t0


def filesystem_of(path: Path) -> str:
    """The type and mount point of the filesystem holding path (Linux /proc/mounts)."""
    path = path.resolve()
    best: tuple[str, str] | None = None
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                mnt, fstype = parts[1], parts[2]
                if (path == Path(mnt) or Path(mnt) in path.parents) and (best is None or len(mnt) >= len(best[0])):
                    best = (mnt, fstype)
    except OSError:
        pass
    return f"{best[1]} (mounted on {best[0]})" if best else "unknown filesystem"


# --------------------------------------------------------------------------- processes (Linux /proc)

def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def proc_cpu_s(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def busy_fraction(seconds: float = 1.0) -> list[float]:
    """Busy fraction of each core over `seconds`: 1 - idle/elapsed, with the
    idle and iowait columns of /proc/stat (measured, not tick-sampled, on a
    tickless kernel)."""

    def sample() -> list[int]:
        out = []
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("cpu") and line[3:4].isdigit():
                v = [int(x) for x in line.split()[1:]]
                out.append(v[3] + v[4])
        return out

    hz = os.sysconf("SC_CLK_TCK")
    t0, a = time.monotonic(), sample()
    time.sleep(seconds)
    t1, b = time.monotonic(), sample()
    return [max(0.0, 1 - (bi - ai) / hz / (t1 - t0)) for ai, bi in zip(a, b)]


# --------------------------------------------------------------------------- openssl

OPENSSL_CNF = """\
# `openssl ca` setup for the benchmarks: an intermediate signs client
# certificates, records them in index.txt and signs CRLs.
[ ca ]
default_ca = intermediate_ca

[ intermediate_ca ]
dir              = {dir}
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
certificate      = $dir/intermediate.pem
private_key      = $dir/intermediate.key
serial           = $dir/serial    # required by the config, unused with -rand_serial
crlnumber        = $dir/crlnumber
default_md       = sha256
default_days     = {days}
default_crl_days = {crl_days}
policy           = policy_anything
x509_extensions  = client_ext
crl_extensions   = crl_ext
copy_extensions  = none
email_in_dn      = no

[ policy_anything ]
countryName            = optional
stateOrProvinceName    = optional
localityName           = optional
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied
emailAddress           = optional

[ client_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ root_ext ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ intermediate_ext ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ req ]
distinguished_name = req_dn
prompt             = no

[ req_dn ]
CN = unused
"""

# P-256 keys, as mtlsctl makes by default.
P256 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]


def openssl_ca(openssl: str, d: Path, days: int = 90, crl_days: int = 30) -> list[str]:
    """An `openssl ca` directory in d: openssl.cnf, a root and an intermediate
    (P-256), an empty index.txt, a crlnumber; returns the `-config` args."""
    (d / "newcerts").mkdir(parents=True)
    (d / "certs").mkdir()
    (d / "index.txt").write_text("")
    (d / "crlnumber").write_text("01\n")
    cnf = d / "openssl.cnf"
    cnf.write_text(OPENSSL_CNF.format(dir=d, days=days, crl_days=crl_days))
    o = "openssl"
    c = ["-config", str(cnf)]
    run(o, [openssl, "genpkey", *P256, "-out", str(d / "root.key")])
    run(o, [openssl, "req", "-new", "-x509", *c, "-key", str(d / "root.key"), "-subj", "/CN=Bench Root CA",
            "-days", "3650", "-sha256", "-extensions", "root_ext", "-out", str(d / "root.pem")])
    run(o, [openssl, "genpkey", *P256, "-out", str(d / "intermediate.key")])
    run(o, [openssl, "req", "-new", *c, "-key", str(d / "intermediate.key"), "-subj", "/CN=Bench Intermediate CA",
            "-out", str(d / "intermediate.csr")])
    run(o, [openssl, "x509", "-req", "-in", str(d / "intermediate.csr"), "-CA", str(d / "root.pem"),
            "-CAkey", str(d / "root.key"), "-set_serial", "0x" + os.urandom(16).hex(), "-days", "1825",
            "-sha256", "-extfile", str(cnf), "-extensions", "intermediate_ext", "-out", str(d / "intermediate.pem")])
    return c
