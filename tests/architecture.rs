//! The rules ARCHITECTURE.md states about who may import what, checked
//! over the sources: the gateway reads the PKI through one door
//! (`pki::snapshot`, with the model, refusal and clock items it
//! re-exports), and the PKI domain knows nothing of the gateway, the
//! commands, tokio or hyper.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the source tree") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every line of code (comments dropped) that names `needle`, as
/// `file:line: text`.
fn code_lines_naming(dir: &str, needle: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let files = rust_files(&root);
    assert!(!files.is_empty(), "no sources under {}", root.display());
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains(needle) {
                out.push((
                    format!("{}:{}", file.display(), n + 1),
                    code.trim().to_owned(),
                ));
            }
        }
    }
    out
}

/// A line of code that names a `pki` path other than `pki::snapshot…`:
/// another module, `use crate::pki;` (then `pki::layout`), a group import.
fn names_pki_beyond_the_door(code: &str) -> bool {
    code.match_indices("pki").any(|(i, _)| {
        let after = &code[i + 3..];
        (after.starts_with("::") || after.starts_with(';')) && !after.starts_with("::snapshot")
    })
}

#[test]
fn the_gateway_reads_the_pki_only_through_the_snapshot() {
    let stray: Vec<String> = code_lines_naming("src/gateway", "pki")
        .into_iter()
        .filter(|(_, code)| names_pki_beyond_the_door(code))
        .map(|(at, code)| format!("{at}: {code}"))
        .collect();
    assert!(
        stray.is_empty(),
        "gateway/ may import from pki/ only `pki::snapshot` (re-export what it needs there):\n{}",
        stray.join("\n")
    );
}

#[test]
fn the_pki_domain_knows_nothing_of_the_layers_above_it() {
    for needle in [
        "crate::gateway",
        "crate::commands",
        "crate::cli",
        "crate::output",
        "tokio",
        "hyper",
    ] {
        let found = code_lines_naming("src/pki", needle);
        assert!(
            found.is_empty(),
            "pki/ must not use {needle}:\n{}",
            found
                .iter()
                .map(|(at, code)| format!("{at}: {code}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// The check above must catch what it is for.
#[test]
fn the_import_check_sees_a_stray_import() {
    for (code, stray) in [
        ("use crate::pki::snapshot::{Snapshot, Source};", false),
        ("let t = crate::pki::snapshot::time::now();", false),
        ("use crate::pki::layout::Layout;", true),
        ("use crate::pki::{layout, snapshot};", true),
        ("use crate::pki;", true),
        ("let s = pki::inspect::cert_info(der);", true),
    ] {
        assert_eq!(names_pki_beyond_the_door(code), stray, "{code}");
    }
}
