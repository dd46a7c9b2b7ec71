//! Processes for the tests: a child killed when the test ends, a child's
//! output collected line by line with arrival times, and a command run
//! with a hard deadline. Every test that starts a process uses these, so
//! none can hang the suite or leave a process behind.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

// ---------------------------------------------------------------------------
// Line collection from a child's pipe, with timestamps.

pub struct Line {
    at: Instant,
    text: String,
}

#[derive(Default)]
pub struct Lines {
    lines: Vec<Line>,
    closed: bool,
}

#[derive(Clone, Default)]
pub struct SharedLines(pub Arc<(Mutex<Lines>, Condvar)>);

impl SharedLines {
    /// Collects every line `pipe` produces on a thread.
    pub fn collect(pipe: impl Read + Send + 'static) -> SharedLines {
        let shared = SharedLines::default();
        let inner = shared.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            loop {
                let mut buf = Vec::new();
                let n = reader.read_until(b'\n', &mut buf).unwrap_or(0);
                let (lock, cvar) = &*inner.0;
                let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
                if n == 0 {
                    state.closed = true;
                    cvar.notify_all();
                    return;
                }
                let text = String::from_utf8_lossy(&buf).trim_end().to_owned();
                state.lines.push(Line {
                    at: Instant::now(),
                    text,
                });
                cvar.notify_all();
            }
        });
        shared
    }

    pub fn len(&self) -> usize {
        self.0
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lines
            .len()
    }

    pub fn texts(&self, from: usize) -> Vec<String> {
        let state = self.0.0.lock().unwrap_or_else(|e| e.into_inner());
        state
            .lines
            .iter()
            .skip(from)
            .map(|l| l.text.clone())
            .collect()
    }

    /// The first line at index >= `from` that `pred` accepts, waiting up to
    /// `timeout`: (index, arrival time, text).
    pub fn wait(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<(usize, Instant, String)> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.0;
        let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut checked = from;
        loop {
            while checked < state.lines.len() {
                let line = &state.lines[checked];
                if pred(&line.text) {
                    return Some((checked, line.at, line.text.clone()));
                }
                checked += 1;
            }
            let now = Instant::now();
            if state.closed || now >= deadline {
                return None;
            }
            state = cvar
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

// ---------------------------------------------------------------------------
// A child process killed when the test ends, however it ends.

pub struct Guard {
    pub child: Child,
}

impl Guard {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Res<Option<std::process::ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// A command run to completion with a deadline.

/// Output bytes as text, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A process's status and both streams, for failure messages.
pub fn both(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// The stdout of `out`, or an error naming `shown` (the command) with
/// both streams when it failed.
pub fn succeeded(shown: &str, out: &Output) -> Res<String> {
    if !out.status.success() {
        return Err(format!("{shown} failed: {}", both(out)).into());
    }
    Ok(text(&out.stdout))
}

/// Runs a command with stdin bytes and a hard deadline (killed after it),
/// its output captured. A program that cannot be started is an error that
/// names it.
pub fn run_with_deadline(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Res<Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", cmd.get_program().to_string_lossy()))?;
    let mut input = child.stdin.take().ok_or("stdin")?;
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let mut out_pipe = child.stdout.take().ok_or("stdout")?;
    let mut err_pipe = child.stderr.take().ok_or("stderr")?;
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let mut guard = Guard { child };
    let status = guard.wait_exit(timeout)?;
    let Some(status) = status else {
        guard.kill();
        return Err(format!("{cmd:?} did not finish within {timeout:?}").into());
    };
    let _ = writer.join();
    Ok(Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------
// A child to talk to.

/// A child whose stdout lines are collected with their arrival times, and
/// whose stdin stays open for the test to write to.
pub struct Talker {
    pub proc: Guard,
    pub stdin: std::process::ChildStdin,
    pub out: SharedLines,
}

impl Talker {
    pub fn spawn(mut cmd: Command) -> Res<Talker> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("stdin")?;
        let out = SharedLines::collect(child.stdout.take().ok_or("stdout")?);
        Ok(Talker {
            proc: Guard { child },
            stdin,
            out,
        })
    }

    /// The first line at index >= `from` that is JSON and that `pred`
    /// accepts, with its arrival time.
    pub fn json(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<(usize, Instant, Value)> {
        self.out
            .wait(from, timeout, |t| {
                serde_json::from_str::<Value>(t).is_ok_and(|v| pred(&v))
            })
            .and_then(|(i, at, t)| serde_json::from_str(&t).ok().map(|v| (i, at, v)))
    }
}
