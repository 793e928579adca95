//! Embeds every file under the repository's `static/` directory so the
//! component needs no file mounts (works the same on every Spin host), with a
//! gzip copy of each text file made here, at build time, so the component
//! never compresses per request.

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

    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let gz_dir = Path::new(&out_dir).join("gz");
    fs::create_dir_all(&gz_dir).expect("create gz dir");
    let mut out = String::from(
        "/// (url path, content type, bytes, gzip of the bytes when it is smaller) of\n\
         /// every embedded static file.\n",
    );
    out.push_str(
        "pub type Entry = (&'static str, &'static str, &'static [u8], Option<&'static [u8]>);\n",
    );
    out.push_str("/// The files, sorted by url path.\npub static FILES: &[Entry] = &[\n");
    for (i, (url, path)) in files.iter().enumerate() {
        println!("cargo:rerun-if-changed={path}");
        let content_type = content_type(url);
        let gz = compressible(content_type)
            .then(|| gzip(&fs::read(path).expect("read static file")))
            .flatten()
            .map(|bytes| {
                let gz_path = gz_dir.join(format!("{i}.gz"));
                fs::write(&gz_path, bytes).expect("write gzip");
                format!("Some(include_bytes!({:?}))", gz_path.to_string_lossy())
            })
            .unwrap_or_else(|| "None".to_string());
        writeln!(
            out,
            "    ({url:?}, {content_type:?}, include_bytes!({path:?}), {gz}),"
        )
        .unwrap();
    }
    out.push_str("];\n");
    fs::write(Path::new(&out_dir).join("static_files.rs"), out).expect("write static_files.rs");
}

/// Text is worth compressing; images other than SVG already are.
fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/manifest+json")
        || content_type == "image/svg+xml"
}

/// The gzip of `bytes` at the best level, when it saves at least a tenth.
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write as _;
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).expect("gzip in memory");
    let gz = enc.finish().expect("gzip in memory");
    (gz.len() * 10 < bytes.len() * 9).then_some(gz)
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
