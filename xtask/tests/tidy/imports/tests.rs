//! Tests of the import-graph checker on small crates written inline.

use super::{Edge, circle, cycles, edges, module_of, root_references};

/// The edges of a crate given as (path under src/, text) pairs.
fn edges_of(files: &[(&str, &str)]) -> Vec<Edge> {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    edges(&files)
}

/// The (from, to) pairs of a crate's edges.
fn graph(files: &[(&str, &str)]) -> Vec<(String, String)> {
    edges_of(files)
        .into_iter()
        .map(|e| (e.from, e.to))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn heads(text: &str, depth: usize) -> Vec<String> {
    root_references(text, depth)
        .into_iter()
        .map(|(h, _)| h)
        .collect()
}

#[test]
fn two_modules_importing_each_other_are_a_cycle() {
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "//! a\nuse crate::b::B;\n"),
        ("b/mod.rs", "//! b\nmod inner;\n"),
        (
            "b/inner.rs",
            "//! b's inner\npub fn f() { crate::a::g() }\n",
        ),
    ];
    let edges = edges_of(&files);
    let found = cycles(&edges);
    assert_eq!(found, vec![vec!["a".to_owned(), "b".to_owned()]]);
    assert_eq!(circle(&found[0], &edges), "a → b → a");
    assert_eq!(edges[1].at, "src/b/inner.rs:2", "where b imports a");
}

#[test]
fn a_longer_circle_is_found_and_modules_outside_it_are_not_in_it() {
    let files = [
        ("a.rs", "use crate::b;"),
        ("b.rs", "use crate::c;"),
        ("c.rs", "use crate::a;"),
        ("d.rs", "use crate::a;"),
        ("e.rs", "use crate::d;"),
    ];
    let edges = edges_of(&files);
    let found = cycles(&edges);
    assert_eq!(found, vec![vec!["a".to_owned(), "b".into(), "c".into()]]);
    assert_eq!(circle(&found[0], &edges), "a → b → c → a");
}

#[test]
fn layers_importing_one_way_have_no_cycle() {
    let files = [
        (
            "app.rs",
            "use crate::{net::Client, state::Action};\nuse crate::media;",
        ),
        (
            "net/mod.rs",
            "use crate::media::Body;\nuse crate::state::Conn;",
        ),
        ("media.rs", "use crate::state::Media;"),
        ("state.rs", "pub struct Action;"),
    ];
    let edges = edges_of(&files);
    assert_eq!(edges.len(), 6);
    assert_eq!(cycles(&edges), Vec::<Vec<String>>::new());
}

#[test]
fn a_module_naming_itself_through_the_crate_root_is_no_edge() {
    let found = graph(&[
        ("a/mod.rs", "mod b;\nuse crate::a::b::X;\n"),
        (
            "a/b.rs",
            "use crate::a::Y;\nuse super::Z;\nuse super::super::a::W;\n",
        ),
    ]);
    assert_eq!(found, pairs(&[]));
}

#[test]
fn super_counts_when_it_climbs_to_the_crate_root() {
    // From src/a.rs, `super` is the root; from src/a/x.rs it is `a`.
    assert_eq!(heads("use super::b::X;", 1), ["b"]);
    assert_eq!(heads("use super::b::X;", 2), Vec::<String>::new());
    assert_eq!(heads("use super::super::{b, c::Y};", 2), ["b", "c"]);
    // An inline module is one more level; `super::*` (a glob) names nothing.
    let text = "mod tests {\n    use super::*;\n    use super::super::c;\n}\nuse super::d;";
    assert_eq!(heads(text, 1), ["c", "d"]);
    // `pub(super)` and `pub(in super::x)` are visibility, not paths.
    assert_eq!(heads("pub(super) fn f() {}", 1), Vec::<String>::new());
    assert_eq!(heads("pub(in super::x) fn f() {}", 2), Vec::<String>::new());
}

#[test]
fn crate_paths_anywhere_in_code_count_with_their_line() {
    let text = "use crate::{self as root, b::{X, Y}, c};\n\
                fn f<'a>(s: &'a str) -> crate::d::T { crate::e::g(s) }\n\
                macro_rules! m { () => { $crate::f::h() } }";
    let refs = root_references(text, 1);
    let names: Vec<(&str, usize)> = refs.iter().map(|(h, l)| (h.as_str(), *l)).collect();
    assert_eq!(
        names,
        [("b", 1), ("c", 1), ("d", 2), ("e", 2), ("f", 3)],
        "`crate::{{self}}` is the root itself"
    );
}

#[test]
fn comments_strings_chars_and_visibility_are_not_imports() {
    let text = r####"
        //! Talks to [`crate::b::B`].
        // use crate::b;
        /* crate::b /* nested */ crate::b */
        pub(crate) fn f() -> &'static str {
            let _ = ('"', '\'', b'"', "crate::b \" crate::b", b"crate::b");
            let _ = r#"crate::b " crate::b"#;
            let _ = br##"crate::b"#crate::b"##;
            "x"
        }
        pub(in crate::b) fn g() {}
        fn h() { crate::c::k() }
    "####;
    assert_eq!(heads(text, 1), ["c"]);
}

#[test]
fn names_the_crate_root_re_exports_lead_to_their_module() {
    let found = graph(&[
        (
            "lib.rs",
            "pub mod a;\npub mod error;\npub use error::AppError;\npub use a::{Thing as Renamed, other::Deep};",
        ),
        ("a.rs", "fn f() -> crate::AppError {}"),
        (
            "error.rs",
            "use crate::{Renamed, Deep};\nuse crate::Unknown;",
        ),
    ]);
    assert_eq!(found, pairs(&[("a", "error"), ("error", "a")]));
}

#[test]
fn files_belong_to_the_top_level_module_of_their_path() {
    let m = module_of;
    assert_eq!(m("net.rs"), Some(("net".into(), 1)));
    assert_eq!(m("net/mod.rs"), Some(("net".into(), 1)));
    assert_eq!(m("net/link.rs"), Some(("net".into(), 2)));
    assert_eq!(m("net/link/mod.rs"), Some(("net".into(), 2)));
    assert_eq!(m("net/link/ws.rs"), Some(("net".into(), 3)));
    assert_eq!(m("lib.rs"), None);
    assert_eq!(m("main.rs"), None);
    assert_eq!(m("bin/tool.rs"), None);
    assert_eq!(m("socket_worker.js"), None);
}
