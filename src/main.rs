//! Entry point: parse, run, print `error: …` and `hint: …`, exit with the
//! code from the table in error.rs.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use mtlsctl::cli::Cli;
use mtlsctl::error::Error;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let pki_dir = cli.pki.clone();
    match mtlsctl::commands::run(cli) {
        Ok(()) | Err(Error::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            // Written, not eprintln!ed: a closed or broken stderr (`2>&-`,
            // `2>&1 | head -0`, a dead log reader) must not turn the exit
            // code into a panic's 101. The code still says what happened.
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {e}");
            if let Some(hint) = e.hint(&pki_dir) {
                let _ = writeln!(stderr, "hint: {hint}");
            }
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
