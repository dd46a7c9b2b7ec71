//! Prompts, only when a terminal is attached to both stdin and stderr.

use std::io::IsTerminal;

use crate::error::UsageError;

/// True when a person can answer a prompt.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks for a secret on the terminal, twice when `confirm` is set.
pub fn secret(prompt: &str, confirm: bool) -> Result<String, UsageError> {
    let mut input = dialoguer::Password::new().with_prompt(prompt);
    if confirm {
        input = input.with_confirmation("Repeat to confirm", "the two entries differ");
    }
    input.interact().map_err(UsageError::Prompt)
}
