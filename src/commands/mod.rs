//! One module per subcommand: gather inputs, call the PKI domain, hand a
//! typed result to the output layer.

mod bundle;
mod ca;
mod check;
mod crl;
mod export_config;
mod harden;
mod inspect;
mod issue;
mod list;
mod revoke;
mod role;
mod rotate;
mod serve;
mod show;
mod verify;

use std::path::Path;

use crate::cli::{CaCommand, Cli, Command};
use crate::error::{Error, UsageError};
use crate::output::{Printer, prompt};
use crate::pki::fsio;
use crate::pki::keys::Passphrase;

/// The environment variable scripts use for the CA passphrase.
pub const PASSPHRASE_ENV: &str = "MTLSCTL_CA_PASSPHRASE";

/// Runs the parsed command line, in a process that dumps no core (see
/// harden.rs).
pub fn run(cli: Cli) -> Result<(), Error> {
    harden::no_core_dumps().map_err(Error::Harden)?;
    let printer = Printer {
        json: cli.json,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Ca(CaCommand::Init(args)) => ca::init(&cli.pki, args, printer),
        Command::Ca(CaCommand::Show) => ca::show(&cli.pki, printer),
        Command::Ca(CaCommand::Rotate(args)) => ca::rotate(&cli.pki, args, printer),
        Command::Ca(CaCommand::Retire(args)) => ca::retire(&cli.pki, args, printer),
        Command::Ca(CaCommand::Set(args)) => ca::set(&cli.pki, args, printer),
        Command::Revoke(args) => revoke::run(&cli.pki, args, printer),
        Command::Crl(args) => crl::run(&cli.pki, args, printer),
        Command::Rotate(args) => rotate::run(&cli.pki, args, printer),
        Command::Bundle(args) => bundle::run(&cli.pki, args, printer, cli.yes),
        Command::Verify(args) => verify::run(&cli.pki, args, printer),
        Command::Check(args) => check::run(&cli.pki, args, printer),
        Command::Role(command) => role::run(&cli.pki, command, printer),
        Command::Serve(args) => serve::run(&cli.pki, args, printer),
        Command::ExportConfig(args) => export_config::run(&cli.pki, args, printer),
        Command::Completions(args) => {
            let mut text = Vec::new();
            crate::cli::generate::completions(args.shell, &mut text);
            printer.raw(&text)
        }
        Command::GenerateDocs(args) => {
            crate::cli::generate::generate_docs(&args.dir).map_err(Error::Output)
        }
        Command::Issue(args) => issue::run(&cli.pki, args, printer),
        Command::List(args) => list::run(&cli.pki, args, printer),
        Command::Show(args) => show::run(&cli.pki, args, printer),
        Command::Inspect(args) => inspect::run(args, printer),
    }
}

/// Whether a passphrase lookup may ask on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    /// Ask when a terminal is attached (a command run by a person).
    IfTerminal,
    /// Never ask (work in the background, such as `serve`'s renewal).
    Never,
}

/// The CA passphrase when the PKI's CA keys are encrypted, else `None`.
fn ca_passphrase(pki: &crate::pki::Pki, file: Option<&Path>) -> Result<Option<Passphrase>, Error> {
    ca_passphrase_with(pki, file, Prompt::IfTerminal)
}

/// [`ca_passphrase`], asking on the terminal only if `prompt` allows.
fn ca_passphrase_with(
    pki: &crate::pki::Pki,
    file: Option<&Path>,
    prompt: Prompt,
) -> Result<Option<Passphrase>, Error> {
    if crate::pki::ca::issuing_key_encrypted(pki) {
        unlock_passphrase(file, prompt).map(Some)
    } else {
        Ok(None)
    }
}

/// Reads a secret from the first line of a file.
fn secret_from_file(path: &Path) -> Result<Passphrase, Error> {
    let text = fsio::read_first_line(path).map_err(Error::SecretFile)?;
    Passphrase::new(text).ok_or(Error::Usage(UsageError::EmptyPassphrase))
}

/// The CA passphrase for unlocking an existing key: the file, the
/// environment, or a prompt on a terminal (if `prompt` allows), in that
/// order.
fn unlock_passphrase(file: Option<&Path>, prompt: Prompt) -> Result<Passphrase, Error> {
    if let Some(path) = file {
        return secret_from_file(path);
    }
    if let Ok(text) = std::env::var(PASSPHRASE_ENV) {
        return Passphrase::new(text).ok_or(Error::Usage(UsageError::EmptyPassphrase));
    }
    if prompt == Prompt::IfTerminal && prompt::interactive() {
        let text = prompt::secret("CA key passphrase", false)?;
        return Passphrase::new(text).ok_or(Error::Usage(UsageError::EmptyPassphrase));
    }
    Err(UsageError::NoPassphraseSource { init: false }.into())
}
