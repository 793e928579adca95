//! `allowed_outbound_hosts`, checked as Spin checks it. Entries are
//! `scheme://host[:port]` after template expansion; `*` may stand for the
//! scheme, the port, the whole host, or a leading subdomain (`*.example.com`).
//! Like Spin, an entry with a path is refused at start-up, and a missing port
//! means the scheme's default (80, 443, and 5432 for `postgres`).

use anyhow::{bail, Result};

/// One allowed destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    Suffix(String),
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        _ => None,
    }
}

impl AllowedHost {
    /// Parses one expanded entry.
    pub fn parse(entry: &str) -> Result<Self> {
        let Some((scheme, rest)) = entry.split_once("://") else {
            bail!("allowed outbound host {entry:?} has no scheme (e.g. 'https://' or '*://')");
        };
        let scheme = scheme.to_ascii_lowercase();
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, p),
            None => (rest, ""),
        };
        if !path.is_empty() {
            bail!("allowed outbound host {entry:?} has a path, which Spin does not allow");
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, Some(p)),
            _ => (authority, None),
        };
        if host.is_empty() {
            bail!("allowed outbound host {entry:?} has no host");
        }
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostPattern::Suffix(format!(".{suffix}"))
        } else if host.contains('*') {
            bail!("allowed outbound host {entry:?}: `*` must be the whole host or its first label");
        } else {
            HostPattern::Exact(host)
        };
        let scheme_opt = (scheme != "*").then_some(scheme.clone());
        let port = match port {
            Some("*") => None,
            Some(p) => {
                Some(p.parse::<u16>().map_err(|_| {
                    anyhow::anyhow!("allowed outbound host {entry:?}: bad port {p:?}")
                })?)
            }
            None => match default_port(&scheme) {
                Some(p) => Some(p),
                None => bail!("allowed outbound host {entry:?} needs a port for scheme {scheme:?}"),
            },
        };
        Ok(Self {
            scheme: scheme_opt,
            host,
            port,
        })
    }

    /// Whether a request to `scheme://host:port` is allowed by this entry.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if let Some(s) = &self.scheme {
            if !s.eq_ignore_ascii_case(scheme) {
                return false;
            }
        }
        if let Some(p) = self.port {
            if p != port {
                return false;
            }
        }
        let host = host.to_ascii_lowercase();
        match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == host,
            HostPattern::Suffix(s) => host.ends_with(s.as_str()),
        }
    }
}

/// A component's allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowList(Vec<AllowedHost>);

impl AllowList {
    /// Parses expanded entries.
    pub fn parse(entries: &[String]) -> Result<Self> {
        entries
            .iter()
            .map(|e| AllowedHost::parse(e))
            .collect::<Result<Vec<_>>>()
            .map(Self)
    }

    /// Whether `uri` (absolute) may be requested.
    pub fn allows_uri(&self, uri: &http::Uri) -> bool {
        let Some(scheme) = uri.scheme_str() else {
            return false;
        };
        let Some(host) = uri.host() else {
            return false;
        };
        let Some(port) = uri.port_u16().or_else(|| default_port(scheme)) else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.0.iter().any(|a| a.allows(scheme, host, port))
    }

    /// Whether `scheme://host:port` may be reached; without a port, the
    /// scheme's default (none known: refused).
    pub fn allows_host(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let Some(port) = port.or_else(|| default_port(scheme)) else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.0.iter().any(|a| a.allows(scheme, host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ok(l: &AllowList, uri: &str) -> bool {
        l.allows_uri(&uri.parse().unwrap())
    }

    #[test]
    fn exact_and_default_ports() {
        let l = list(&["https://api.example.com", "http://127.0.0.1:5000"]);
        assert!(ok(&l, "https://api.example.com/v3/payments"));
        assert!(ok(&l, "https://api.example.com:443/"));
        assert!(!ok(&l, "http://api.example.com/"));
        assert!(!ok(&l, "https://api.example.com:8443/"));
        assert!(ok(&l, "http://127.0.0.1:5000/send"));
        assert!(!ok(&l, "http://127.0.0.1:5001/send"));
        assert!(!ok(&l, "https://evil.com/"));
    }

    #[test]
    fn wildcards() {
        let l = list(&["*://*.example.com:*"]);
        assert!(ok(&l, "https://a.example.com/"));
        assert!(ok(&l, "http://b.a.example.com:81/"));
        assert!(!ok(&l, "https://example.com/"));
        let any = list(&["https://*:*"]);
        assert!(ok(&any, "https://anything.org:1234/"));
        assert!(!ok(&any, "http://anything.org/"));
    }

    #[test]
    fn refuses_paths_and_bad_entries() {
        assert!(AllowedHost::parse("http://127.0.0.1:5000/send").is_err());
        assert!(AllowedHost::parse("127.0.0.1:5000").is_err());
        assert!(AllowedHost::parse("http://a*b.com").is_err());
        assert!(AllowedHost::parse("redis://host").is_err());
        assert!(AllowedHost::parse("http://host:notaport").is_err());
        assert!(AllowedHost::parse("http://127.0.0.1:5000/").is_ok());
    }

    #[test]
    fn postgres_defaults_to_port_5432() {
        let l = list(&["postgres://db.local", "postgres://127.0.0.1:6543"]);
        assert!(l.allows_host("postgres", "db.local", None));
        assert!(l.allows_host("postgres", "db.local", Some(5432)));
        assert!(!l.allows_host("postgres", "db.local", Some(5433)));
        assert!(l.allows_host("postgres", "127.0.0.1", Some(6543)));
        assert!(!l.allows_host("postgres", "127.0.0.1", None));
        assert!(!l.allows_host("https", "db.local", None));
        let any = list(&["*://db.local:*"]);
        assert!(any.allows_host("postgres", "db.local", Some(1)));
    }

    #[test]
    fn empty_list_denies_everything() {
        assert!(!ok(&AllowList::default(), "http://127.0.0.1:80/"));
    }
}
