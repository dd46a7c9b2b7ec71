//! `inspect FILE`: works without a PKI.

use zeroize::Zeroizing;

use crate::cli::InspectArgs;
use crate::error::Error;
use crate::output::json::{CertInfoJson, InspectJson};
use crate::output::{Printer, prompt, table};
use crate::pki::fsio;
use crate::pki::inspect::{self, InspectError, Inspected};

/// The environment variable scripts use for a PKCS#12 password.
const P12_PASSWORD_ENV: &str = "MTLSCTL_P12_PASSWORD";

pub fn run(args: InspectArgs, printer: Printer) -> Result<(), Error> {
    let bytes = fsio::read_input(&args.file).map_err(Error::InputFile)?;
    let password = match &args.password_file {
        Some(path) => Some(fsio::read_first_line(path).map_err(Error::SecretFile)?),
        None => std::env::var(P12_PASSWORD_ENV).ok().map(Zeroizing::new),
    };
    let inspected = match inspect::inspect(&bytes, password.as_ref().map(|p| p.as_str())) {
        Err(InspectError::Unrecognised(_))
            if password.is_none() && bytes.first() == Some(&0x30) && prompt::interactive() =>
        {
            let typed = Zeroizing::new(prompt::secret("PKCS#12 password", false)?);
            inspect::inspect(&bytes, Some(&typed))
        }
        other => other,
    }
    .map_err(|source| Error::Inspect {
        path: args.file.clone(),
        source,
    })?;
    let now = crate::pki::time::now();
    match &inspected {
        Inspected::Certificates(certs) => {
            let json = InspectJson::Certificates {
                certificates: certs.iter().map(CertInfoJson::from).collect(),
            };
            printer.emit(&json, || {
                let mut out = String::new();
                for (i, c) in certs.iter().enumerate() {
                    if certs.len() > 1 {
                        out.push_str(&format!(
                            "{}certificate {} of {}:\n",
                            if i > 0 { "\n" } else { "" },
                            i + 1,
                            certs.len()
                        ));
                    }
                    out.push_str(&table::cert_info(c, now));
                }
                out
            })
        }
        Inspected::Csr(csr) => printer.emit(&InspectJson::csr(csr), || table::csr_info(csr)),
        Inspected::Crls(crls) => printer.emit(&InspectJson::crls(crls), || {
            let mut out = String::new();
            for (i, crl) in crls.iter().enumerate() {
                if crls.len() > 1 {
                    out.push_str(&format!(
                        "{}CRL {} of {}:\n",
                        if i > 0 { "\n" } else { "" },
                        i + 1,
                        crls.len()
                    ));
                }
                out.push_str(&table::crl_info(crl, now));
            }
            out
        }),
        Inspected::Pkcs12 {
            certificates,
            private_keys,
        } => {
            let json = InspectJson::Pkcs12 {
                certificates: certificates.iter().map(CertInfoJson::from).collect(),
                private_keys: *private_keys,
            };
            printer.emit(&json, || {
                let mut out = format!(
                    "type:  PKCS#12\nkeys:  {private_keys} private key(s) (not shown)\ncerts: {}\n",
                    certificates.len()
                );
                for (i, c) in certificates.iter().enumerate() {
                    out.push_str(&format!(
                        "\ncertificate {} of {}:\n",
                        i + 1,
                        certificates.len()
                    ));
                    out.push_str(&table::cert_info(c, now));
                }
                out
            })
        }
    }
}
