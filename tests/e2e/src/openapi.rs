//! The OpenAPI document as the checked truth: every response the app gives
//! an end-to-end test is held against `static/openapi.json` — its status
//! must be documented for the operation, its content type must be the
//! documented one, and its JSON body must be valid against the documented
//! schema. A method the document does not list for a path must be answered
//! 405 with an `Allow` header. So the document cannot drift from the app
//! without some test failing. Every response, documented or not, must also
//! carry `nosniff` and, when it is an error, name no internals.

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
};

use serde_json::Value;

use crate::client::TestResponse;

/// The parsed document (`static/openapi.json`).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = crate::repo_root().join("static/openapi.json");
        let text = std::fs::read_to_string(&path).expect("static/openapi.json is readable");
        serde_json::from_str(&text).expect("static/openapi.json is JSON")
    })
}

/// The HTTP methods an OpenAPI path item can hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The documented path template matching `path` (no query), preferring the
/// one with the most literal segments (`/x/commit` over `/x/{id}`).
pub fn template_for(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let paths = document()["paths"].as_object()?;
    paths
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (p, s) in parts.iter().zip(&segments) {
                if p.starts_with('{') && p.ends_with('}') {
                    continue;
                }
                if p != s {
                    return None;
                }
                literal += 1;
            }
            Some((literal, template.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, t)| t)
}

/// The documented methods of `template`, upper-case.
pub fn methods_of(template: &str) -> Vec<String> {
    let item = &document()["paths"][template];
    METHODS
        .iter()
        .filter(|m| item.get(**m).is_some())
        .map(|m| m.to_ascii_uppercase())
        .collect()
}

/// Panics with a precise message when `resp` (to `method path`) is not what
/// the document says. Paths the document does not describe (static files,
/// unknown routes) are not checked.
pub fn check(method: &str, path: &str, resp: &TestResponse) {
    if let Err(problem) = conformance(method, path, resp) {
        panic!(
            "{method} {path} → {} does not match static/openapi.json: {problem}\nbody: {}",
            resp.status,
            resp.text()
        );
    }
}

/// Words that would mean an error body leaked the database, the runtime or
/// the code (a panic, a backtrace, an SQL message), lower-case.
const LEAKS: [&str; 9] = [
    "sqlite",
    "syntax error",
    "no such table",
    "no such column",
    "constraint failed",
    "panicked",
    "backtrace",
    "wasm trap",
    ".rs:",
];

/// What every response must be, documented or not: `nosniff`, and an
/// error body that names no internals.
fn hygiene(resp: &TestResponse) -> Result<(), String> {
    if resp.header("x-content-type-options") != Some("nosniff") {
        return Err("x-content-type-options: nosniff is missing".into());
    }
    if resp.status >= 400 {
        let body = resp.text().to_lowercase();
        if let Some(leak) = LEAKS.iter().find(|l| body.contains(*l)) {
            return Err(format!("the error body gives away internals (`{leak}`)"));
        }
    }
    Ok(())
}

fn conformance(method: &str, path: &str, resp: &TestResponse) -> Result<(), String> {
    hygiene(resp)?;
    let path = path.split('?').next().unwrap_or(path);
    let Some(template) = template_for(path) else {
        return Ok(());
    };
    let doc = document();
    let lower = method.to_ascii_lowercase();
    let Some(operation) = doc["paths"][template].get(&lower) else {
        // A body over the limit is refused before routing (413).
        if resp.status == 413 {
            return Ok(());
        }
        if resp.status != 405 {
            return Err(format!(
                "{method} is not documented for {template}, so it must be 405"
            ));
        }
        let allow = resp
            .header("allow")
            .ok_or("a 405 must carry an Allow header")?;
        let mut want = methods_of(template);
        // HEAD comes with GET (RFC 9110), documented or not.
        let mut got: Vec<String> = allow
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !(m == "HEAD" && want.iter().any(|w| w == "GET")))
            .collect();
        got.sort();
        want.sort();
        if got != want {
            return Err(format!("Allow is {got:?}; the document lists {want:?}"));
        }
        return Ok(());
    };
    let responses = &operation["responses"];
    let status = resp.status.to_string();
    let range = format!("{}XX", &status[..1]);
    let mut spec = [status.as_str(), range.as_str(), "default"]
        .iter()
        .find_map(|k| responses.get(*k))
        .ok_or_else(|| format!("status {status} is not documented for {method} {template}"))?;
    if let Some(reference) = spec.get("$ref").and_then(Value::as_str) {
        spec = resolve(reference).ok_or_else(|| format!("dangling $ref {reference}"))?;
    }
    let Some(content) = spec.get("content").and_then(Value::as_object) else {
        return if resp.body.is_empty() {
            Ok(())
        } else {
            Err("the document says this response has no body".into())
        };
    };
    let content_type = resp.header("content-type").unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let Some(media) = content.get(mime) else {
        return Err(format!(
            "content type {content_type:?} is not one of {:?}",
            content.keys().collect::<Vec<_>>()
        ));
    };
    let Some(schema) = media.get("schema") else {
        return Ok(());
    };
    if mime != "application/json" {
        return Ok(());
    }
    let body: Value =
        serde_json::from_slice(&resp.body).map_err(|e| format!("body is not JSON: {e}"))?;
    validate(schema, &body)
}

fn resolve(reference: &str) -> Option<&'static Value> {
    let pointer = reference.strip_prefix('#')?;
    document().pointer(pointer)
}

// Validators compiled once per schema (keyed by its text).
fn validate(schema: &Value, body: &Value) -> Result<(), String> {
    static CACHE: OnceLock<Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>> =
        OnceLock::new();
    let key = schema.to_string();
    let cache = CACHE.get_or_init(Default::default);
    let validator = {
        let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&key) {
            Some(v) => v.clone(),
            None => {
                // The schema as the root of a document that also holds the
                // components, so `#/components/schemas/...` resolves.
                let mut root = schema.clone();
                if let Some(obj) = root.as_object_mut() {
                    obj.insert("components".into(), document()["components"].clone());
                }
                let v = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .should_validate_formats(true)
                    .build(&root)
                    .map_err(|e| format!("schema does not compile: {e}"))?;
                let v = std::sync::Arc::new(v);
                map.insert(key, v.clone());
                v
            }
        }
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .take(5)
        .map(|e| format!("at {}: {}", e.instance_path(), e))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}
