//! The import graph of the client crate's top-level modules, and its cycles.
//!
//! Granularity: a *top-level module* is one entry under `src/` — a file `src/net.rs`, a folder
//! `src/net/` (every file below it, `mod.rs` included), or both, all named `net`. The crate
//! roots (`src/lib.rs`, `src/main.rs`) and `src/bin/` are not modules of the graph.
//!
//! An edge `a → b` is a path in a file of `a` that names `b`:
//! - `crate::b…` anywhere in code (`use`, `pub use`, expressions, types), and the heads of a
//!   group `crate::{b::X, c}`;
//! - `super::…::b…` whose `super`s climb to the crate root (from `src/a/x.rs`,
//!   `super::super::b`; inline `mod m { … }` blocks count as a level);
//! - `crate::Name` where `src/lib.rs` re-exports `Name` from `b` (`pub use b::Name`).
//!
//! Not edges: paths inside `a` itself (`crate::a::x` in `a`), comments and doc links, string
//! literals, visibility paths (`pub(in crate::b)`), globs of the crate root (`super::*` from
//! a top-level file). The scanner is a small tokenizer, not a parser: it reads what rustfmt
//! writes, which is all this repository has.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One token of Rust source, as much as this scanner needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// Tokens of `text` with their 1-based line, without comments, string, char and number
/// literals, and lifetimes.
fn tokens(text: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = text.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Skips to just past the `"` closing an escaped string whose opening quote is at `i`.
    let skip_string = |mut i: usize, line: &mut usize| {
        i += 1;
        while i < c.len() && c[i] != '"' {
            if c[i] == '\\' {
                i += 1;
            }
            if at(i) == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    // Skips a raw string whose `r` is at `i`: `r#*"…"#*`.
    let skip_raw = |mut i: usize, line: &mut usize| {
        i += 1;
        let mut hashes = 0;
        while at(i) == '#' {
            hashes += 1;
            i += 1;
        }
        i += 1; // the opening quote
        while i < c.len() {
            if c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                return i + 1 + hashes;
            }
            if c[i] == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i
    };
    let raw_string_at = |i: usize| {
        let mut j = i + 1;
        while at(j) == '#' {
            j += 1;
        }
        at(i) == 'r' && at(j) == '"'
    };
    while i < c.len() {
        let ch = c[i];
        match ch {
            '\n' => {
                line += 1;
                i += 1;
            }
            _ if ch.is_whitespace() => i += 1,
            '/' if at(i + 1) == '/' => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if c[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            '"' => i = skip_string(i, &mut line),
            '\'' => {
                if at(i + 1) == '\\' {
                    // An escaped char literal: '\n', '\'', '\u{1F600}'.
                    i += 3;
                    while i < c.len() && c[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if at(i + 2) == '\'' {
                    i += 3; // 'x'
                } else {
                    // A lifetime or label: 'a, 'static.
                    i += 1;
                    while at(i).is_alphanumeric() || at(i) == '_' {
                        i += 1;
                    }
                }
            }
            'b' | 'c' if at(i + 1) == '"' => i = skip_string(i + 1, &mut line),
            'b' if at(i + 1) == '\'' => {
                i += 1; // b'x' is a char literal after the prefix
                if at(i + 1) == '\\' {
                    i += 3;
                    while i < c.len() && c[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else {
                    i += 3;
                }
            }
            'b' | 'c' if raw_string_at(i + 1) => i = skip_raw(i + 1, &mut line),
            'r' if raw_string_at(i) => i = skip_raw(i, &mut line),
            'r' if at(i + 1) == '#' && (at(i + 2).is_alphabetic() || at(i + 2) == '_') => {
                i += 2; // a raw identifier: the word itself follows
            }
            _ if ch.is_alphabetic() || ch == '_' => {
                let start = i;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
                out.push((Tok::Ident(c[start..i].iter().collect()), line));
            }
            _ if ch.is_ascii_digit() => {
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
            }
            ':' if at(i + 1) == ':' => {
                out.push((Tok::PathSep, line));
                i += 2;
            }
            _ => {
                out.push((Tok::Punct(ch), line));
                i += 1;
            }
        }
    }
    out
}

fn is_ident(t: Option<&(Tok, usize)>, name: &str) -> bool {
    matches!(t, Some((Tok::Ident(x), _)) if x == name)
}

fn is_tok(t: Option<&(Tok, usize)>, want: &Tok) -> bool {
    t.is_some_and(|(t, _)| t == want)
}

/// The first segments of the path (or use group) starting at `toks[i]`: `b` for `b::x`,
/// `b` and `c` for `{b::x, c}`. `self` and globs name no module and are left out.
fn path_heads(toks: &[(Tok, usize)], i: usize) -> Vec<(String, usize)> {
    match toks.get(i) {
        Some((Tok::Ident(x), line)) if x != "self" => vec![(x.clone(), *line)],
        Some((Tok::Punct('{'), _)) => {
            let mut heads = Vec::new();
            let (mut depth, mut expect_head) = (0, true);
            for (t, line) in &toks[i..] {
                match t {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Tok::Punct(',') if depth == 1 => expect_head = true,
                    Tok::Ident(x) if depth == 1 && expect_head => {
                        expect_head = false;
                        if x != "self" {
                            heads.push((x.clone(), *line));
                        }
                    }
                    _ if depth == 1 => expect_head = false,
                    _ => {}
                }
            }
            heads
        }
        _ => Vec::new(),
    }
}

/// The names a file at module depth `depth` (1 for `src/a.rs` and `src/a/mod.rs`, 2 for
/// `src/a/x.rs`, …) reaches at the crate root, with their lines: the heads of `crate::`
/// paths and of `super::` chains that climb to the root.
pub fn root_references(text: &str, depth: usize) -> Vec<(String, usize)> {
    let toks = tokens(text);
    let mut refs = Vec::new();
    let mut brace = 0usize;
    let mut inline_mods: Vec<usize> = Vec::new();
    let mut pending_mod = false;
    for (i, (t, _)) in toks.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        let next = toks.get(i + 1);
        match t {
            Tok::Ident(x) if x == "mod" => pending_mod = true,
            Tok::Punct(';') => pending_mod = false,
            Tok::Punct('{') => {
                brace += 1;
                if pending_mod {
                    inline_mods.push(brace);
                    pending_mod = false;
                }
            }
            Tok::Punct('}') => {
                if inline_mods.last() == Some(&brace) {
                    inline_mods.pop();
                }
                brace = brace.saturating_sub(1);
            }
            // `pub(in crate::x)` restricts visibility; it imports nothing.
            Tok::Ident(x)
                if x == "crate" && is_tok(next, &Tok::PathSep) && !is_ident(prev, "in") =>
            {
                refs.extend(path_heads(&toks, i + 2));
            }
            Tok::Ident(x)
                if x == "super"
                    && is_tok(next, &Tok::PathSep)
                    && !is_tok(prev, &Tok::PathSep)
                    && !is_ident(prev, "in") =>
            {
                let mut j = i;
                let mut climbs = 0;
                while is_ident(toks.get(j), "super") && is_tok(toks.get(j + 1), &Tok::PathSep) {
                    climbs += 1;
                    j += 2;
                }
                if climbs == depth + inline_mods.len() {
                    refs.extend(path_heads(&toks, j));
                }
            }
            _ => {}
        }
    }
    refs
}

/// Names `src/lib.rs` re-exports, and the module each comes from: `pub use error::AppError`
/// gives `AppError → error`. Only names whose first segment is one of `modules`.
pub fn root_reexports(lib_rs: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let toks = tokens(lib_rs);
    let mut names = BTreeMap::new();
    for (i, (t, _)) in toks.iter().enumerate() {
        if matches!(t, Tok::Ident(x) if x == "use") {
            let mut leaves = Vec::new();
            use_tree(&toks, i + 1, None, &mut leaves);
            for (first, name) in leaves {
                if modules.contains(&first) {
                    names.insert(name, first);
                }
            }
        }
    }
    names
}

/// Parses one use tree at `toks[i]`, pushing (first segment, name it binds) per leaf;
/// returns the index after it. A leading `crate::` or `self::` is skipped.
fn use_tree(
    toks: &[(Tok, usize)],
    mut i: usize,
    first: Option<&str>,
    leaves: &mut Vec<(String, String)>,
) -> usize {
    let mut first = first.map(str::to_owned);
    loop {
        match toks.get(i) {
            Some((Tok::Ident(x), _)) => {
                let root_prefix = first.is_none() && (x == "crate" || x == "self");
                let mut name = x.clone();
                if first.is_none() && !root_prefix {
                    first = Some(x.clone());
                }
                i += 1;
                if is_tok(toks.get(i), &Tok::PathSep) {
                    i += 1;
                    continue;
                }
                if is_ident(toks.get(i), "as") {
                    if let Some((Tok::Ident(alias), _)) = toks.get(i + 1) {
                        name.clone_from(alias);
                    }
                    i += 2;
                }
                if let Some(first) = first {
                    leaves.push((first, name));
                }
                return i;
            }
            Some((Tok::Punct('{'), _)) => {
                i += 1;
                loop {
                    if is_tok(toks.get(i), &Tok::Punct('}')) {
                        return i + 1;
                    }
                    let after = use_tree(toks, i, first.as_deref(), leaves);
                    if after == i {
                        return i; // not a use tree: stop rather than loop
                    }
                    i = after;
                    if is_tok(toks.get(i), &Tok::Punct(',')) {
                        i += 1;
                    }
                }
            }
            _ => return i,
        }
    }
}

/// The top-level module a path under `src/` belongs to, and the module depth of the file:
/// `net.rs` and `net/mod.rs` → (`net`, 1), `net/link.rs` → (`net`, 2). `None` for the crate
/// roots, `bin/` and anything not `.rs`.
pub fn module_of(rel: &str) -> Option<(String, usize)> {
    let parts: Vec<&str> = rel.split('/').collect();
    let file = parts.last()?.strip_suffix(".rs")?;
    let top = parts.first()?.trim_end_matches(".rs");
    if (parts.len() == 1 && (file == "lib" || file == "main")) || top == "bin" {
        return None;
    }
    let depth = if file == "mod" {
        parts.len() - 1
    } else {
        parts.len()
    };
    Some((top.to_owned(), depth))
}

/// An import of module `to` by module `from`, where it was seen first and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub at: String,
    pub count: usize,
}

/// The edges between top-level modules, from `(path under src/, text)` of every file
/// (`lib.rs` included, for its re-exports), sorted by (from, to).
pub fn edges(files: &[(String, String)]) -> Vec<Edge> {
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|(rel, _)| module_of(rel).map(|(m, _)| m))
        .collect();
    let reexports = files
        .iter()
        .find(|(rel, _)| rel == "lib.rs")
        .map(|(_, text)| root_reexports(text, &modules))
        .unwrap_or_default();
    let mut found: BTreeMap<(String, String), Edge> = BTreeMap::new();
    for (rel, text) in files {
        let Some((from, depth)) = module_of(rel) else {
            continue;
        };
        for (name, line) in root_references(text, depth) {
            let to = if modules.contains(&name) {
                name
            } else if let Some(m) = reexports.get(&name) {
                m.clone()
            } else {
                continue; // a macro or an item of the root itself
            };
            if to == from {
                continue;
            }
            found
                .entry((from.clone(), to.clone()))
                .and_modify(|e| e.count += 1)
                .or_insert_with(|| Edge {
                    from: from.clone(),
                    to,
                    at: format!("src/{rel}:{line}"),
                    count: 1,
                });
        }
    }
    found.into_values().collect()
}

/// The modules that import each other in a circle: the strongly connected components of
/// more than one module, each sorted, in sorted order.
pub fn cycles(edges: &[Edge]) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in edges {
        graph.entry(&e.from).or_default().push(&e.to);
        graph.entry(&e.to).or_default();
    }
    // Two passes of Kosaraju: finishing order on the graph, then components on its reverse.
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for &start in graph.keys() {
        if !seen.insert(start) {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        while let Some((node, k)) = stack.pop() {
            if let Some(&next) = graph[node].get(k) {
                stack.push((node, k + 1));
                if seen.insert(next) {
                    stack.push((next, 0));
                }
            } else {
                order.push(node);
            }
        }
    }
    let mut reverse: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (&from, tos) in &graph {
        for &to in tos {
            reverse.entry(to).or_default().push(from);
        }
    }
    let mut assigned = BTreeSet::new();
    let mut found = Vec::new();
    for &start in order.iter().rev() {
        if !assigned.insert(start) {
            continue;
        }
        let mut component = vec![start.to_owned()];
        let mut todo = vec![start];
        while let Some(node) = todo.pop() {
            for &prev in reverse.get(node).into_iter().flatten() {
                if assigned.insert(prev) {
                    component.push(prev.to_owned());
                    todo.push(prev);
                }
            }
        }
        if component.len() > 1 {
            component.sort();
            found.push(component);
        }
    }
    found.sort();
    found
}

/// A shortest circle through the first module of `component`, as `a → b → a`.
pub fn circle(component: &[String], edges: &[Edge]) -> String {
    let Some(start) = component.first() else {
        return String::new();
    };
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start.as_str()]);
    while let Some(node) = queue.pop_front() {
        for e in edges.iter().filter(|e| e.from == node) {
            if e.to == *start {
                // Back from `node` to `start`, then turned round and closed.
                let mut path = vec![node];
                let mut at = node;
                while let Some(&p) = came_from.get(at) {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                path.push(start);
                return path.join(" → ");
            }
            if component.contains(&e.to) && !came_from.contains_key(e.to.as_str()) {
                came_from.insert(&e.to, node);
                queue.push_back(&e.to);
            }
        }
    }
    component.join(", ")
}

#[cfg(test)]
mod tests;
