//! The log sink for `serve`: lines are appended to an in-process buffer and
//! written to stderr by a flusher thread at most [`INTERVAL`] after the
//! first of them (or at once when the buffer passes 256 KiB), so neither a
//! request nor a thread wake-up per line pays for a write(2). Nothing is
//! dropped: a full buffer is written by the logging thread itself. Dropping
//! the [`FlushGuard`] writes the rest.
//!
//! The flusher sleeps until a line arrives, so an idle gateway wakes for
//! it once a second at most. The interval is short because the flusher
//! shares the gateway's core: at 5,000 requests/s a 20 ms batch was about
//! 40 KB, whose write(2) (0.1 to 0.2 ms) held up every request that
//! arrived meanwhile.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How long the flusher gathers lines before writing them.
const INTERVAL: Duration = Duration::from_millis(5);
/// Buffer size at which the logging thread writes itself.
const HIGH_WATER: usize = 256 * 1024;

/// The sink of the running gateway, for the access log's direct writes.
static SINK: OnceLock<Arc<Shared>> = OnceLock::new();

#[derive(Default)]
struct Shared {
    buffer: Mutex<Vec<u8>>,
    /// The buffer being written; held for the write, so flushes stay in
    /// order. Swapped with `buffer`, so neither is allocated anew per batch.
    writing: Mutex<Vec<u8>>,
    /// The flusher thread, woken when a line lands in an empty buffer.
    flusher: OnceLock<std::thread::Thread>,
    stop: AtomicBool,
}

impl Shared {
    fn append(&self, bytes: &[u8]) {
        let (first, full) = {
            let mut buf = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
            let first = buf.is_empty();
            buf.extend_from_slice(bytes);
            (first, buf.len() >= HIGH_WATER)
        };
        if full {
            self.flush();
        } else if first && let Some(flusher) = self.flusher.get() {
            flusher.unpark();
        }
    }

    fn flush(&self) {
        let mut writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut buf = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::swap(&mut *buf, &mut *writing);
        }
        if !writing.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&writing);
            let _ = err.flush();
            writing.clear();
        }
    }
}

/// A `MakeWriter` for tracing-subscriber.
#[derive(Clone)]
pub struct BufferedStderr {
    shared: Arc<Shared>,
}

/// Stops the flusher and writes what is left when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        self.shared.flush();
    }
}

/// Starts the flusher thread.
pub fn buffered_stderr() -> (BufferedStderr, FlushGuard) {
    let shared = SINK.get_or_init(Arc::default).clone();
    let flusher = shared.clone();
    let thread = std::thread::Builder::new()
        .name("mtlsctl-log".into())
        .spawn(move || {
            while !flusher.stop.load(Ordering::Relaxed) {
                // Until a line arrives (or the guard stops us), then gather.
                // The timeout is a backstop; appends wake the flusher.
                std::thread::park_timeout(Duration::from_secs(1));
                let due = std::time::Instant::now() + INTERVAL;
                while let Some(left) = due.checked_duration_since(std::time::Instant::now())
                    && !flusher.stop.load(Ordering::Relaxed)
                {
                    std::thread::park_timeout(left);
                }
                flusher.flush();
            }
        })
        .ok();
    if let Some(thread) = &thread {
        let _ = shared.flusher.set(thread.thread().clone());
    }
    (
        BufferedStderr {
            shared: shared.clone(),
        },
        FlushGuard { shared, thread },
    )
}

/// Appends a whole line that was formatted without `tracing`; straight to
/// stderr when the buffered sink is not running.
pub fn write_line(line: &[u8]) {
    match SINK.get() {
        Some(shared) => shared.append(line),
        None => {
            let _ = std::io::stderr().lock().write_all(line);
        }
    }
}

/// One log line being written.
pub struct LineWriter {
    shared: Arc<Shared>,
}

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.shared.append(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BufferedStderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: self.shared.clone(),
        }
    }
}
