//! Holds the gateway's import rule (ARCHITECTURE.md): a file under
//! src/gateway/ names other gateway files only through their own modules,
//! never an item of mod.rs (which only runs the accept loop), and the
//! files import each other without a cycle. Read from the sources, since
//! the compiler accepts both.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each gateway module and the gateway modules its code names. A folder
/// (src/gateway/admin/) is one module: the union of its files, its names
/// for itself left out.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gateway");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("src/gateway is readable") {
        let path = entry.expect("a directory entry").path();
        let (module, files) = if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, rust_files(&path))
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, vec![path])
        } else {
            continue;
        };
        let mut named = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            named.extend(names_in(&text));
        }
        named.remove(&module);
        graph.insert(module, named);
    }
    graph
}

/// The .rs files under `dir`, at any depth.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The gateway modules a file's code names (`crate::gateway::NAME`).
fn names_in(text: &str) -> BTreeSet<String> {
    // Comments (doc links included) are not imports.
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut named = BTreeSet::new();
    for (at, _) in code.match_indices("crate::gateway::") {
        let rest = &code[at + "crate::gateway::".len()..];
        let group = match rest.strip_prefix('{') {
            Some(inner) => &inner[..inner.find('}').expect("a closed use group")],
            None => rest,
        };
        for item in group.split(',') {
            let first: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !first.is_empty() && first != "self" {
                named.insert(first);
            }
            if !rest.starts_with('{') {
                break;
            }
        }
    }
    named
}

#[test]
fn gateway_files_import_no_item_of_mod_rs() {
    let graph = imports();
    for (module, named) in &graph {
        if module == "mod" {
            continue;
        }
        for name in named {
            assert!(
                graph.contains_key(name) && name != "mod",
                "src/gateway/{module}.rs names crate::gateway::{name}, which is not a gateway \
                 module: import it from the module that defines it"
            );
        }
    }
}

#[test]
fn gateway_modules_import_each_other_without_a_cycle() {
    let graph = imports();
    // Depth-first, with the path so far to show the cycle.
    fn visit(
        graph: &BTreeMap<String, BTreeSet<String>>,
        module: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(module) {
            return;
        }
        if let Some(at) = path.iter().position(|m| m == module) {
            panic!(
                "import cycle in src/gateway: {} -> {module}",
                path[at..].join(" -> ")
            );
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            visit(graph, next, path, done);
        }
        path.pop();
        done.insert(module.to_owned());
    }
    let mut done = BTreeSet::new();
    for module in graph.keys().filter(|m| *m != "mod") {
        visit(&graph, module, &mut Vec::new(), &mut done);
    }
}
