//! The backend's layers (ARCHITECTURE.md, "Layers"): every top-level module of `src/` sits in one
//! layer, imports only from its own layer or those below, and the modules import each other in
//! no cycle. Carries its own copy of the check (`python3 tools/layers.py` elsewhere), so it needs
//! nothing outside the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and its layer: 0 plain data, 1 adapters and helpers, 2 the shared state,
/// 3 services, 4 the RPC edge.
const LAYERS: &[(&str, u8)] = &[
    ("data", 0),
    ("config", 1),
    ("store", 1),
    ("nvim", 1),
    ("openrouter", 1),
    ("send", 1),
    ("spend", 1),
    ("prefs", 1),
    ("refs", 1),
    ("acp", 1),
    ("app", 2),
    ("models", 3),
    ("agents", 3),
    ("chats", 3),
    ("edit", 3),
    ("rpc", 4),
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line.split("//").next().unwrap_or(""));
        out.push('\n');
    }
    out
}

/// Top-level names in `crate::{a::x, b, ...}` (depth 0 only).
fn group_names(body: &str) -> Vec<String> {
    let (mut names, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for ch in body.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => names.push(std::mem::take(&mut cur)),
            _ if depth == 0 => cur.push(ch),
            _ => {}
        }
    }
    names.push(cur);
    names
        .iter()
        .filter_map(|n| {
            let w: String = n
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!w.is_empty()).then_some(w)
        })
        .collect()
}

/// Names after `prefix` (`crate::`, `super::`) in `text`, and the bodies of `crate::{...}`.
fn paths_after(text: &str, prefix: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let before_ok = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        rest = &rest[i + prefix.len()..];
        if !before_ok {
            continue;
        }
        if let Some(body) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = body
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(body.len(), |(j, _)| j);
            out.extend(group_names(&body[..end]));
        } else {
            let w: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(w);
        }
    }
}

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn import_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    let top = |p: &Path| {
        let rel = p.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let name = first.trim_end_matches(".rs").to_string();
        (name, rel.components().count() == 1)
    };
    let mods: BTreeSet<String> = files.iter().map(|f| top(f).0).collect();
    let mut graph = Graph::new();
    for f in &files {
        let (m, top_level) = top(f);
        if m == "main" || m == "lib" {
            continue;
        }
        let text = strip_comments(&std::fs::read_to_string(f).unwrap());
        let mut names = BTreeSet::new();
        paths_after(&text, "crate::", &mut names);
        if top_level {
            paths_after(&text, "super::", &mut names);
        }
        let edges = graph.entry(m.clone()).or_default();
        edges.extend(
            names
                .into_iter()
                .filter(|n| mods.contains(n) && *n != m && n != "main"),
        );
    }
    graph
}

/// A cycle in the graph, if there is one (as the path that closes it).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        v: &str,
        g: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == v) {
            let mut cycle = path[i..].to_vec();
            cycle.push(v.to_string());
            return Some(cycle);
        }
        if done.contains(v) {
            return None;
        }
        path.push(v.to_string());
        for w in g.get(v).into_iter().flatten() {
            if let Some(c) = visit(w, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(v.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|v| visit(v, graph, &mut Vec::new(), &mut done))
}

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn top_level_modules_import_each_other_in_no_cycle() {
    let graph = import_graph(&src());
    assert!(graph.len() >= 10, "found too few modules: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the modules import each other in a cycle: {}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, edges) in import_graph(&src()) {
        let Some(&lf) = layer.get(from.as_str()) else {
            wrong.push(format!(
                "{from} is in no layer: add it to LAYERS and ARCHITECTURE.md"
            ));
            continue;
        };
        for to in edges {
            match layer.get(to.as_str()) {
                Some(&lt) if lt <= lf => {}
                Some(&lt) => wrong.push(format!("{from} (layer {lf}) imports {to} (layer {lt})")),
                None => wrong.push(format!(
                    "{to} is in no layer: add it to LAYERS and ARCHITECTURE.md"
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_cycle_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::write(dir.path().join("a/mod.rs"), "use crate::{b::x, c};\n").unwrap();
    std::fs::write(
        dir.path().join("b.rs"),
        "// crate::c is a comment\nfn f() { super::a::y(); }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("c.rs"), "").unwrap();
    let graph = import_graph(dir.path());
    assert_eq!(
        graph["a"],
        BTreeSet::from(["b".to_string(), "c".to_string()])
    );
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}
