//! Embedded static files.

use krug_spin_adapter::{ApiError, Req};
use spin_sdk::http::Response;

include!(concat!(env!("OUT_DIR"), "/static_files.rs"));

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
    let found = lookup(&wanted).or_else(|| lookup(&format!("{wanted}/index.html")));
    let Some((content_type, bytes)) = found else {
        return Err(ApiError::route_not_found(req));
    };
    if !matches!(req.method(), "GET" | "HEAD") {
        return Err(ApiError::method_not_allowed(req, &["GET", "HEAD"]));
    }
    let body = if req.method() == "HEAD" {
        Vec::new()
    } else {
        bytes.to_vec()
    };
    Ok(Response::builder()
        .status(200)
        .header("content-type", content_type)
        .header("cache-control", "no-cache")
        .body(body)
        .build())
}

fn lookup(path: &str) -> Option<(&'static str, &'static [u8])> {
    FILES
        .iter()
        .find(|(url, _, _)| *url == path)
        .map(|(_, ct, bytes)| (*ct, *bytes))
}
