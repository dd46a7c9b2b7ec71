//! mtls-loadgen: an HTTP/1.1-over-mTLS load generator for
//! `bench/gateway_vs_nginx.py`. wrk and h2load cannot present a client
//! certificate; this can. tokio (current-thread runtime: the benchmark pins
//! it to one core), rustls on aws-lc-rs, hyper's HTTP/1.1 client.
//!
//! Modes (all print one JSON line on stdout at the end):
//!
//! - `handshakes`: every request on a new TCP + TLS 1.3 connection (full
//!   handshake with the client certificate, resumption disabled),
//!   `GET PATH` with `Connection: close`; completed requests per second.
//! - `keepalive`: `--concurrency` persistent connections, requests back to
//!   back on each; requests per second.
//! - `latency`: an open-loop schedule at `--rate` requests/s over a pool of
//!   `--concurrency` keep-alive connections. A pacing thread releases each
//!   request at its scheduled time; latency is measured from the *scheduled*
//!   time, so a slow server cannot hide queueing (no coordinated omission).
//! - `idle`: opens `--connections` mTLS connections, makes one request on
//!   each, prints `{"ready":...}` and holds them open, idle, for
//!   `--hold-seconds` (or until killed).
//!
//! With `--pid PID` the gateway's CPU time (utime+stime from
//! /proc/PID/stat) is read exactly at the start and end of the measured
//! window (after `--warmup` seconds of load), and reported per request.
//! `--other-pid PID` (repeatable) reports further processes' CPU the same
//! way (the upstream, to check that it is not the bottleneck).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

type Error = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "\
usage: mtls-loadgen MODE [options]
modes: handshakes | keepalive | latency | idle
  --addr HOST:PORT        gateway address (default 127.0.0.1:8443)
  --server-name NAME      TLS SNI and Host header (default localhost)
  --cert FILE             client certificate chain (PEM)
  --key FILE              client private key (PEM)
  --ca FILE               roots for the server certificate (with --verify-server)
  --verify-server         verify the server's chain (off by default: the load
                          generator spends its core on load, not on checking
                          the server; the server still does all of its work)
  --kx x25519|p256|default  key exchange groups offered (default x25519;
                          `default` is rustls' list, X25519MLKEM768 first)
  --path PATH             request path (default /)
  --duration SECS         measured window (default 10)
  --warmup SECS           load before the window (default 1)
  --concurrency N         connections in flight (default 32)
  --rate N                latency: requests per second (default 5000)
  --connections N         idle: connections to hold (default 1000)
  --hold-seconds SECS     idle: how long to hold them (default 60)
  --pid PID               gateway process: report its CPU in the window
  --other-pid PID         another process to report CPU for (repeatable)
";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Handshakes,
    Keepalive,
    Latency,
    Idle,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kx {
    X25519,
    P256,
    Default,
}

#[derive(Debug, Clone)]
struct Opts {
    mode: Mode,
    addr: SocketAddr,
    server_name: String,
    cert: PathBuf,
    key: PathBuf,
    ca: Option<PathBuf>,
    verify_server: bool,
    kx: Kx,
    path: String,
    duration: f64,
    warmup: f64,
    concurrency: usize,
    rate: f64,
    connections: usize,
    hold: f64,
    pid: Option<u32>,
    other_pids: Vec<u32>,
}

fn parse_args() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let mode = match args.next().as_deref() {
        Some("handshakes") => Mode::Handshakes,
        Some("keepalive") => Mode::Keepalive,
        Some("latency") => Mode::Latency,
        Some("idle") => Mode::Idle,
        Some("-h") | Some("--help") | None => return Err(USAGE.into()),
        Some(other) => return Err(format!("unknown mode {other}\n{USAGE}")),
    };
    let mut o = Opts {
        mode,
        addr: "127.0.0.1:8443".parse().expect("literal address"),
        server_name: "localhost".into(),
        cert: PathBuf::new(),
        key: PathBuf::new(),
        ca: None,
        verify_server: false,
        kx: Kx::X25519,
        path: "/".into(),
        duration: 10.0,
        warmup: 1.0,
        concurrency: 32,
        rate: 5000.0,
        connections: 1000,
        hold: 60.0,
        pid: None,
        other_pids: Vec::new(),
    };
    while let Some(flag) = args.next() {
        if flag == "--verify-server" {
            o.verify_server = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--addr" => o.addr = value.parse().map_err(|e| format!("--addr: {e}"))?,
            "--server-name" => o.server_name = value,
            "--cert" => o.cert = value.into(),
            "--key" => o.key = value.into(),
            "--ca" => o.ca = Some(value.into()),
            "--kx" => {
                o.kx = match value.as_str() {
                    "x25519" => Kx::X25519,
                    "p256" => Kx::P256,
                    "default" => Kx::Default,
                    _ => return Err(format!("--kx: x25519, p256 or default, not {value}")),
                }
            }
            "--path" => o.path = value,
            "--duration" => o.duration = num(&value)?,
            "--warmup" => o.warmup = num(&value)?,
            "--concurrency" => o.concurrency = (num(&value)? as usize).max(1),
            "--rate" => o.rate = num(&value)?.max(1.0),
            "--connections" => o.connections = num(&value)? as usize,
            "--hold-seconds" => o.hold = num(&value)?,
            "--pid" => o.pid = Some(value.parse().map_err(|e| format!("--pid: {e}"))?),
            "--other-pid" => o
                .other_pids
                .push(value.parse().map_err(|e| format!("--other-pid: {e}"))?),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if o.cert.as_os_str().is_empty() || o.key.as_os_str().is_empty() {
        return Err(format!("--cert and --key are required\n{USAGE}"));
    }
    if o.verify_server && o.ca.is_none() {
        return Err("--verify-server needs --ca".into());
    }
    Ok(o)
}

/// Accepts any server certificate. The benchmark measures the server; the
/// client skipping its own chain check keeps the load generator's core free
/// for load. Everything else in the handshake (key exchange, the client
/// certificate and its CertificateVerify) is done in full.
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn client_config(o: &Opts) -> Result<Arc<ClientConfig>, Error> {
    use rustls::crypto::aws_lc_rs::{self, kx_group};
    let mut provider = aws_lc_rs::default_provider();
    match o.kx {
        Kx::X25519 => provider.kx_groups = vec![kx_group::X25519],
        Kx::P256 => provider.kx_groups = vec![kx_group::SECP256R1],
        Kx::Default => {}
    }
    let provider = Arc::new(provider);
    let certs = CertificateDer::pem_file_iter(&o.cert)
        .map_err(|e| format!("{}: {e}", o.cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", o.cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(&o.key).map_err(|e| format!("{}: {e}", o.key.display()))?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let builder = if o.verify_server {
        let ca = o.ca.as_ref().ok_or("--verify-server needs --ca")?;
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))? {
            roots.add(c.map_err(|e| format!("{}: {e}", ca.display()))?)?;
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
    };
    let mut config = builder.with_client_auth_cert(certs, key)?;
    config.resumption = Resumption::disabled();
    config.enable_early_data = false;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What every worker needs.
struct Ctx {
    opts: Opts,
    connector: TlsConnector,
    sni: ServerName<'static>,
    done: AtomicU64,
    errors: AtomicU64,
    stop: AtomicBool,
    kx_name: Mutex<Option<String>>,
    first_error: Mutex<Option<String>>,
}

impl Ctx {
    fn request(&self, close: bool) -> Request<Empty<Bytes>> {
        let mut b = Request::get(self.opts.path.as_str())
            .header(header::HOST, self.opts.server_name.as_str())
            .header(header::USER_AGENT, "mtls-loadgen");
        if close {
            b = b.header(header::CONNECTION, "close");
        }
        b.body(Empty::new()).expect("a valid request")
    }

    fn error(&self, e: impl std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().expect("lock");
        if first.is_none() {
            *first = Some(e.to_string());
        }
    }
}

type Conn = hyper::client::conn::http1::Connection<
    TokioIo<tokio_rustls::client::TlsStream<TcpStream>>,
    Empty<Bytes>,
>;

/// TCP connect, full TLS handshake with the client certificate, HTTP/1.1.
async fn open(ctx: &Ctx) -> Result<(SendRequest<Empty<Bytes>>, Conn), Error> {
    let tcp = TcpStream::connect(ctx.opts.addr).await?;
    tcp.set_nodelay(true)?;
    let tls = ctx.connector.connect(ctx.sni.clone(), tcp).await?;
    {
        let mut kx = ctx.kx_name.lock().expect("lock");
        if kx.is_none() {
            let (_, conn) = tls.get_ref();
            let group = conn
                .negotiated_key_exchange_group()
                .map(|g| format!("{:?}", g.name()))
                .unwrap_or_default();
            let suite = conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default();
            *kx = Some(format!("{group} {suite}"));
        }
    }
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    Ok((sender, conn))
}

/// One request on an open connection; Ok when the answer is a 200 and the
/// body has been read.
async fn exchange(
    ctx: &Ctx,
    sender: &mut SendRequest<Empty<Bytes>>,
    close: bool,
) -> Result<(), Error> {
    sender.ready().await?;
    let resp = sender.send_request(ctx.request(close)).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    if status != hyper::StatusCode::OK {
        return Err(format!("status {status}").into());
    }
    Ok(())
}

async fn handshake_worker(ctx: Arc<Ctx>) {
    while !ctx.stop.load(Ordering::Relaxed) {
        let result: Result<(), Error> = async {
            let (mut sender, conn) = open(&ctx).await?;
            // Drive the connection and the request together: the request
            // resolves with the whole body, the connection when the server
            // has closed it (Connection: close). A connection that fails
            // first fails the request too.
            let request = async {
                let r = exchange(&ctx, &mut sender, true).await;
                drop(sender);
                r
            };
            let both = async { tokio::join!(request, conn) };
            match tokio::time::timeout(Duration::from_secs(10), both).await {
                Ok((r, _)) => r,
                Err(_) => Err("no response within 10 s".into()),
            }
        }
        .await;
        match result {
            Ok(()) => {
                ctx.done.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                ctx.error(e);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn keepalive_worker(ctx: Arc<Ctx>) {
    while !ctx.stop.load(Ordering::Relaxed) {
        let (mut sender, conn) = match open(&ctx).await {
            Ok(x) => x,
            Err(e) => {
                ctx.error(e);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let conn_task = tokio::spawn(conn);
        while !ctx.stop.load(Ordering::Relaxed) {
            match exchange(&ctx, &mut sender, false).await {
                Ok(()) => {
                    ctx.done.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    ctx.error(e);
                    break;
                }
            }
        }
        drop(sender);
        conn_task.abort();
    }
}

/// CPU time (utime + stime) of a process in seconds, from /proc/PID/stat.
fn proc_cpu(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some((utime + stime) as f64 / hz)
}

/// This process's own CPU time in seconds.
fn self_cpu() -> f64 {
    // SAFETY: getrusage writes into the struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
}

/// Idle time (idle + iowait) of each CPU core in seconds, from /proc/stat.
/// A core's busy time over a window is the window minus its idle time:
/// with a tickless kernel the idle column is measured, while the busy
/// columns (user, system, softirq...) are tick samples that need not add up.
fn cores_idle() -> Vec<f64> {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return Vec::new();
    };
    stat.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            let get = |i: usize| v.get(i).copied().unwrap_or(0);
            (get(3) + get(4)) as f64 / hz
        })
        .collect()
}

/// Counters and CPU clocks at one instant.
struct Mark {
    cores: Vec<f64>,
    at: Instant,
    done: u64,
    errors: u64,
    gateway_cpu: Option<f64>,
    others: Vec<Option<f64>>,
    own_cpu: f64,
}

fn mark(ctx: &Ctx) -> Mark {
    Mark {
        cores: cores_idle(),
        at: Instant::now(),
        done: ctx.done.load(Ordering::Relaxed),
        errors: ctx.errors.load(Ordering::Relaxed),
        gateway_cpu: ctx.opts.pid.and_then(proc_cpu),
        others: ctx.opts.other_pids.iter().map(|p| proc_cpu(*p)).collect(),
        own_cpu: self_cpu(),
    }
}

/// JSON for the window between two marks.
fn window_json(ctx: &Ctx, a: &Mark, b: &Mark, requests: u64) -> Vec<(String, String)> {
    let secs = (b.at - a.at).as_secs_f64();
    let mut out = vec![
        ("seconds".into(), format!("{secs:.3}")),
        ("requests".into(), requests.to_string()),
        ("errors".into(), (b.errors - a.errors).to_string()),
        ("rate".into(), format!("{:.1}", requests as f64 / secs)),
        (
            "loadgen_cpu_s".into(),
            format!("{:.3}", b.own_cpu - a.own_cpu),
        ),
    ];
    if let (Some(x), Some(y)) = (a.gateway_cpu, b.gateway_cpu) {
        let cpu = y - x;
        out.push(("gateway_cpu_s".into(), format!("{cpu:.3}")));
        out.push(("gateway_cpu_util".into(), format!("{:.3}", cpu / secs)));
        if requests > 0 {
            out.push((
                "gateway_cpu_us_per_req".into(),
                format!("{:.2}", cpu * 1e6 / requests as f64),
            ));
        }
    }
    let others: Vec<String> = a
        .others
        .iter()
        .zip(&b.others)
        .map(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => format!("{:.3}", y - x),
            _ => "null".into(),
        })
        .collect();
    out.push(("other_cpu_s".into(), format!("[{}]", others.join(","))));
    let cores: Vec<String> = a
        .cores
        .iter()
        .zip(&b.cores)
        .map(|(x, y)| format!("{:.3}", (secs - (y - x)).max(0.0)))
        .collect();
    out.push(("core_busy_s".into(), format!("[{}]", cores.join(","))));
    let kx = ctx.kx_name.lock().expect("lock").clone();
    out.push((
        "kx".into(),
        kx.map(|k| format!("\"{k}\""))
            .unwrap_or_else(|| "null".into()),
    ));
    if let Some(e) = ctx.first_error.lock().expect("lock").clone() {
        out.push(("first_error".into(), format!("{e:?}")));
    }
    out
}

fn print_json(mode: &str, fields: Vec<(String, String)>) {
    let body: Vec<String> = fields
        .into_iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    println!("{{\"mode\":\"{mode}\",{}}}", body.join(","));
}

async fn run_closed_loop(ctx: Arc<Ctx>) {
    let mut workers = Vec::new();
    for _ in 0..ctx.opts.concurrency {
        let ctx = ctx.clone();
        workers.push(match ctx.opts.mode {
            Mode::Handshakes => tokio::spawn(handshake_worker(ctx)),
            _ => tokio::spawn(keepalive_worker(ctx)),
        });
    }
    tokio::time::sleep(Duration::from_secs_f64(ctx.opts.warmup)).await;
    let a = mark(&ctx);
    tokio::time::sleep(Duration::from_secs_f64(ctx.opts.duration)).await;
    let b = mark(&ctx);
    ctx.stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(3), w).await;
    }
    let mode = if ctx.opts.mode == Mode::Handshakes {
        "handshakes"
    } else {
        "keepalive"
    };
    let mut fields = window_json(&ctx, &a, &b, b.done - a.done);
    fields.push(("concurrency".into(), ctx.opts.concurrency.to_string()));
    print_json(mode, fields);
}

/// Releases one scheduled time per request, at that time, from its own
/// thread (tokio's timer has millisecond granularity; nanosleep with a
/// 1 µs timer slack does not).
fn pacer(tx: tokio::sync::mpsc::UnboundedSender<Instant>, start: Instant, rate: f64, end: Instant) {
    // SAFETY: prctl(PR_SET_TIMERSLACK) only changes this thread's slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1u64, 0u64, 0u64, 0u64);
    }
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut i: u32 = 0;
    loop {
        let at = start + interval * i;
        if at >= end {
            break;
        }
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
        if tx.send(at).is_err() {
            break;
        }
        i += 1;
    }
}

async fn latency_worker(
    ctx: Arc<Ctx>,
    rx: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Instant>>>,
    window: (Instant, Instant),
) -> Vec<(u64, u64)> {
    let mut samples = Vec::new();
    let mut conn: Option<(SendRequest<Empty<Bytes>>, tokio::task::JoinHandle<()>)> = None;
    loop {
        let scheduled = {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(t) => t,
                None => break,
            }
        };
        if conn.is_none() {
            match open(&ctx).await {
                Ok((s, c)) => {
                    conn = Some((
                        s,
                        tokio::spawn(async move {
                            let _ = c.await;
                        }),
                    ))
                }
                Err(e) => {
                    ctx.error(e);
                    continue;
                }
            }
        }
        let Some((sender, _)) = conn.as_mut() else {
            continue;
        };
        match exchange(&ctx, sender, false).await {
            Ok(()) => {
                let latency = scheduled.elapsed();
                if scheduled >= window.0 && scheduled < window.1 {
                    ctx.done.fetch_add(1, Ordering::Relaxed);
                    samples.push((
                        latency.as_nanos() as u64,
                        (scheduled - window.0).as_nanos() as u64,
                    ));
                }
            }
            Err(e) => {
                ctx.error(e);
                if let Some((_, task)) = conn.take() {
                    task.abort();
                }
            }
        }
    }
    if let Some((_, task)) = conn.take() {
        task.abort();
    }
    samples
}

async fn run_latency(ctx: Arc<Ctx>) {
    // Open the pool first so the schedule does not include handshakes.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let start = Instant::now() + Duration::from_millis(200);
    let window = (
        start + Duration::from_secs_f64(ctx.opts.warmup),
        start + Duration::from_secs_f64(ctx.opts.warmup + ctx.opts.duration),
    );
    let mut workers = Vec::new();
    for _ in 0..ctx.opts.concurrency {
        workers.push(tokio::spawn(latency_worker(
            ctx.clone(),
            rx.clone(),
            window,
        )));
    }
    let rate = ctx.opts.rate;
    let end = window.1;
    let pacer = std::thread::spawn(move || pacer(tx, start, rate, end));
    tokio::time::sleep_until(window.0.into()).await;
    let a = mark(&ctx);
    tokio::time::sleep_until(window.1.into()).await;
    let b = mark(&ctx);
    let _ = pacer.join();
    let mut samples = Vec::new();
    for w in workers {
        if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_secs(10), w).await {
            samples.extend(s);
        }
    }
    // LOADGEN_DUMP=FILE: every sample as "scheduled_us latency_us", for
    // finding out when slow requests happened.
    if let Ok(path) = std::env::var("LOADGEN_DUMP") {
        let text: String = samples
            .iter()
            .map(|(lat, at)| format!("{} {}\n", at / 1000, lat / 1000))
            .collect();
        let _ = std::fs::write(path, text);
    }
    let mut samples: Vec<u64> = samples.into_iter().map(|(lat, _)| lat).collect();
    samples.sort_unstable();
    let scheduled = (ctx.opts.duration * rate).round() as u64;
    let pct = |p: f64| -> f64 {
        if samples.is_empty() {
            return f64::NAN;
        }
        let idx = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[idx] as f64 / 1e6
    };
    let n = samples.len() as u64;
    let mut fields = window_json(&ctx, &a, &b, n);
    fields.push(("target_rate".into(), format!("{rate:.0}")));
    fields.push(("scheduled".into(), scheduled.to_string()));
    fields.push(("concurrency".into(), ctx.opts.concurrency.to_string()));
    for (name, p) in [
        ("p50_ms", 0.5),
        ("p90_ms", 0.9),
        ("p99_ms", 0.99),
        ("p999_ms", 0.999),
    ] {
        fields.push((name.into(), format!("{:.4}", pct(p))));
    }
    fields.push((
        "max_ms".into(),
        format!(
            "{:.4}",
            samples.last().map(|v| *v as f64 / 1e6).unwrap_or(f64::NAN)
        ),
    ));
    print_json("latency", fields);
}

async fn run_idle(ctx: Arc<Ctx>) {
    let target = ctx.opts.connections;
    let held = Arc::new(Mutex::new(Vec::with_capacity(target)));
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut openers = Vec::new();
    for _ in 0..ctx.opts.concurrency.min(target.max(1)) {
        let ctx = ctx.clone();
        let held = held.clone();
        let next = next.clone();
        openers.push(tokio::spawn(async move {
            while (next.fetch_add(1, Ordering::Relaxed) as usize) < target {
                let result: Result<(), Error> = async {
                    let (mut sender, conn) = open(&ctx).await?;
                    let task = tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    exchange(&ctx, &mut sender, false).await?;
                    held.lock().expect("lock").push((sender, task));
                    Ok(())
                }
                .await;
                match result {
                    Ok(()) => {
                        ctx.done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => ctx.error(e),
                }
            }
        }));
    }
    for o in openers {
        let _ = o.await;
    }
    let open_now = held.lock().expect("lock").len();
    let mut fields = vec![
        ("ready".into(), "true".into()),
        ("open".into(), open_now.to_string()),
        (
            "errors".into(),
            ctx.errors.load(Ordering::Relaxed).to_string(),
        ),
        (
            "seconds_to_open".into(),
            format!("{:.3}", started.elapsed().as_secs_f64()),
        ),
    ];
    if let Some(e) = ctx.first_error.lock().expect("lock").clone() {
        fields.push(("first_error".into(), format!("{e:?}")));
    }
    print_json("idle", fields);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::time::sleep(Duration::from_secs_f64(ctx.opts.hold)).await;
    // Count the connections the server closed while we held them.
    let closed = held
        .lock()
        .expect("lock")
        .iter()
        .filter(|(s, _)| s.is_closed())
        .count();
    print_json(
        "idle_end",
        vec![("closed_by_server".into(), closed.to_string())],
    );
}

fn raise_nofile() {
    // SAFETY: get/setrlimit on our own process with a valid struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    raise_nofile();
    let config = match client_config(&opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let sni = match ServerName::try_from(opts.server_name.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --server-name: {e}");
            return ExitCode::from(2);
        }
    };
    let ctx = Arc::new(Ctx {
        connector: TlsConnector::from(config),
        sni,
        done: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        kx_name: Mutex::new(None),
        first_error: Mutex::new(None),
        opts,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        match ctx.opts.mode {
            Mode::Handshakes | Mode::Keepalive => run_closed_loop(ctx.clone()).await,
            Mode::Latency => run_latency(ctx.clone()).await,
            Mode::Idle => run_idle(ctx.clone()).await,
        }
    });
    if ctx.done.load(Ordering::Relaxed) == 0 {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
