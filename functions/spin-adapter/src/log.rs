//! One structured JSON line per request on stderr.

use serde_json::json;

/// What the access log line records.
pub(crate) struct AccessLog<'a> {
    pub component: &'a str,
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration_ms: f64,
    pub sql_statements: u32,
    pub sql_busy: u32,
    pub code: Option<&'a str>,
    pub cause: Option<&'a str>,
}

pub(crate) fn access(entry: &AccessLog<'_>) {
    let level = if entry.status >= 500 { "error" } else { "info" };
    let mut line = json!({
        "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "level": level,
        "component": entry.component,
        "request_id": entry.request_id,
        "method": entry.method,
        "path": entry.path,
        "status": entry.status,
        "duration_ms": (entry.duration_ms * 1000.0).round() / 1000.0,
        "sql_statements": entry.sql_statements,
    });
    if entry.sql_busy > 0 {
        line["sql_busy"] = json!(entry.sql_busy);
    }
    if let Some(code) = entry.code {
        line["code"] = json!(code);
    }
    if let Some(cause) = entry.cause {
        line["cause"] = json!(cause);
    }
    eprintln!("{line}");
}
