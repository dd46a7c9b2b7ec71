//! man/ and completions/ are generated from the clap definitions and
//! committed; this fails when they are stale.

use std::path::Path;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn committed_man_pages_and_completions_are_fresh() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    assert_cmd::Command::cargo_bin("mtlsctl")?
        .arg("generate-docs")
        .arg(tmp.path())
        .assert()
        .success();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["man", "completions"] {
        let fresh = files(&tmp.path().join(sub));
        let committed = files(&repo.join(sub));
        assert!(!fresh.is_empty());
        let fresh_names: Vec<&String> = fresh.iter().map(|(n, _)| n).collect();
        let committed_names: Vec<&String> = committed.iter().map(|(n, _)| n).collect();
        assert_eq!(
            fresh_names, committed_names,
            "{sub}/ is stale: run `cargo run -- generate-docs .`"
        );
        for ((name, a), (_, b)) in fresh.iter().zip(committed.iter()) {
            assert!(
                a == b,
                "{sub}/{name} is stale: run `cargo run -- generate-docs .`"
            );
        }
    }
    Ok(())
}

#[test]
fn completions_command_prints_a_script() -> Result<(), Box<dyn std::error::Error>> {
    let out = assert_cmd::Command::cargo_bin("mtlsctl")?
        .args(["completions", "bash"])
        .output()?;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    assert!(
        text.contains("mtlsctl") && text.contains("complete"),
        "{text}"
    );
    let out = assert_cmd::Command::cargo_bin("mtlsctl")?
        .args(["completions", "tcsh"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}
