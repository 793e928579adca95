//! Source-address allow-lists such as `yookassa_allowed_ips`: a comma-
//! separated list of IPv4/IPv6 addresses and CIDR blocks.

use std::net::IpAddr;

/// One block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr` or `addr/prefix`; the host bits need not be zero.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().ok()?
            }
            Some(_) => return None,
        };
        (prefix <= max).then_some(Self { net, prefix })
    }

    /// True when `ip` is inside the block. An IPv4-mapped IPv6 address
    /// (`::ffff:1.2.3.4`) counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// An allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<Cidr>);

impl AllowList {
    /// Parses a comma-separated list; returns the entries that are not
    /// addresses or blocks as the error (a deployment mistake to report).
    pub fn parse(list: &str) -> Result<Self, Vec<String>> {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match Cidr::parse(entry) {
                Some(c) => ok.push(c),
                None => bad.push(entry.to_string()),
            }
        }
        if bad.is_empty() {
            Ok(Self(ok))
        } else {
            Err(bad)
        }
    }

    /// True when `ip` (text, as in `spin-client-addr` without the port) is
    /// in any block; unparsable addresses are not.
    pub fn allows(&self, ip: &str) -> bool {
        ip.trim()
            .parse::<IpAddr>()
            .is_ok_and(|ip| self.0.iter().any(|c| c.contains(ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YOOKASSA: &str = "185.71.76.0/27,185.71.77.0/27,77.75.153.0/25,77.75.156.11/32,77.75.156.35/32,77.75.154.128/25,2a02:5180::/32";

    #[test]
    fn ipv4_blocks_match_at_their_edges() {
        let l = AllowList::parse(YOOKASSA).unwrap();
        for (ip, ok) in [
            ("185.71.76.0", true),
            ("185.71.76.31", true),
            ("185.71.76.32", false),
            ("185.71.75.255", false),
            ("77.75.156.11", true),
            ("77.75.156.12", false),
            ("77.75.154.128", true),
            ("77.75.154.127", false),
            ("::ffff:185.71.77.5", true),
            ("127.0.0.1", false),
            ("not-an-ip", false),
        ] {
            assert_eq!(l.allows(ip), ok, "{ip}");
        }
    }

    #[test]
    fn ipv6_blocks_match() {
        let l = AllowList::parse(YOOKASSA).unwrap();
        assert!(l.allows("2a02:5180::1"));
        assert!(l.allows("2a02:5180:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert!(!l.allows("2a02:5181::1"));
        assert!(!l.allows("::1"));
        let all = AllowList::parse("::/0").unwrap();
        assert!(all.allows("2001:db8::1"));
        assert!(!all.allows("10.0.0.1"), "an IPv6 block never matches IPv4");
        assert!(AllowList::parse("0.0.0.0/0").unwrap().allows("8.8.8.8"));
    }

    #[test]
    fn bad_entries_are_reported() {
        assert_eq!(
            AllowList::parse("10.0.0.0/8, 10.0.0.0/33, fe80::/129, nope, 1.2.3.4/, 1.2.3.4/-1")
                .unwrap_err(),
            vec![
                "10.0.0.0/33",
                "fe80::/129",
                "nope",
                "1.2.3.4/",
                "1.2.3.4/-1"
            ]
        );
        assert_eq!(AllowList::parse("").unwrap(), AllowList::default());
    }
}
