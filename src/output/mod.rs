//! Output: human tables, or one JSON document with `--json`; `--quiet`
//! silences success output. A closed stdout pipe ends the program quietly.

pub mod json;
pub mod prompt;
pub mod table;

use std::io::{self, Write};

use serde::Serialize;

use crate::error::Error;

/// Where and how a command prints its result.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// `--json`.
    pub json: bool,
    /// `--quiet`.
    pub quiet: bool,
}

impl Printer {
    /// Prints `value` as JSON with `--json`, else `human()` as text, unless quiet.
    pub fn emit<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        if self.json {
            let mut text =
                serde_json::to_string_pretty(value).map_err(|e| Error::Output(e.into()))?;
            text.push('\n');
            return write_stdout(&text);
        }
        if self.quiet {
            return Ok(());
        }
        let mut text = human();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        write_stdout(&text)
    }
}

impl Printer {
    /// Writes bytes as they are (completion scripts), even with --quiet.
    pub fn raw(&self, bytes: &[u8]) -> Result<(), Error> {
        write_stdout(&String::from_utf8_lossy(bytes))
    }
}

fn write_stdout(text: &str) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                Error::BrokenPipe
            } else {
                Error::Output(e)
            }
        })
}
