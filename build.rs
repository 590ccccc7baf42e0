//! Embeds the shipped scenario library (`scenarios/`) in the binary, so an installed
//! `deploysim` finds `canary` or `lessons/canary` from any directory.
//!
//! A generated table of `include_str!`s rather than a crate such as `include_dir`: the
//! compiler tracks every `include_str!`ed file, and `rerun-if-changed` on the directory
//! makes Cargo rerun this script when a file is added, removed or renamed — `include_dir`
//! on stable Rust sees neither, so an edited scenario could ship stale. The table is
//! sorted by path, so the binary does not depend on the order the file system lists.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())).path();
        if path.is_dir() {
            collect(&path, root, out);
            continue;
        }
        let text_file = matches!(path.extension().and_then(|e| e.to_str()), Some("ron" | "csv"));
        if !text_file {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        out.push((rel.join("/"), path));
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("scenarios");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=scenarios");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut table = String::from(
        "/// Every file under `scenarios/`, by its path there, sorted.\npub static SHIPPED: &[Shipped] = &[\n",
    );
    for (rel, path) in &files {
        let abs = path.to_str().unwrap_or_else(|| panic!("{} is not a UTF-8 path", path.display()));
        table.push_str(&format!("    Shipped {{ path: {rel:?}, text: include_str!({abs:?}) }},\n"));
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("shipped.rs");
    std::fs::write(&out, table).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
