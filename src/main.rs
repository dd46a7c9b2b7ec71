//! Entry point: parse, run, print `error: …` and `hint: …`, exit with the
//! code from the table in error.rs.

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
            eprintln!("error: {e}");
            if let Some(hint) = e.hint(&pki_dir) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
