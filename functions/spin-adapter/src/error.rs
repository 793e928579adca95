//! [`ApiError`]: the single place where failures become HTTP responses.

use krug_core::error::{ErrorClass, UseCaseError};
use serde_json::json;
use spin_sdk::http::Response;

use crate::request::Req;

/// An error on its way to becoming a response. 4xx carry a code and a message
/// meant for the client; 5xx are opaque to the client and keep their cause for
/// the log line.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: u16,
    code: String,
    message: String,
    // Boxed: keeps `Result<_, ApiError>` small on every call path.
    field: Option<Box<str>>,
    retry_after: Option<u64>,
    allow: Option<&'static [&'static str]>,
    cause: Option<Box<str>>,
}

impl ApiError {
    fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
            retry_after: None,
            allow: None,
            cause: None,
        }
    }

    /// 400: the body is not what the endpoint can read at all.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// 401: missing or invalid credentials.
    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::new(401, code, message)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }

    /// 404: an unknown resource.
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    /// 404 for a path no route matches.
    pub fn route_not_found(req: &Req) -> Self {
        Self::new(
            404,
            "NOT_FOUND",
            format!("no route for {} {}", req.method(), req.path()),
        )
    }

    /// 405: the path exists but not with this method; the response's
    /// `Allow` header lists `allowed` (RFC 9110 requires it). Route tables
    /// get this from [`routes!`](crate::routes), which knows each path's
    /// methods.
    pub fn method_not_allowed(req: &Req, allowed: &'static [&'static str]) -> Self {
        let mut e = Self::new(
            405,
            "METHOD_NOT_ALLOWED",
            format!(
                "{} is not allowed on {}; use {}",
                req.method(),
                req.path(),
                allowed.join(", ")
            ),
        );
        e.allow = Some(allowed);
        e
    }

    /// 409: a conflict or a duplicate still in flight.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }

    /// 413: the body is over `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("request body is larger than {limit} bytes"),
        )
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("content-type must be {expected}"),
        )
    }

    /// 422: `field` is invalid.
    pub fn invalid_field(code: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(422, code, message);
        e.field = Some(field.into().into_boxed_str());
        e
    }

    /// 429 with `Retry-After: retry_after_secs`.
    pub fn rate_limited(code: &str, message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(429, code, message);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 500 with an opaque body; `cause` goes to the log only.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(500, "INTERNAL", "internal error");
        e.cause = Some(cause.into().into_boxed_str());
        e
    }

    /// 503: a dependency is down; `cause` goes to the log only.
    pub fn unavailable(code: &str, message: impl Into<String>, cause: impl Into<String>) -> Self {
        let mut e = Self::new(503, code, message);
        e.cause = Some(cause.into().into_boxed_str());
        e
    }

    /// Maps a use-case error by its class; the one place that does so.
    pub fn from_use_case<E: UseCaseError + ?Sized>(err: &E) -> Self {
        let message = err.to_string();
        match err.class() {
            ErrorClass::Malformed => Self::bad_request(err.code(), message),
            ErrorClass::Invalid { field: Some(field) } => {
                Self::invalid_field(err.code(), field, message)
            }
            ErrorClass::Invalid { field: None } => Self::new(422, err.code(), message),
            ErrorClass::Unauthorized => Self::unauthorized(err.code(), message),
            ErrorClass::Forbidden => Self::forbidden(err.code(), message),
            ErrorClass::NotFound => Self::not_found(err.code(), message),
            ErrorClass::Conflict => Self::conflict(err.code(), message),
            ErrorClass::RateLimited { retry_after_secs } => {
                Self::rate_limited(err.code(), message, retry_after_secs)
            }
            ErrorClass::PayloadTooLarge => Self::new(413, err.code(), message),
            // A dependency down or the database overloaded: either passes,
            // so say when to try again rather than leave clients guessing.
            ErrorClass::Unavailable => {
                let mut e = Self::unavailable(err.code(), message.clone(), message);
                e.retry_after = Some(1);
                e
            }
            ErrorClass::Unknown => Self::internal(error_chain(err)),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Machine-readable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The `Allow` header of a 405.
    pub fn allow(&self) -> Option<String> {
        self.allow.map(|methods| methods.join(", "))
    }

    /// The cause kept for the log (5xx only).
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// The JSON body: `{"error": {"code", "message", "details"?}}`.
    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = &self.field {
            error["details"] = json!({ "field": field });
        }
        json!({ "error": error })
    }

    /// Renders the response (the request id header is added by `serve`).
    pub fn into_response(self) -> Response {
        let mut builder = Response::builder();
        builder
            .status(self.status)
            .header("content-type", "application/json; charset=utf-8");
        if let Some(secs) = self.retry_after {
            builder.header("retry-after", secs.to_string());
        }
        if let Some(allow) = self.allow() {
            builder.header("allow", allow);
        }
        builder.body(self.body().to_string()).build()
    }
}

impl<E: UseCaseError> From<E> for ApiError {
    fn from(err: E) -> Self {
        Self::from_use_case(&err)
    }
}

/// `err: source: source ...`, for logs.
fn error_chain<E: std::error::Error + ?Sized>(err: &E) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use krug_core::error::InvalidValue;
    use krug_core::ports::StoreError;

    #[derive(Debug, thiserror::Error)]
    #[error("demo")]
    struct Demo(ErrorClass);

    impl UseCaseError for Demo {
        fn code(&self) -> &'static str {
            "DEMO"
        }
        fn class(&self) -> ErrorClass {
            self.0.clone()
        }
    }

    #[test]
    fn every_class_maps_to_its_status() {
        let cases = [
            (ErrorClass::Malformed, 400),
            (ErrorClass::Invalid { field: None }, 422),
            (ErrorClass::Unauthorized, 401),
            (ErrorClass::Forbidden, 403),
            (ErrorClass::NotFound, 404),
            (ErrorClass::Conflict, 409),
            (
                ErrorClass::RateLimited {
                    retry_after_secs: 30,
                },
                429,
            ),
            (ErrorClass::PayloadTooLarge, 413),
            (ErrorClass::Unavailable, 503),
            (ErrorClass::Unknown, 500),
        ];
        for (class, status) in cases {
            assert_eq!(
                ApiError::from_use_case(&Demo(class.clone())).status(),
                status,
                "{class:?}"
            );
        }
    }

    #[test]
    fn rate_limits_carry_retry_after_and_5xx_hide_the_cause() {
        let limited = ApiError::from_use_case(&Demo(ErrorClass::RateLimited {
            retry_after_secs: 42,
        }));
        assert_eq!(limited.retry_after, Some(42));
        // An overloaded database sheds load with a hint when to come back.
        let busy = ApiError::from(StoreError::Busy);
        assert_eq!((busy.status(), busy.retry_after), (503, Some(1)));
        assert_eq!(busy.body()["error"]["code"], "BUSY");
        let internal = ApiError::from(StoreError::Other("disk on fire".into()));
        assert_eq!(internal.status(), 500);
        assert_eq!(internal.body()["error"]["message"], "internal error");
        assert_eq!(internal.cause(), Some("storage error: disk on fire"));
    }

    #[test]
    fn invalid_values_name_their_field() {
        let e = ApiError::from(InvalidValue::new("INVALID_PHONE", "phone", "bad"));
        assert_eq!(e.status(), 422);
        assert_eq!(e.body()["error"]["code"], "INVALID_PHONE");
        assert_eq!(e.body()["error"]["details"]["field"], "phone");
    }
}
