//! The `after_publish` hook (`[hooks] after_publish = "CMD"` in
//! `mtlsctl.toml`): a shell command run after the PKI publishes CRLs,
//! `crls.pem` or `trust.pem`, so that relying parties that read those files
//! (nginx, HAProxy, Envoy) reload them. docs/hooks.md is the user's view.
//!
//! Why it is shaped this way:
//!
//! - **Once per command, after the lock.** [`crate::pki::publish::repair`]
//!   is the one place that writes published files; it [`note`]s each path
//!   it wrote in this process's list. The command layer (and `serve`'s CRL
//!   re-signing) calls [`after_publish`] once at the end, when the PKI
//!   lock is released, so that `rotate --all --revoke-previous` runs the
//!   hook once and a hook may itself run `mtlsctl` (which takes the lock)
//!   without waiting for it. An empty list runs nothing.
//! - **The publication stands.** The hook runs after the change is
//!   committed and published; its failure is reported (a `warning:` line,
//!   a record in `audit.log`) but undoes nothing and does not change the
//!   command's exit code.
//! - **Bounded and clean.** `sh -c CMD` in the PKI directory, stdin from
//!   `/dev/null`, stdout and stderr captured (never mixed into mtlsctl's
//!   own stdout, which may carry `--json`), in its own process group,
//!   killed as a group at the timeout. Every `MTLSCTL_*` variable of
//!   mtlsctl's environment is removed (the CA passphrase travels in one)
//!   and only what names the publication is set.

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::pki::audit::{self, AuditEvent};
use crate::pki::fsio::FsError;
use crate::pki::{Pki, PkiError};

/// The paths published by this process since the last [`after_publish`].
static PUBLISHED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// How much of the hook's output is kept for the log and `audit.log`.
const OUTPUT_TAIL: u64 = 1024;

/// Records that `paths` were written (made absolute against the current
/// directory, which the hook's `MTLSCTL_PUBLISHED` needs).
pub fn note(paths: impl IntoIterator<Item = PathBuf>) {
    let mut published = PUBLISHED.lock().unwrap_or_else(|e| e.into_inner());
    for path in paths {
        published.insert(std::path::absolute(&path).unwrap_or(path));
    }
}

/// Takes the noted paths, leaving the list empty.
fn take() -> Vec<PathBuf> {
    let mut published = PUBLISHED.lock().unwrap_or_else(|e| e.into_inner());
    std::mem::take(&mut *published).into_iter().collect()
}

/// How a hook run ended.
#[derive(Debug)]
pub enum Outcome {
    /// It exited with this status (0 is success).
    Exited(i32),
    /// A signal ended it (not ours).
    Signaled(i32),
    /// It ran past the timeout and its process group was killed.
    TimedOut(Duration),
    /// `sh` could not be started.
    NotStarted(std::io::Error),
}

/// One run of the `after_publish` hook.
#[derive(Debug)]
pub struct HookRun {
    /// The command, as configured.
    pub command: String,
    /// What published: `revoke`, `crl`, `crl-refresh`, ...
    pub event: &'static str,
    /// The files published, absolute.
    pub published: Vec<PathBuf>,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it ran.
    pub elapsed: Duration,
    /// The last [`OUTPUT_TAIL`] bytes of its stdout and stderr, trimmed.
    pub output_tail: String,
    /// Why its record could not be appended to `audit.log`, if it could not.
    pub audit_error: Option<FsError>,
}

impl HookRun {
    /// True when it exited 0.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Exited(0))
    }

    /// One sentence for the log or stderr, without a `note:`/`warning:`
    /// prefix: what ran, how it ended, and on failure what to do.
    pub fn summary(&self) -> String {
        let ran = format!(
            "after_publish hook `{}` (event {})",
            self.command, self.event
        );
        let secs = self.elapsed.as_secs_f64();
        let mut text = match &self.outcome {
            Outcome::Exited(0) => return format!("{ran} exited 0 after {secs:.2} s"),
            Outcome::Exited(code) => format!("{ran} exited with status {code} after {secs:.2} s"),
            Outcome::Signaled(signal) => {
                format!("{ran} was ended by signal {signal} after {secs:.2} s")
            }
            Outcome::TimedOut(limit) => format!(
                "{ran} did not finish within {} s (hooks.after_publish_timeout) and was killed",
                limit.as_secs()
            ),
            Outcome::NotStarted(e) => format!("{ran} could not be started: {e}"),
        };
        text.push_str(
            "; the publication stands; fix the hook in mtlsctl.toml and run its command by hand",
        );
        if !self.output_tail.is_empty() {
            text.push_str("; its output ended: ");
            text.push_str(&self.output_tail);
        }
        text
    }
}

/// Runs the `after_publish` hook of the PKI at `dir` when this process
/// published anything since the last call, and records the run in
/// `audit.log`. `None` when nothing was published or no hook is set.
/// Call it once a command is done and holds no PKI lock.
pub fn after_publish(dir: &Path, event: &'static str) -> Result<Option<HookRun>, PkiError> {
    let published = take();
    if published.is_empty() {
        return Ok(None);
    }
    let pki = Pki::open(dir)?;
    let hooks = &pki.settings().hooks;
    let Some(command) = hooks.after_publish.clone() else {
        return Ok(None);
    };
    let root = std::path::absolute(pki.layout().root())
        .map_err(|e| FsError::new("resolve", pki.layout().root(), e))?;
    let started = Instant::now();
    let (outcome, output_tail) = run(&command, &root, event, &published, hooks.timeout());
    let mut run = HookRun {
        command,
        event,
        published,
        outcome,
        elapsed: started.elapsed(),
        output_tail,
        audit_error: None,
    };
    run.audit_error = audit::append(pki.layout(), &record(&run)).err();
    Ok(Some(run))
}

/// The hook's `audit.log` record.
fn record(run: &HookRun) -> AuditEvent<'static> {
    let (outcome, exit_code, signal) = match &run.outcome {
        Outcome::Exited(0) => ("ok", Some(0), None),
        Outcome::Exited(code) => ("failed", Some(*code), None),
        Outcome::Signaled(signal) => ("failed", None, Some(*signal)),
        Outcome::TimedOut(_) => ("timeout", None, None),
        Outcome::NotStarted(_) => ("not_started", None, None),
    };
    let mut details = serde_json::json!({
        "event": run.event,
        "command": run.command,
        "published": run.published.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "outcome": outcome,
        "exit_code": exit_code,
        "signal": signal,
        "duration_ms": u64::try_from(run.elapsed.as_millis()).unwrap_or(u64::MAX),
    });
    if !run.succeeded() {
        details["output_tail"] = serde_json::Value::String(run.output_tail.clone());
    }
    AuditEvent::new("hook.after_publish", details)
}

/// `sh -c COMMAND` in `root` with the hook's environment, killed (with
/// its process group) after `timeout`: how it ended and its output's tail.
fn run(
    command: &str,
    root: &Path,
    event: &str,
    published: &[PathBuf],
    timeout: Duration,
) -> (Outcome, String) {
    // Output goes to an unlinked temp file rather than pipes: a background
    // child of the hook that keeps a pipe open cannot hold mtlsctl up.
    let capture = match tempfile::tempfile() {
        Ok(file) => file,
        Err(e) => return (Outcome::NotStarted(e), String::new()),
    };
    let (stdout, stderr) = match (capture.try_clone(), capture.try_clone()) {
        (Ok(out), Ok(err)) => (out, err),
        (Err(e), _) | (_, Err(e)) => return (Outcome::NotStarted(e), String::new()),
    };
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MTLSCTL_") {
            cmd.env_remove(name);
        }
    }
    let list: Vec<String> = published.iter().map(|p| p.display().to_string()).collect();
    cmd.env("MTLSCTL_PKI", root)
        .env("MTLSCTL_EVENT", event)
        .env("MTLSCTL_PUBLISHED", list.join("\n"));
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return (Outcome::NotStarted(e), String::new()),
    };
    let deadline = Instant::now() + timeout;
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                break match (status.code(), status.signal()) {
                    (Some(code), _) => Outcome::Exited(code),
                    (None, Some(signal)) => Outcome::Signaled(signal),
                    (None, None) => Outcome::Exited(-1),
                };
            }
            Ok(None) if Instant::now() >= deadline => {
                kill_group(child.id());
                let _ = child.wait();
                break Outcome::TimedOut(timeout);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                kill_group(child.id());
                let _ = child.wait();
                break Outcome::NotStarted(e);
            }
        }
    };
    (outcome, tail(capture))
}

/// SIGKILL to the hook's process group (its id is the shell's pid, since
/// the shell was started with `process_group(0)`).
fn kill_group(pid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pid) {
        // SAFETY: killpg takes a process group id and a signal number; the
        // group is the hook's own (never 0 or 1, which would mean ours or init).
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// The last [`OUTPUT_TAIL`] bytes of the captured output, as text, trimmed,
/// line breaks shown as ` | ` so that it stays one log line.
fn tail(mut file: std::fs::File) -> String {
    let len = file.seek(SeekFrom::End(0)).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(OUTPUT_TAIL)));
    let mut bytes = Vec::new();
    let _ = file.take(OUTPUT_TAIL).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes)
        .trim()
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_gets_the_publication_its_directory_and_its_output_tail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (outcome, out) = run(
            "echo \"$MTLSCTL_EVENT|$MTLSCTL_PUBLISHED|$(pwd)\"; echo oops >&2; exit 3",
            dir.path(),
            "revoke",
            &[PathBuf::from("/a/b.crl"), PathBuf::from("/a/crls.pem")],
            Duration::from_secs(10),
        );
        assert!(matches!(outcome, Outcome::Exited(3)), "{outcome:?}");
        let here = dir.path().canonicalize().expect("canonical");
        assert_eq!(
            out,
            format!("revoke|/a/b.crl | /a/crls.pem|{} | oops", here.display())
        );
    }

    #[test]
    fn a_hook_that_hangs_is_killed_with_its_children() {
        let dir = tempfile::tempdir().expect("temp dir");
        let started = Instant::now();
        let (outcome, _) = run(
            "sleep 30 & sleep 30",
            dir.path(),
            "crl",
            &[],
            Duration::from_millis(300),
        );
        assert!(matches!(outcome, Outcome::TimedOut(_)), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
