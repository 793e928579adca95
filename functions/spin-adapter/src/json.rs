//! JSON in and out.

use krug_core::json::JsonError;
use serde::{de::DeserializeOwned, Serialize};
use spin_sdk::http::Response;

use crate::{error::ApiError, request::Req};

/// Parses the body as JSON into `T`.
///
/// - not `application/json` → 415;
/// - not JSON at all (syntax, truncated, empty) → 400 `MALFORMED_JSON`;
/// - JSON of the wrong shape (wrong type, missing or unknown field) → 422
///   `INVALID_FIELD` with `details.field` naming the path, e.g. `items[3].sku`.
pub fn parse_json<T: DeserializeOwned>(req: &Req) -> Result<T, ApiError> {
    let content_type = req.header("content-type").unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::unsupported_media_type("application/json"));
    }
    parse_json_bytes(req.body())
}

/// [`parse_json`] without the content-type check. Bytes that are not UTF-8
/// are 400 `MALFORMED_JSON`; an array where the contract has an object (at
/// any depth) is 422 `INVALID_FIELD` (see [`krug_core::json`]).
pub fn parse_json_bytes<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    krug_core::json::from_slice(body).map_err(|e| match e {
        JsonError::Malformed(message) => ApiError::bad_request("MALFORMED_JSON", message),
        JsonError::Invalid(invalid) => ApiError::from_use_case(&invalid),
    })
}

/// A JSON response with `status`.
pub fn json_response<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .build())
}

/// 204 No Content.
pub fn no_content() -> Response {
    Response::builder().status(204).body(Vec::new()).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cart {
        items: Vec<Item>,
    }

    fn req(content_type: Option<&str>, body: &str) -> Req {
        let headers = content_type
            .map(|ct| vec![("content-type".to_string(), ct.to_string())])
            .unwrap_or_default();
        Req::new("POST", "/x", headers, body.as_bytes().to_vec())
    }

    #[test]
    fn malformed_json_is_400() {
        for body in ["", "{", "not json", "{\"items\": [}"] {
            let err = parse_json::<Cart>(&req(Some("application/json"), body)).unwrap_err();
            assert_eq!(
                (err.status(), err.code()),
                (400, "MALFORMED_JSON"),
                "{body}"
            );
        }
    }

    #[test]
    fn wrong_shape_is_422_with_the_field_path() {
        let err = parse_json::<Cart>(&req(
            Some("application/json; charset=utf-8"),
            r#"{"items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": -2}]}"#,
        ))
        .unwrap_err();
        assert_eq!((err.status(), err.code()), (422, "INVALID_FIELD"));
        assert_eq!(err.body()["error"]["details"]["field"], "items[1].quantity");
        let unknown =
            parse_json::<Cart>(&req(Some("application/json"), r#"{"items": [], "x": 1}"#))
                .unwrap_err();
        assert_eq!(unknown.status(), 422);
        let missing = parse_json::<Cart>(&req(Some("application/json"), "{}")).unwrap_err();
        assert_eq!(missing.status(), 422);
    }

    #[test]
    fn arrays_and_non_utf8_are_refused() {
        let arr = parse_json::<Cart>(&req(
            Some("application/json"),
            r#"[[{"sku": "a", "quantity": 1}]]"#,
        ))
        .unwrap_err();
        assert_eq!((arr.status(), arr.code()), (422, "INVALID_FIELD"));
        let nested = parse_json::<Cart>(&req(Some("application/json"), r#"{"items": [["a", 1]]}"#))
            .unwrap_err();
        assert_eq!(nested.body()["error"]["details"]["field"], "items[0]");
        let bytes = Req::new(
            "POST",
            "/x",
            vec![("content-type".into(), "application/json".into())],
            b"{\"items\": [{\"sku\": \"\xff\", \"quantity\": 1}]}".to_vec(),
        );
        let err = parse_json::<Cart>(&bytes).unwrap_err();
        assert_eq!((err.status(), err.code()), (400, "MALFORMED_JSON"));
    }

    #[test]
    fn other_content_types_are_415() {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let err = parse_json::<Cart>(&req(ct, r#"{"items": []}"#)).unwrap_err();
            assert_eq!(err.status(), 415, "{ct:?}");
        }
    }

    #[test]
    fn valid_json_parses() {
        let cart: Cart = parse_json(&req(
            Some("application/json"),
            r#"{"items": [{"sku": "a", "quantity": 2}]}"#,
        ))
        .unwrap();
        assert_eq!(cart.items.len(), 1);
    }
}
