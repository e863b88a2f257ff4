//! What the golden-vector tests share: `.vec` files of `key value` lines, and hex.

use std::fs;
use std::path::Path;

/// The bytes a hex string spells.
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Every `tests/<dir>/*.vec` file, sorted by name: its name (the file stem) and its
/// `key value` lines (`#` lines are comments).
pub fn vector_files(dir: &str) -> Vec<(String, Vec<(String, String)>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir).expect("vectors dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|e| e != "vec") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("vector file");
        let lines = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|line| {
                let (key, value) = line.split_once(' ').unwrap_or((line, ""));
                (key.to_owned(), value.to_owned())
            })
            .collect();
        let name = path.file_stem().expect("a file name");
        files.push((name.to_string_lossy().into_owned(), lines));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}
