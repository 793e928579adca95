//! Embedded static files.

use krug_spin_adapter::{ApiError, Req};
use spin_sdk::http::Response;

include!(concat!(env!("OUT_DIR"), "/static_files.rs"));

/// The apps load only their own scripts and styles and talk only to this
/// origin; QR codes and tickets arrive as `data:` SVG images, the till's camera
/// frames as `blob:`, banner pictures from any `https:` address (the API
/// accepts only https image URLs); no page may frame them.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob: https:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
media-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; \
frame-ancestors 'none'";

/// The file for `req`'s path: `/` and directory paths map to `index.html`.
/// API paths never fall through to files, so an unknown API route is a JSON 404.
pub fn serve(req: &Req) -> Result<Response, ApiError> {
    let path = req.path();
    if path.starts_with("/api/") || path.starts_with("/internal/") || path.starts_with("/webhooks/")
    {
        return Err(ApiError::route_not_found(req));
    }
    let wanted = if path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let found = lookup(&wanted);
    if found.is_none() && lookup(&format!("{wanted}/index.html")).is_some() {
        // `/pos` → `/pos/`, so the app's relative URLs resolve in its folder.
        if !matches!(req.method(), "GET" | "HEAD") {
            return Err(ApiError::method_not_allowed(req, &["GET", "HEAD"]));
        }
        return Ok(Response::builder()
            .status(308)
            .header("location", format!("{wanted}/"))
            .header("x-content-type-options", "nosniff")
            .body(Vec::new())
            .build());
    }
    let Some(file) = found else {
        return Err(ApiError::route_not_found(req));
    };
    if !matches!(req.method(), "GET" | "HEAD") {
        return Err(ApiError::method_not_allowed(req, &["GET", "HEAD"]));
    }
    let gzip = file.gzip.filter(|_| accepts_gzip(req));
    let bytes = gzip.unwrap_or(file.bytes);
    let body = if req.method() == "HEAD" {
        Vec::new()
    } else {
        bytes.to_vec()
    };
    let mut resp = Response::builder();
    resp.status(200)
        .header("content-type", file.content_type)
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", CSP)
        .header("referrer-policy", "same-origin")
        .header(
            "permissions-policy",
            "camera=(self), microphone=(), geolocation=()",
        );
    if file.gzip.is_some() {
        resp.header("vary", "accept-encoding");
    }
    if gzip.is_some() {
        resp.header("content-encoding", "gzip");
    }
    Ok(resp.body(body).build())
}

/// One embedded file.
struct File {
    content_type: &'static str,
    bytes: &'static [u8],
    gzip: Option<&'static [u8]>,
}

fn lookup(path: &str) -> Option<File> {
    FILES
        .iter()
        .find(|(url, ..)| *url == path)
        .map(|&(_, content_type, bytes, gzip)| File {
            content_type,
            bytes,
            gzip,
        })
}

/// Whether the client takes gzip (`Accept-Encoding: gzip`, not `gzip;q=0`).
fn accepts_gzip(req: &Req) -> bool {
    req.header("accept-encoding").is_some_and(|v| {
        v.split(',').any(|part| {
            let mut it = part.split(';');
            let name = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
}
