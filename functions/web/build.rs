//! Embeds every file under the repository's `static/` directory so the
//! component needs no file mounts (works the same on every Spin host).

use std::{env, fmt::Write as _, fs, path::Path};

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("../../static");
    let root = root
        .canonicalize()
        .expect("static/ exists at the repository root");
    println!("cargo:rerun-if-changed={}", root.display());

    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();

    let mut out =
        String::from("/// (url path, content type, bytes) of every embedded static file.\n");
    out.push_str("pub static FILES: &[(&str, &str, &[u8])] = &[\n");
    for (url, path) in &files {
        println!("cargo:rerun-if-changed={path}");
        writeln!(
            out,
            "    ({url:?}, {:?}, include_bytes!({path:?})),",
            content_type(url)
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("static_files.rs");
    fs::write(dest, out).expect("write static_files.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).expect("read static dir") {
        let path = entry.expect("dir entry").path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).expect("under root");
            let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
            files.push((url, path.to_string_lossy().into_owned()));
        }
    }
}

fn content_type(url: &str) -> &'static str {
    match url.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
