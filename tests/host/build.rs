//! Resolves the WIT of the Spin interfaces the host implements from the
//! pinned `spin-sdk` crate (found through `cargo metadata`), so the host and
//! the guests agree on one definition and none of Spin's files live in this
//! repository. Generates `bindings.rs` with a `bindgen!` call over a world
//! that imports exactly what the host provides.

use std::{env, fs, path::PathBuf, process::Command};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let workspace = manifest_dir.join("../../Cargo.toml");
    println!("cargo:rerun-if-changed={}", workspace.display());
    println!("cargo:rerun-if-changed=build.rs");

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&workspace)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let sdk = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "spin-sdk")
        .expect("the workspace depends on spin-sdk");
    let sdk_dir = PathBuf::from(sdk["manifest_path"].as_str().expect("manifest_path"))
        .parent()
        .expect("sdk dir")
        .to_path_buf();
    let deps = sdk_dir.join("wit/deps");

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("out dir"));
    let wit = out_dir.join("wit");
    let _ = fs::remove_dir_all(&wit);
    fs::create_dir_all(wit.join("deps/spin")).expect("mkdir");
    fs::create_dir_all(wit.join("deps/spin-sqlite")).expect("mkdir");
    fs::create_dir_all(wit.join("deps/spin-postgres")).expect("mkdir");

    // fermyon:spin@2.0.0: only the interfaces we implement, in one file.
    let mut spin = String::from("package fermyon:spin@2.0.0;\n");
    for file in ["key-value.wit", "variables.wit"] {
        let text = fs::read_to_string(deps.join("spin@2.0.0").join(file)).expect("spin wit file");
        spin.push_str(&strip_package(&text));
        spin.push('\n');
    }
    fs::write(wit.join("deps/spin/spin.wit"), spin).expect("write spin.wit");
    let sqlite = fs::read_to_string(deps.join("spin-sqlite@3.0.0/sqlite.wit")).expect("sqlite wit");
    fs::write(wit.join("deps/spin-sqlite/sqlite.wit"), sqlite).expect("write sqlite.wit");
    let postgres =
        fs::read_to_string(deps.join("spin-postgres@4.0.0/postgres.wit")).expect("postgres wit");
    fs::write(wit.join("deps/spin-postgres/postgres.wit"), postgres).expect("write postgres.wit");

    // The cron world is the project's own (wit/cron.wit).
    let cron = fs::read_to_string(manifest_dir.join("../../wit/cron.wit")).expect("wit/cron.wit");
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("../../wit/cron.wit").display()
    );
    fs::create_dir_all(wit.join("deps/spin-cron")).expect("mkdir");
    fs::write(wit.join("deps/spin-cron/cron.wit"), cron).expect("write cron.wit");

    fs::write(
        wit.join("host.wit"),
        "package krug:host;\n\n\
         world spin-imports {\n  \
           import fermyon:spin/key-value@2.0.0;\n  \
           import fermyon:spin/variables@2.0.0;\n  \
           import spin:sqlite/sqlite@3.0.0;\n  \
           import spin:postgres/postgres@4.0.0;\n\
         }\n",
    )
    .expect("write host.wit");

    let bindings = format!(
        "wasmtime::component::bindgen!({{\n    \
            path: {wit:?},\n    \
            world: \"krug:host/spin-imports\",\n    \
            with: {{\n        \
                \"fermyon:spin/key-value.store\": crate::stores::KvHandle,\n        \
                \"spin:sqlite/sqlite.connection\": crate::stores::SqlHandle,\n        \
                \"spin:postgres/postgres.connection\": crate::pg::PgHandle,\n    \
            }},\n    \
            imports: {{\n        \
                \"spin:sqlite/sqlite.[method]connection.execute\": async | trappable,\n        \
                \"spin:postgres/postgres.[static]connection.open\": async | trappable,\n        \
                \"spin:postgres/postgres.[method]connection.query\": async | trappable,\n        \
                \"spin:postgres/postgres.[method]connection.execute\": async | trappable,\n        \
                default: trappable,\n    \
            }},\n\
        }});\n",
        wit = wit.display().to_string()
    );
    fs::write(out_dir.join("spin_bindings.rs"), bindings).expect("write bindings");
    let cron_bindings = format!(
        "wasmtime::component::bindgen!({{\n    \
            path: {wit:?},\n    \
            world: \"fermyon:spin-cron/spin-cron\",\n    \
            exports: {{ default: async }},\n\
        }});\n",
        wit = wit.display().to_string()
    );
    fs::write(out_dir.join("cron_bindings.rs"), cron_bindings).expect("write cron bindings");
}

fn strip_package(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("package "))
        .collect::<Vec<_>>()
        .join("\n")
}
