//! The layers of the crate, and the rule that keeps them: no module imports a module
//! above it, and no two files of one module import each other.
//!
//! The layers, bottom-up (docs/ARCHITECTURE.md says what each holds):
//!
//! | layer | modules |
//! |---|---|
//! | discrete-event core | `des` |
//! | scenario data | `scenario` |
//! | model | `model` |
//! | recording and metrics | `metrics` |
//! | strategies | `strategy` |
//! | engines | `sim`, `topology`, `serverless` |
//! | one run and its baseline | the crate root (`lib.rs`: `run`, `baseline_of`, `compare`, ...) |
//! | many runs | `batch`, `continuous` |
//! | reports | `report` |
//! | lessons | `lesson` |
//! | the app | `app` |
//! | the command line | `main.rs`, `cli_batch.rs` |
//!
//! Every `crate::…` path in `src/` (in `use` trees, types and expressions; comments and
//! strings are not code) is an arrow from its file's module to the module it names. An
//! arrow to the same layer or below is allowed; an arrow upward fails this test, naming
//! the file, the path and both layers. `an_upward_import_is_caught` shows that it fails
//! on one. The instance engine's speed machinery, `sim::fast`, is used only by the engine,
//! the crate root and `batch`. Paths are read with `syn`; a path written inside a macro invocation's tokens is
//! not seen.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Bottom-up. `""` is the crate root (`lib.rs` and its own items).
const LAYERS: &[(&str, &[&str])] = &[
    ("discrete-event core", &["des"]),
    ("scenario data", &["scenario"]),
    ("model", &["model"]),
    ("recording and metrics", &["metrics"]),
    ("strategies", &["strategy"]),
    ("engines", &["sim", "topology", "serverless"]),
    ("one run and its baseline", &[""]),
    ("many runs", &["batch", "continuous"]),
    ("reports", &["report"]),
    ("lessons", &["lesson"]),
    ("the app", &["app"]),
    ("the command line", &["main", "cli_batch"]),
];

/// The speed machinery of the instance engine (quiet loop, tape, kept completions,
/// convergence), and the modules that may use it.
const SPEED_BOUNDARY: (&str, &str) = ("sim", "fast");
const SPEED_USERS: &[&str] = &["sim", "", "batch"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// Collects the paths of a file: `use` trees and every other path.
#[derive(Default)]
struct Paths {
    /// Segments of `crate::` (and `super::`) paths as written, with the prefix first.
    found: Vec<Vec<String>>,
}

impl Paths {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut v = prefix.clone();
                v.push(n.ident.to_string());
                self.found.push(v);
            }
            syn::UseTree::Rename(r) => {
                let mut v = prefix.clone();
                v.push(r.ident.to_string());
                self.found.push(v);
            }
            syn::UseTree::Glob(_) => self.found.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.found.push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }
}

/// The module a file belongs to (`src/sim/quiet.rs` → `sim`, `src/lib.rs` → `""`,
/// `src/main.rs` → `main`) and, inside it, the file's own name (`quiet`; `mod` for a
/// `mod.rs` or a top-level file).
fn module_of(rel: &Path) -> (String, String) {
    let parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    match parts.as_slice() {
        [file] if file == "lib" => (String::new(), "mod".into()),
        [file] => (file.clone(), "mod".into()),
        [dir, file, ..] => (dir.clone(), file.clone()),
        [] => (String::new(), "mod".into()),
    }
}

/// The top-level modules of the library: the folders and files of `src/` but `lib.rs`
/// and `main.rs`.
fn top_modules(files: &[(PathBuf, String)]) -> BTreeSet<String> {
    files.iter().map(|(rel, _)| module_of(rel).0).filter(|m| !m.is_empty() && m != "main" && m != "cli_batch").collect()
}

/// What a path points at: `(module, file inside it)`, or `None` for a path outside the
/// crate. `crate::sim::tape::X` → `("sim", "tape")`; `crate::run` → `("", "")` (an item
/// of the root); `super::x` in `src/lesson/run.rs` → `("lesson", "x")`.
fn target(path: &[String], own: &(String, String), modules: &BTreeSet<String>) -> Option<(String, String)> {
    let (first, rest) = path.split_first()?;
    match first.as_str() {
        "crate" => {
            let m = rest.first()?;
            if modules.contains(m) {
                Some((m.clone(), rest.get(1).cloned().unwrap_or_default()))
            } else {
                Some((String::new(), String::new()))
            }
        }
        // `super` from a file inside a module's folder is the module itself; from a
        // top-level file it is the crate root.
        "super" if own.1 != "mod" => Some((own.0.clone(), rest.first().cloned().unwrap_or_default())),
        "super" => Some((String::new(), String::new())),
        _ => None,
    }
}

/// Every upward arrow and every pair of sibling files that import each other, in words.
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let modules = top_modules(files);
    let mut out = Vec::new();
    // (module, file) → the sibling files it imports.
    let mut siblings: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files {
        let own = module_of(rel);
        let Some(own_layer) = layer_of(&own.0) else {
            out.push(format!(
                "{}: module `{}` is in no layer; add it to LAYERS and docs/ARCHITECTURE.md",
                rel.display(),
                own.0
            ));
            continue;
        };
        let ast = match syn::parse_file(text) {
            Ok(a) => a,
            Err(e) => {
                out.push(format!("{}: does not parse: {e}", rel.display()));
                continue;
            }
        };
        let mut paths = Paths::default();
        paths.visit_file(&ast);
        for p in &paths.found {
            let Some((m, file)) = target(p, &own, &modules) else { continue };
            if m == own.0 {
                if own.1 != "mod" && !file.is_empty() && file != own.1 && file != "mod" {
                    siblings.entry(own.clone()).or_default().insert(file);
                }
                continue;
            }
            if (m.as_str(), file.as_str()) == SPEED_BOUNDARY && !SPEED_USERS.contains(&own.0.as_str()) {
                out.push(format!(
                    "{}: `{}`: the speed machinery (`sim::fast`) is for the engine, the crate root and `batch` only",
                    rel.display(),
                    p.join("::")
                ));
            }
            let Some(to_layer) = layer_of(&m) else { continue };
            if to_layer > own_layer {
                let name = |m: &str| if m.is_empty() { "the crate root".to_string() } else { format!("`{m}`") };
                out.push(format!(
                    "{}: `{}`: {} ({}) imports from {} ({}), a layer above it",
                    rel.display(),
                    p.join("::"),
                    name(&own.0),
                    LAYERS[own_layer].0,
                    name(&m),
                    LAYERS[to_layer].0,
                ));
            }
        }
    }
    for ((m, a), targets) in &siblings {
        for b in targets {
            let back = siblings.get(&(m.clone(), b.clone())).is_some_and(|t| t.contains(a));
            if back && a < b {
                out.push(format!("src/{m}/{a}.rs and src/{m}/{b}.rs import each other"));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every `.rs` file under `src/`, as (path relative to `src/`, text).
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(dir).expect("src/ is readable").map(|e| e.expect("a directory entry").path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).expect("a source file");
                out.push((p.strip_prefix(root).expect("under src/").to_path_buf(), text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

#[test]
fn no_module_imports_a_module_above_it() {
    let files = sources();
    assert!(files.len() > 50, "found only {} files under src/", files.len());
    let v = violations(&files);
    assert!(v.is_empty(), "imports against the layers:\n{}", v.join("\n"));
}

#[test]
fn every_module_has_a_layer() {
    for m in top_modules(&sources()) {
        assert!(layer_of(&m).is_some(), "module `{m}` is in no layer");
    }
}

/// The checker itself: an engine type used by the scenario data, a root item used by
/// the model, two files of one module that use each other and the speed machinery used by
/// the reports are all reported, and the allowed arrows beside them (`batch` using the
/// tape, downward imports) are not.
#[test]
fn an_upward_import_is_caught() {
    let file = |p: &str, text: &str| (PathBuf::from(p), text.to_string());
    let files = vec![
        file("lib.rs", "pub mod des; pub mod scenario; pub mod sim; pub fn run() {}"),
        file("des/mod.rs", "pub struct Time;"),
        file("scenario/mod.rs", "use crate::des::Time;\npub struct S { t: Time, sim: crate::sim::Simulation }"),
        file("model/fleet.rs", "fn f() { crate::run(); }"),
        file("sim/mod.rs", "use crate::{des::Time, scenario::S};\npub struct Simulation;"),
        file("lesson/player.rs", "use super::run::LessonRun;"),
        file("lesson/run.rs", "use super::player::fmt; // a comment: crate::app::X\nconst S: &str = \"crate::app\";"),
        file("report/mod.rs", "use crate::sim::fast::tape::Tape;"),
        file("batch/mod.rs", "use crate::sim::fast::tape::Tape;"),
    ];
    let v = violations(&files);
    assert_eq!(
        v,
        vec![
            "model/fleet.rs: `crate::run`: `model` (model) imports from the crate root (one run and its \
             baseline), a layer above it"
                .to_string(),
            "report/mod.rs: `crate::sim::fast::tape::Tape`: the speed machinery (`sim::fast`) is for the engine, \
             the crate root and `batch` only"
                .to_string(),
            "scenario/mod.rs: `crate::sim::Simulation`: `scenario` (scenario data) imports from `sim` (engines), \
             a layer above it"
                .to_string(),
            "src/lesson/player.rs and src/lesson/run.rs import each other".to_string(),
        ]
    );
}
