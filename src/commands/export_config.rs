//! `export-config nginx|caddy|envoy|traefik`: gathers the PKI's facts (its
//! files' absolute paths, the chain depth, the server certificate, for
//! Caddy the client leaves), has the server certificate issued or renewed
//! as `serve` would (the same name, so the two agree), renders the
//! proxy's config (`crate::export`) and writes it to stdout or `--out`.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{ExportConfigArgs, ServerName};
use crate::commands::ca_passphrase;
use crate::error::{Error, UsageError};
use crate::export::{self, Inputs, Leaf, Proxy, Upstream};
use crate::output::Printer;
use crate::pki::fsio::{self, FsError, Mode};
use crate::pki::inventory::Inventory;
use crate::pki::layout::Layout;
use crate::pki::model::{Profile, Status};
use crate::pki::renew::{self, Due};
use crate::pki::{Pki, PkiError};

#[derive(Serialize)]
struct ExportJson {
    proxy: &'static str,
    out: String,
    server_cert: String,
    files: Vec<String>,
}

pub fn run(dir: &Path, args: ExportConfigArgs, printer: Printer) -> Result<(), Error> {
    if args.proxy == Proxy::Caddy && args.out.is_none() {
        return Err(UsageError::CaddyNeedsOut.into());
    }
    let pki = Pki::open_strict(dir)?;
    let names = if args.server_names.is_empty() {
        vec![
            ServerName::Dns("localhost".parse().expect("a valid constant")),
            ServerName::Ip(IpAddr::from([127, 0, 0, 1])),
            ServerName::Ip(IpAddr::from(Ipv6Addr::LOCALHOST)),
        ]
    } else {
        args.server_names.clone()
    };
    let server_cert = renew::server_cert_name(&names);
    let due = renew::due(&pki, &server_cert)?;
    if due != Due::No {
        let passphrase = ca_passphrase(&pki, args.passphrase.passphrase_file.as_deref())?;
        renew::provide(&pki, &names, &server_cert, due, passphrase.as_ref())?;
    }

    let root = absolute(dir)?;
    let layout = Layout::new(&root);
    let inventory = Inventory::open_for_read(&layout).map_err(PkiError::from)?;
    let generations = inventory.generations().map_err(PkiError::from)?;
    let two_tier = generations
        .iter()
        .any(|g| g.retired_at.is_none() && !g.single_tier);
    let out = args.out.as_deref().map(absolute).transpose()?;
    let leaves_dir = out.as_ref().map(|o| {
        let mut name = o.file_name().unwrap_or_default().to_os_string();
        name.push(".leaves");
        o.with_file_name(name)
    });
    let leaves = if args.proxy == Proxy::Caddy {
        client_leaves(&layout, &inventory)?
    } else {
        Vec::new()
    };
    drop(inventory);
    let upstream = args.upstream.clone().unwrap_or(Upstream {
        tls: false,
        host: "127.0.0.1".into(),
        port: 8080,
    });
    let listen = args
        .listen
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8443)));
    let inputs = Inputs {
        pki: root.clone(),
        trust: layout.trust(),
        crls: layout.crls(),
        server_chain: layout.leaf_chain(&server_cert),
        server_key: layout.leaf_key(&server_cert),
        server_cert_name: server_cert.as_str().to_owned(),
        server_names: names.iter().map(ToString::to_string).collect(),
        verify_depth: if two_tier { 2 } else { 1 },
        listen,
        upstream: upstream.clone(),
        out: out.clone(),
        leaves_dir: leaves_dir.clone(),
        leaves,
        regenerate: regenerate(&root, &args, &names, &upstream, listen, out.as_deref()),
    };
    let rendered = export::render(args.proxy, &inputs);

    let Some(out) = out else {
        return printer.raw(rendered.config.as_bytes());
    };
    if let Some(dir) = &leaves_dir {
        std::fs::create_dir_all(dir).map_err(|e| PkiError::Fs(FsError::new("create", dir, e)))?;
    }
    for (path, text) in &rendered.files {
        fsio::write_atomic(path, text.as_bytes(), Mode::Public).map_err(PkiError::from)?;
    }
    fsio::write_atomic(&out, rendered.config.as_bytes(), Mode::Public).map_err(PkiError::from)?;
    if let Some(dir) = &leaves_dir {
        remove_stale(dir, &rendered.files)?;
    }
    let json = ExportJson {
        proxy: args.proxy.as_str(),
        out: out.display().to_string(),
        server_cert: server_cert.as_str().to_owned(),
        files: rendered
            .files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect(),
    };
    printer.emit(&json, || {
        let mut text = format!(
            "wrote {} ({} config; server certificate {})\n",
            out.display(),
            args.proxy.as_str(),
            server_cert.as_str()
        );
        if !json.files.is_empty() {
            text.push_str(&format!(
                "wrote {} trusted client certificate(s) under {}\n",
                json.files.len(),
                leaves_dir
                    .as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            ));
        }
        text
    })
}

/// `path` made absolute against the current directory (symlinks kept:
/// a PKI on a Kubernetes volume is reached through one).
fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| PkiError::Fs(FsError::new("resolve", path, e)).into())
}

/// Every unrevoked, unexpired client or peer certificate whose files the
/// PKI holds (a name's current certificate), oldest first.
fn client_leaves(layout: &Layout, inventory: &Inventory) -> Result<Vec<Leaf>, Error> {
    let now = crate::pki::time::now();
    let mut leaves = Vec::new();
    for record in inventory.all(None).map_err(PkiError::from)? {
        if !record.current
            || record.status(now) != Status::Valid
            || !matches!(record.profile, Profile::Client | Profile::Peer)
        {
            continue;
        }
        let path = layout.leaf_cert(&record.name);
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| PkiError::Fs(FsError::new("read", &path, e)))?;
        leaves.push(Leaf {
            name: record.name.as_str().to_owned(),
            serial: record.serial.as_str().to_owned(),
            pem,
        });
    }
    Ok(leaves)
}

/// Removes the `.pem` files in `dir` that the new config no longer names.
fn remove_stale(dir: &Path, kept: &[(PathBuf, String)]) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| PkiError::Fs(FsError::new("list", dir, e)))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "pem") && !kept.iter().any(|(k, _)| *k == path) {
            std::fs::remove_file(&path)
                .map_err(|e| PkiError::Fs(FsError::new("remove", &path, e)))?;
        }
    }
    Ok(())
}

/// The command that writes the same export again, for the hook.
fn regenerate(
    pki: &Path,
    args: &ExportConfigArgs,
    names: &[ServerName],
    upstream: &Upstream,
    listen: SocketAddr,
    out: Option<&Path>,
) -> String {
    let w = |s: &str| export::shell_word(s);
    let mut words = vec![
        "mtlsctl".to_owned(),
        "--pki".into(),
        w(&pki.display().to_string()),
        "--quiet".into(),
        "export-config".into(),
        args.proxy.as_str().into(),
        "--upstream".into(),
        w(&upstream.url()),
        "--listen".into(),
        w(&listen.to_string()),
    ];
    if !args.server_names.is_empty() {
        for name in names {
            words.push("--server-name".into());
            words.push(w(&name.to_string()));
        }
    }
    if let Some(out) = out {
        words.push("--out".into());
        words.push(w(&out.display().to_string()));
    }
    words.join(" ")
}
