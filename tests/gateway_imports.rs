//! Holds the gateway's import rule (ARCHITECTURE.md): a file under
//! src/gateway/ names other gateway files only through their own modules,
//! never an item of mod.rs (which only runs the accept loop), and the
//! files import each other without a cycle. Read from the sources, since
//! the compiler accepts both.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each gateway module and the gateway modules its code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gateway");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("src/gateway is readable") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("a readable source file");
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
        graph.insert(module, named);
    }
    graph
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
