//! The request as components see it: method, path segments, query, headers
//! and a body read with a hard size limit.

use futures::StreamExt;
use spin_sdk::http::IncomingRequest;

use crate::error::ApiError;

/// Body size limits for one component.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted body in bytes; more is 413 `PAYLOAD_TOO_LARGE`.
    pub max_body: usize,
}

impl Limits {
    /// 1 MiB, the API's default.
    pub const DEFAULT_BODY: usize = 1024 * 1024;
    /// 10 MiB, for CSV uploads.
    pub const CSV_BODY: usize = 10 * 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: Self::DEFAULT_BODY,
        }
    }
}

/// A fully read incoming request.
#[derive(Debug, Clone)]
pub struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    /// Builds a request from parts (used by tests and by [`Req::read`]).
    pub fn new(
        method: &str,
        path_and_query: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (path_and_query.to_string(), String::new()),
        };
        Self {
            method: method.to_ascii_uppercase(),
            path,
            query,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            body,
        }
    }

    /// Reads the head and body of `incoming`. A declared or actual body over
    /// `limits.max_body` is refused with 413 before the rest is read.
    pub async fn read(incoming: IncomingRequest, limits: Limits) -> Result<Self, ApiError> {
        let method = incoming.method().to_string();
        let headers: Vec<(String, String)> = incoming
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let path_and_query = incoming
            .path_with_query()
            .unwrap_or_else(|| "/".to_string());
        let mut req = Self::new(&method, &path_and_query, headers, Vec::new());

        if let Some(len) = req.header("content-length") {
            match len.trim().parse::<u64>() {
                Ok(n) if n > limits.max_body as u64 => {
                    return Err(ApiError::payload_too_large(limits.max_body))
                }
                Ok(_) => {}
                Err(_) => {
                    return Err(ApiError::bad_request(
                        "BAD_REQUEST",
                        "content-length is not a number",
                    ))
                }
            }
        }
        let mut body = Vec::new();
        let mut stream = incoming.into_body_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| {
                ApiError::bad_request("BAD_REQUEST", "request body could not be read")
            })?;
            if body.len() + chunk.len() > limits.max_body {
                return Err(ApiError::payload_too_large(limits.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        req.body = body;
        Ok(req)
    }

    /// Upper-case method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Path without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path split on `/`, empty segments dropped: `/api/v1/me` →
    /// `["api", "v1", "me"]`. Designed for slice patterns in route tables.
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// Raw query string (no leading `?`).
    pub fn query(&self) -> &str {
        &self.query
    }

    /// First value of query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k).as_deref() == Some(name)).then(|| percent_decode(v))?
        })
    }

    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The token of an `Authorization: Bearer <token>` header, if present and
    /// well-formed. Whether it is valid is for the caller's auth check.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?.trim();
        let (scheme, token) = value.split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
            .then_some(token)
    }

    /// The client address Spin reports in `spin-client-addr` (IP only).
    pub fn client_ip(&self) -> Option<String> {
        let addr = self.header("spin-client-addr")?.trim();
        // "1.2.3.4:5678" or "[::1]:5678"
        let ip = match addr.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => addr,
        };
        Some(ip.trim_start_matches('[').trim_end_matches(']').to_string())
    }

    /// The `limit` (default 20, at most 100) and opaque `cursor` query
    /// parameters of a list route; 422 `INVALID_LIMIT` / `INVALID_CURSOR`.
    pub fn page(&self) -> Result<(u32, Option<krug_core::pagination::Cursor>), ApiError> {
        let limit = krug_core::pagination::parse_limit(self.query_param("limit").as_deref())?;
        let cursor = self
            .query_param("cursor")
            .map(|c| krug_core::pagination::Cursor::decode(&c))
            .transpose()?;
        Ok((limit, cursor))
    }

    /// The `Idempotency-Key` header, if any.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.header("idempotency-key")
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, headers: &[(&str, &str)]) -> Req {
        Req::new(
            "get",
            path,
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            vec![],
        )
    }

    #[test]
    fn splits_path_and_query() {
        let r = req("/api/v1/wallet/ledger?limit=5&cursor=a%2Bb", &[]);
        assert_eq!(r.method(), "GET");
        assert_eq!(r.segments(), ["api", "v1", "wallet", "ledger"]);
        assert_eq!(r.query_param("limit").as_deref(), Some("5"));
        assert_eq!(r.query_param("cursor").as_deref(), Some("a+b"));
        assert_eq!(r.query_param("missing"), None);
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(
            req("/", &[("Authorization", "Bearer abc")]).bearer_token(),
            Some("abc")
        );
        assert_eq!(
            req("/", &[("authorization", "bearer  abc ")]).bearer_token(),
            Some("abc")
        );
        assert_eq!(
            req("/", &[("Authorization", "Basic abc")]).bearer_token(),
            None
        );
        assert_eq!(
            req("/", &[("Authorization", "Bearer")]).bearer_token(),
            None
        );
        assert_eq!(req("/", &[]).bearer_token(), None);
    }

    #[test]
    fn client_ip_from_spin_header() {
        assert_eq!(
            req("/", &[("spin-client-addr", "127.0.0.2:5000")])
                .client_ip()
                .as_deref(),
            Some("127.0.0.2")
        );
        assert_eq!(
            req("/", &[("spin-client-addr", "[::1]:80")])
                .client_ip()
                .as_deref(),
            Some("::1")
        );
    }
}
