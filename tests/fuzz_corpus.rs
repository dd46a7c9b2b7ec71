//! Replays every committed fuzz input (fuzz/corpus/TARGET/: the seeds, and
//! each input a fuzzer found that once crashed or hung) through the same
//! entry points the cargo-fuzz targets call (src/fuzzing.rs), on stable, so
//! that a fixed crash stays fixed without a nightly toolchain. Each input
//! runs on its own thread with a deadline: a hang fails as clearly as a
//! panic does.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

type Target = fn(&[u8]);

/// An input must be handled within this (debug build, shared machine).
const DEADLINE: Duration = Duration::from_secs(20);

fn replay(target: &str, run: Target) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} has no seed", dir.display());
    for input in inputs {
        let data = std::fs::read(&input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            run(&data);
            let _ = tx.send(());
        });
        match rx.recv_timeout(DEADLINE) {
            Ok(()) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{target}: {} took over {DEADLINE:?}", input.display())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = handle.join();
                panic!("{target}: {} panicked", input.display());
            }
        }
    }
}

#[test]
fn inspect_corpus() {
    replay("inspect", mtlsctl::fuzzing::inspect);
}

#[test]
fn csr_corpus() {
    replay("csr", mtlsctl::fuzzing::csr);
}

#[test]
fn command_line_corpus() {
    replay("command_line", mtlsctl::fuzzing::command_line);
}

#[test]
fn settings_corpus() {
    replay("settings", mtlsctl::fuzzing::settings);
}

#[test]
fn request_head_corpus() {
    replay("request_head", mtlsctl::fuzzing::request_head);
}
