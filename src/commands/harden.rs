//! Keeps secrets out of core dumps, for every command.
//!
//! A process holding a CA passphrase, a decrypted CA key or the gateway's
//! server key must not leave them in a core file when it crashes (or is
//! sent SIGQUIT), nor let another process of the same user read its
//! memory through `/proc/PID/mem` or ptrace. So, before any command reads
//! a file: `setrlimit(RLIMIT_CORE, 0)` (soft and hard, so the process
//! cannot raise it again) and `prctl(PR_SET_DUMPABLE, 0)`, which also makes
//! `/proc/PID/*` owned by root and refuses ptrace to anyone without
//! CAP_SYS_PTRACE.
//!
//! Every command does it, `serve` included (it holds the server key, and
//! the CA passphrase when it renews its own certificate), and commands that
//! hold no secret too: one rule, applied in one place, is easier to trust
//! than a list. The cost: a debugger or `gcore` needs root, and tools
//! running as the same user cannot read `/proc/PID/` of a running gateway
//! (use its `--admin` listener for metrics instead). docs/security.md says
//! so. If the kernel refuses either call, the command does not run: fail
//! closed.

use std::io;

/// Disables core dumps and ptrace access for this process.
pub(crate) fn no_core_dumps() -> Result<(), io::Error> {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads a valid rlimit struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: PR_SET_DUMPABLE takes one integer argument; the rest are unused.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_is_not_dumpable_and_has_no_core_limit() -> Result<(), io::Error> {
        no_core_dumps()?;
        // SAFETY: PR_GET_DUMPABLE takes no argument and returns the flag.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
        let mut limit = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: getrlimit writes into a valid rlimit struct.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) }, 0);
        assert_eq!((limit.rlim_cur, limit.rlim_max), (0, 0));
        Ok(())
    }
}
