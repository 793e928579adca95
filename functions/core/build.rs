//! Embeds `migrations/NNNN_verb_object.sql` (repository root) and their
//! PostgreSQL twins in `migrations/postgres/` into core, in order, and
//! refuses badly named or misnumbered files, or a PostgreSQL set that does
//! not pair with the SQLite one file for file, at build time.

use std::{
    env,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

fn main() {
    let dir =
        Path::new(&env::var("CARGO_MANIFEST_DIR").expect("manifest dir")).join("../../migrations");
    let dir = dir
        .canonicalize()
        .expect("migrations/ exists at the repository root");
    let sqlite = read_set(&dir);
    let postgres = read_set(&dir.join("postgres"));
    let names = |set: &[(u32, String, String)]| -> Vec<String> {
        set.iter().map(|(_, name, _)| name.clone()).collect()
    };
    assert_eq!(
        names(&sqlite),
        names(&postgres),
        "migrations/postgres/ must hold one twin, named alike, of every migrations/*.sql"
    );

    let mut out = String::new();
    emit(&mut out, "MIGRATIONS", "Every SQLite migration", &sqlite);
    emit(
        &mut out,
        "POSTGRES_MIGRATIONS",
        "Every PostgreSQL migration (the twins of [`MIGRATIONS`])",
        &postgres,
    );
    fs::write(
        Path::new(&env::var("OUT_DIR").expect("out dir")).join("migrations.rs"),
        out,
    )
    .expect("write migrations.rs");
}

// The `NNNN_verb_object.sql` files of `dir`, sorted and checked: (number,
// name, path).
fn read_set(dir: &PathBuf) -> Vec<(u32, String, String)> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<(u32, String, String)> = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_string();
        if !name.ends_with(".sql") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = name.trim_end_matches(".sql");
        let (num, rest) = stem
            .split_once('_')
            .unwrap_or_else(|| panic!("{name}: expected NNNN_verb_object.sql"));
        assert!(
            num.len() == 4 && num.bytes().all(|b| b.is_ascii_digit()),
            "{name}: expected a four-digit number"
        );
        assert!(
            rest.contains('_')
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}: expected verb_object in lower snake case"
        );
        files.push((
            num.parse().expect("digits"),
            stem.to_string(),
            path.to_string_lossy().into_owned(),
        ));
    }
    files.sort();
    for (i, (version, name, _)) in files.iter().enumerate() {
        assert_eq!(
            *version as usize,
            i + 1,
            "{name}: migrations must be numbered 0001, 0002, ... without gaps"
        );
    }
    files
}

fn emit(out: &mut String, constant: &str, doc: &str, files: &[(u32, String, String)]) {
    writeln!(
        out,
        "/// {doc}, in order: (version, name, SQL).\npub static {constant}: &[(i64, &str, &str)] = &["
    )
    .expect("write");
    for (version, name, path) in files {
        writeln!(out, "    ({version}, {name:?}, include_str!({path:?})),").expect("write");
    }
    out.push_str("];\n");
}
