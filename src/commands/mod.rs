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
    let event = hook_event(&cli.command);
    let pki_dir = cli.pki.clone();
    let result = dispatch(cli, printer);
    // Once per command, with the PKI lock released, whether the command
    // then succeeded or not: what it published stands either way.
    after_publish(&pki_dir, event, printer);
    result
}

/// Runs the parsed command.
fn dispatch(cli: Cli, printer: Printer) -> Result<(), Error> {
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

/// The `MTLSCTL_EVENT` a command gives its `after_publish` hook: the
/// commands that publish CRLs or `trust.pem`, by name (docs/hooks.md).
fn hook_event(command: &Command) -> &'static str {
    match command {
        Command::Revoke(_) => "revoke",
        Command::Crl(_) => "crl",
        Command::Rotate(_) => "rotate",
        Command::Ca(CaCommand::Rotate(_)) => "ca-rotate",
        Command::Ca(CaCommand::Retire(_)) => "ca-retire",
        Command::Ca(CaCommand::Init(_)) => "ca-init",
        // Commands that publish nothing: the hook never runs for them.
        _ => "other",
    }
}

/// Runs the PKI's `after_publish` hook when the command published
/// anything, and says how it went on stderr: a `note:` when it exited 0
/// (not with --quiet), a `warning:` otherwise. The exit code stays the
/// command's: the publication is committed whatever the hook does.
fn after_publish(dir: &Path, event: &'static str, printer: Printer) {
    use std::io::Write;
    let line = match crate::pki::hooks::after_publish(dir, event) {
        Ok(None) => return,
        Ok(Some(run)) => {
            let mut line = match (run.succeeded(), printer.quiet) {
                (true, true) => String::new(),
                (true, false) => format!("note: {}", run.summary()),
                (false, _) => format!("warning: {}", run.summary()),
            };
            if let Some(e) = &run.audit_error {
                line.push_str(&format!(
                    "{}warning: the hook's run could not be recorded in audit.log: {e}",
                    if line.is_empty() { "" } else { "\n" }
                ));
            }
            line
        }
        Err(e) => format!(
            "warning: files were published but the after_publish hook could not be run: {e}"
        ),
    };
    if !line.is_empty() {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
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
