//! The domain's modules keep the order `lib.rs` states: each uses only modules listed before
//! it, so no two modules lean on each other (no circle). `make lint` runs this test.

use std::collections::BTreeSet;

fn source(name: &str) -> String {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo");
    std::fs::read_to_string(format!("{root}/src/{name}.rs"))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The modules in the order `lib.rs` declares them.
fn declared() -> Vec<String> {
    source("lib")
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_string)
        })
        .collect()
}

/// The domain's modules `text` refers to (`crate::name` paths, and names inside
/// `use crate::{...}` groups), tests left out.
fn used(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(|item| item.trim().split("::").next().unwrap_or(""))
                .collect(),
            None => vec![rest
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next()
                .unwrap_or("")],
        };
        found.extend(
            names
                .into_iter()
                .filter(|n| modules.contains(*n))
                .map(String::from),
        );
    }
    found
}

#[test]
fn each_module_uses_only_those_listed_before_it() {
    let order = declared();
    assert!(order.len() > 20, "lib.rs declares the modules: {order:?}");
    let modules: BTreeSet<String> = order.iter().cloned().collect();
    let mut broken = Vec::new();
    for (position, module) in order.iter().enumerate() {
        let earlier: BTreeSet<&String> = order[..position].iter().collect();
        for dependency in used(&source(module), &modules) {
            if dependency != *module && !earlier.contains(&dependency) {
                broken.push(format!("{module} uses {dependency}, listed after it"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "out of lib.rs's order:\n{}",
        broken.join("\n")
    );
}
