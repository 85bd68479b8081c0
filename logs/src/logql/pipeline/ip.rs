//! `ip("…")` filters: lines holding an address in a set (`|= ip("…")`,
//! `!= ip("…")`) and labels whose value is one (`| addr = ip("…")`,
//! `!=`), as Loki's. A set is one address (`192.168.4.5`), an inclusive
//! range (`192.168.4.5-192.168.4.20`) or a CIDR block (`10.0.0.0/8`), of
//! IPv4 or IPv6; an address matches only a set of its own family.
//!
//! In a line, an address is a run of hexadecimal digits, dots and colons
//! (so `[::1]:80` and `(10.0.0.1)` are found) that reads as one, as it is
//! or once a trailing `.` or `:` (the end of a sentence), a leading one
//! (`client:10.0.0.1`) and, for IPv4, a `:port` are taken off.

use std::net::IpAddr;

/// An address set of an `ip("…")` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpFilter {
    /// As written.
    pub source: String,
    set: Set,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    One(IpAddr),
    /// Inclusive, same family, `lo ≤ hi`.
    Range(IpAddr, IpAddr),
    /// The network's address (host bits cleared) and its prefix length.
    Cidr(IpAddr, u8),
}

/// An address as a number and its family's width in bits.
fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

fn mask(prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        (u128::MAX << (128 - u32::from(prefix))) >> (128 - u32::from(width))
    }
}

impl IpFilter {
    /// Reads a set; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<IpFilter, String> {
        let bad = |why: &str| format!("ip({s:?}): {why}");
        let addr = |a: &str| {
            a.trim()
                .parse::<IpAddr>()
                .map_err(|_| bad(&format!("{:?} is not an IP address", a.trim())))
        };
        let set = if let Some((net, prefix)) = s.split_once('/') {
            let net = addr(net)?;
            let width = bits(net).1;
            let prefix: u8 = prefix
                .trim()
                .parse()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| bad(&format!("prefix length must be 0 to {width}")))?;
            let (n, _) = bits(net);
            let cleared = n & mask(prefix, width);
            let net = match net {
                IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(cleared as u32)),
                IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(cleared)),
            };
            Set::Cidr(net, prefix)
        } else if let Some((lo, hi)) = s.split_once('-') {
            let (lo, hi) = (addr(lo)?, addr(hi)?);
            if lo.is_ipv4() != hi.is_ipv4() {
                return Err(bad("a range's ends must be of one family"));
            }
            if bits(lo).0 > bits(hi).0 {
                return Err(bad("a range must start at its lower end"));
            }
            Set::Range(lo, hi)
        } else {
            Set::One(addr(s)?)
        };
        Ok(IpFilter {
            source: s.to_string(),
            set,
        })
    }

    /// Whether `ip` is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (x, width) = bits(ip);
        match self.set {
            Set::One(a) => a == ip,
            Set::Range(lo, hi) => {
                lo.is_ipv4() == ip.is_ipv4() && bits(lo).0 <= x && x <= bits(hi).0
            }
            Set::Cidr(net, prefix) => {
                let (n, w) = bits(net);
                w == width && x & mask(prefix, width) == n
            }
        }
    }

    /// Whether a label value is an address in the set.
    pub fn matches_value(&self, v: &str) -> bool {
        v.trim().parse().is_ok_and(|ip| self.contains(ip))
    }

    /// Whether a line holds an address in the set.
    pub fn matches_line(&self, line: &str) -> bool {
        addresses(line).any(|ip| self.contains(ip))
    }
}

/// The addresses found in a line.
fn addresses(line: &str) -> impl Iterator<Item = IpAddr> + '_ {
    line.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .filter(|run| run.len() >= 2 && (run.contains('.') || run.contains(':')))
        .filter_map(read_address)
}

fn read_address(run: &str) -> Option<IpAddr> {
    if let Ok(ip) = run.parse() {
        return Some(ip);
    }
    // `key:10.0.0.1`, `host:fe80::1` (but `::1` stays whole).
    let unglued = match run.strip_prefix(':') {
        Some(r) if !r.starts_with(':') => r,
        _ => run,
    };
    let run = unglued.trim_start_matches('.').trim_end_matches(['.', ':']);
    if let Ok(ip) = run.parse() {
        return Some(ip);
    }
    // `10.0.0.1:8080`: an IPv4 address and a port.
    let (host, port) = run.rsplit_once(':')?;
    if host.contains('.') && !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) {
        return host.parse().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_what_they_hold() {
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            (
                "one",
                "192.168.4.5",
                &["192.168.4.5"],
                &["192.168.4.6", "::1"],
            ),
            (
                "range",
                "192.168.4.5-192.168.4.20",
                &["192.168.4.5", "192.168.4.12", "192.168.4.20"],
                &["192.168.4.4", "192.168.4.21", "10.0.0.1"],
            ),
            (
                "cidr",
                "10.0.0.0/8",
                &["10.0.0.0", "10.255.255.255"],
                &["11.0.0.0", "9.255.255.255", "::a00:1"],
            ),
            (
                "host bits cleared",
                "192.168.1.77/24",
                &["192.168.1.1"],
                &["192.168.2.1"],
            ),
            ("everything v4", "0.0.0.0/0", &["1.2.3.4"], &["::"]),
            (
                "ipv6 cidr",
                "2001:db8::/32",
                &["2001:db8::1", "2001:db8:ffff::"],
                &["2001:db9::", "10.0.0.1"],
            ),
            ("ipv6 range", "::1-::5", &["::3"], &["::6"]),
        ];
        for (name, set, inside, outside) in cases {
            let f = IpFilter::parse(set).unwrap_or_else(|e| panic!("{name}: {e}"));
            for a in *inside {
                assert!(f.matches_value(a), "{name}: {a} is in {set}");
            }
            for a in *outside {
                assert!(!f.matches_value(a), "{name}: {a} is not in {set}");
            }
        }
    }

    #[test]
    fn refusals_say_why() {
        for (s, why) in [
            ("300.1.1.1", "not an IP address"),
            ("10.0.0.0/33", "prefix length must be 0 to 32"),
            ("::/129", "0 to 128"),
            ("10.0.0.9-10.0.0.1", "lower end"),
            ("10.0.0.1-::1", "one family"),
            ("", "not an IP address"),
        ] {
            let e = IpFilter::parse(s).unwrap_err();
            assert!(e.contains(why), "{s:?}: {e}");
        }
    }

    #[test]
    fn addresses_in_lines() {
        let f = IpFilter::parse("10.0.0.0/8").unwrap();
        let v6 = IpFilter::parse("::1").unwrap();
        let net6 = IpFilter::parse("2001:db8::/32").unwrap();
        let any6 = IpFilter::parse("::").unwrap();
        let cases: &[(&str, &IpFilter, bool)] = &[
            ("client 10.1.2.3 connected", &f, true),
            ("from 10.1.2.3.", &f, true),
            ("upstream=10.1.2.3:8080 status=200", &f, true),
            ("(10.0.0.1)", &f, true),
            ("peer 192.168.0.1 and 10.9.9.9", &f, true),
            ("version 10.1.2 built", &f, false),
            ("10.1.2.3.4 is no address", &f, false),
            ("id=deadbeef time=10:20:30", &f, false),
            ("listening on [::1]:9090", &v6, true),
            ("listening on ::2", &v6, false),
            ("client:10.1.2.3", &f, true),
            ("host:10.1.2.3:8080", &f, true),
            ("route 2001:db8:: via eth0", &net6, true),
            ("addr:2001:db8::1 up", &net6, true),
            ("listening on [::]:8080", &any6, true),
            ("", &f, false),
        ];
        for (line, filter, want) in cases {
            assert_eq!(filter.matches_line(line), *want, "{line:?}");
        }
    }
}
