//! The small plain-HTTP/1.1 listeners beside the gateway (the admin
//! listener, the CRL listener): one accept loop with the same bounds for
//! both. At most `max_connections` are served at once (more wait in the
//! accept queue), a request head is at most [`MAX_HEAD_BYTES`] with
//! [`MAX_HEADER_FIELDS`] fields and must arrive within [`HEADER_TIMEOUT`],
//! and a connection is dropped after [`CONNECTION_TIMEOUT`].

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Deadline for a request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest life of a connection.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest request head read (hyper's smallest read buffer).
pub const MAX_HEAD_BYTES: usize = 8192;

/// Most header fields in a request.
pub const MAX_HEADER_FIELDS: usize = 32;

/// Serves `listener` with `answer` until the process exits; a failed
/// accept is reported to `accept_failed` (each listener logs it under its
/// own target) and retried after 50 ms.
pub fn spawn<A, F>(
    listener: TcpListener,
    max_connections: usize,
    accept_failed: fn(&std::io::Error),
    answer: A,
) where
    A: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(accept_loop(
        listener,
        max_connections,
        accept_failed,
        Arc::new(answer),
    ));
}

async fn accept_loop<A, F>(
    listener: TcpListener,
    max_connections: usize,
    accept_failed: fn(&std::io::Error),
    answer: Arc<A>,
) where
    A: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(max_connections));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                accept_failed(&e);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let answer = answer.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let answer = answer.clone();
                async move { Ok::<_, Infallible>(answer(req).await) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .max_headers(MAX_HEADER_FIELDS);
            let conn = builder.serve_connection(TokioIo::new(tcp), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
            drop(permit);
        });
    }
}
