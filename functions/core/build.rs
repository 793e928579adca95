//! Embeds `migrations/NNNN_verb_object.sql` (repository root) into core, in
//! order, and refuses badly named or misnumbered files at build time.

use std::{env, fmt::Write as _, fs, path::Path};

fn main() {
    let dir =
        Path::new(&env::var("CARGO_MANIFEST_DIR").expect("manifest dir")).join("../../migrations");
    let dir = dir
        .canonicalize()
        .expect("migrations/ exists at the repository root");
    println!("cargo:rerun-if-changed={}", dir.display());

    let mut files: Vec<(u32, String, String)> = Vec::new();
    for entry in fs::read_dir(&dir).expect("read migrations/") {
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

    let mut out = String::from("/// Every migration, in order: (version, name, SQL).\npub static MIGRATIONS: &[(i64, &str, &str)] = &[\n");
    for (version, name, path) in &files {
        writeln!(out, "    ({version}, {name:?}, include_str!({path:?})),").expect("write");
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").expect("out dir")).join("migrations.rs"),
        out,
    )
    .expect("write migrations.rs");
}
