//! The route-table macro every component's `lib.rs` is written with.

/// Dispatches a request by path pattern, then by method:
///
/// ```ignore
/// routes!(req, rest, {
///     ["me"] => { GET => me::get(ctx, req), PATCH => me::patch(ctx, req) },
///     ["admin", "businesses", id] => { GET => admin::get_business(ctx, req, id) },
/// })
/// ```
///
/// A path that matches a pattern but not one of its methods is 405 with an
/// `Allow` header naming exactly the methods listed for it — the same list
/// that dispatches, so the two cannot drift. A path that matches no pattern
/// is 404 `NOT_FOUND`. Patterns are tried in order.
#[macro_export]
macro_rules! routes {
    ($req:expr, $path:expr, { $($pattern:pat => { $($method:ident => $handler:expr),+ $(,)? }),* $(,)? }) => {
        match $path {
            $(
                $pattern => match $req.method() {
                    $( stringify!($method) => $handler, )+
                    _ => Err($crate::ApiError::method_not_allowed(
                        $req,
                        &[$(stringify!($method)),+],
                    )),
                },
            )*
            _ => Err($crate::ApiError::route_not_found($req)),
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::{ApiError, Req};

    fn route(req: &Req) -> Result<&'static str, ApiError> {
        let segments = req.segments();
        routes!(req, segments.as_slice(), {
            ["items"] => { GET => Ok("list"), POST => Ok("create") },
            ["items", _id] => { GET => Ok("read"), PATCH => Ok("patch"), DELETE => Ok("delete") },
        })
    }

    fn call(method: &str, path: &str) -> Result<&'static str, ApiError> {
        route(&Req::new(method, path, vec![], vec![]))
    }

    #[test]
    fn dispatches_by_path_then_method() {
        assert_eq!(call("GET", "/items").unwrap(), "list");
        assert_eq!(call("post", "/items").unwrap(), "create");
        assert_eq!(call("DELETE", "/items/7").unwrap(), "delete");
    }

    #[test]
    fn other_methods_are_405_with_allow() {
        let e = call("TRACE", "/items/7").unwrap_err();
        assert_eq!((e.status(), e.code()), (405, "METHOD_NOT_ALLOWED"));
        assert_eq!(e.allow().as_deref(), Some("GET, PATCH, DELETE"));
    }

    #[test]
    fn unknown_paths_are_404() {
        assert_eq!(call("GET", "/nothing").unwrap_err().status(), 404);
    }
}
