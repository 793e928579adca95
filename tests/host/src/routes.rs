//! HTTP route matching as Spin does it: exact paths, `:name` segments and
//! trailing `/...` wildcards; the most specific match wins — more literal
//! segments first, then an exact route over a wildcard, then the longer
//! pattern.

use std::collections::HashMap;

use anyhow::{bail, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One route of the table.
#[derive(Debug, Clone)]
pub struct Route {
    /// The pattern as written, e.g. `/api/v1/auth/...`.
    pub pattern: String,
    /// The component serving it.
    pub component: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

/// A successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'a> {
    /// The route's component.
    pub component: &'a str,
    /// The pattern as written (`spin-matched-route`, `spin-raw-component-route`).
    pub pattern: &'a str,
    /// The pattern without a trailing `/...` (`spin-component-route`).
    pub component_route: String,
    /// The rest of the path after the matched prefix (`spin-path-info`).
    pub path_info: String,
    /// `:name` captures.
    pub params: HashMap<String, String>,
}

impl Route {
    /// Parses `pattern` for `component`.
    pub fn parse(pattern: &str, component: &str) -> Result<Self> {
        if !pattern.starts_with('/') {
            bail!("route {pattern:?} must start with /");
        }
        let (body, wildcard) = match pattern.strip_suffix("/...") {
            Some(b) => (b, true),
            None => (pattern, false),
        };
        let mut segments = Vec::new();
        for seg in body.split('/').filter(|s| !s.is_empty()) {
            if seg == "..." {
                bail!("route {pattern:?}: `...` is only allowed at the end");
            }
            segments.push(match seg.strip_prefix(':') {
                Some(name) if !name.is_empty() => Segment::Param(name.to_string()),
                Some(_) => bail!("route {pattern:?}: empty parameter name"),
                None => Segment::Literal(seg.to_string()),
            });
        }
        Ok(Self {
            pattern: pattern.to_string(),
            component: component.to_string(),
            segments,
            wildcard,
        })
    }

    fn specificity(&self) -> (usize, bool, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (literals, !self.wildcard, self.segments.len())
    }

    fn matches(&self, path: &str) -> Option<Matched<'_>> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if parts.len() < self.segments.len()
            || (!self.wildcard && parts.len() != self.segments.len())
        {
            return None;
        }
        let mut params = HashMap::new();
        for (seg, part) in self.segments.iter().zip(&parts) {
            match seg {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(name) => {
                    params.insert(name.clone(), (*part).to_string());
                }
            }
        }
        let rest = &parts[self.segments.len()..];
        let mut path_info = String::new();
        for p in rest {
            path_info.push('/');
            path_info.push_str(p);
        }
        if self.wildcard && path.ends_with('/') && !rest.is_empty() {
            path_info.push('/');
        }
        let component_route = self
            .pattern
            .strip_suffix("/...")
            .unwrap_or(&self.pattern)
            .to_string();
        Some(Matched {
            component: &self.component,
            pattern: &self.pattern,
            component_route: if component_route.is_empty() {
                "/".into()
            } else {
                component_route
            },
            path_info,
            params,
        })
    }
}

/// The routing table.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// Builds a table; two triggers with the same pattern are an error.
    pub fn new(routes: Vec<Route>) -> Result<Self> {
        let mut seen = std::collections::HashSet::new();
        for r in &routes {
            if !seen.insert(r.pattern.clone()) {
                bail!("duplicate route {:?}", r.pattern);
            }
        }
        let mut routes = routes;
        // Most specific first; the first match wins.
        routes.sort_by_key(|r| std::cmp::Reverse(r.specificity()));
        Ok(Self { routes })
    }

    /// The best route for `path`, if any.
    pub fn route(&self, path: &str) -> Option<Matched<'_>> {
        self.routes.iter().find_map(|r| r.matches(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(pairs: &[(&str, &str)]) -> Router {
        Router::new(
            pairs
                .iter()
                .map(|(p, c)| Route::parse(p, c).unwrap())
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn precedence() {
        let r = router(&[
            ("/...", "fallback"),
            ("/api/v1/health", "health"),
            ("/api/v1/auth/...", "auth"),
            ("/api/v1/users/:id", "user"),
            ("/api/v1/users/me", "me"),
            ("/api/...", "api"),
        ]);
        let c = |p: &str| r.route(p).map(|m| m.component.to_string());
        assert_eq!(c("/api/v1/health").as_deref(), Some("health"));
        assert_eq!(c("/api/v1/health/x").as_deref(), Some("api"));
        assert_eq!(c("/api/v1/auth").as_deref(), Some("auth"));
        assert_eq!(c("/api/v1/auth/otp").as_deref(), Some("auth"));
        assert_eq!(c("/api/v1/users/me").as_deref(), Some("me"));
        assert_eq!(c("/api/v1/users/42").as_deref(), Some("user"));
        assert_eq!(c("/api/v1/other").as_deref(), Some("api"));
        assert_eq!(c("/").as_deref(), Some("fallback"));
        assert_eq!(c("/index.html").as_deref(), Some("fallback"));
    }

    #[test]
    fn no_match_without_fallback() {
        let r = router(&[("/a", "a"), ("/b/...", "b")]);
        assert!(r.route("/c").is_none());
        assert!(r.route("/a/x").is_none());
        assert_eq!(r.route("/b").unwrap().component, "b");
    }

    #[test]
    fn match_details() {
        let r = router(&[
            ("/api/v1/auth/...", "auth"),
            ("/items/:id/parts/:part", "p"),
        ]);
        let m = r.route("/api/v1/auth/otp/x").unwrap();
        assert_eq!(m.pattern, "/api/v1/auth/...");
        assert_eq!(m.component_route, "/api/v1/auth");
        assert_eq!(m.path_info, "/otp/x");
        let m = r.route("/items/7/parts/wheel").unwrap();
        assert_eq!(m.params["id"], "7");
        assert_eq!(m.params["part"], "wheel");
        assert_eq!(m.path_info, "");
    }

    #[test]
    fn bad_patterns_and_duplicates() {
        assert!(Route::parse("api", "x").is_err());
        assert!(Route::parse("/a/.../b", "x").is_err());
        assert!(Router::new(vec![
            Route::parse("/a", "x").unwrap(),
            Route::parse("/a", "y").unwrap()
        ])
        .is_err());
    }
}
