//! Canary splits: which side of a canary a request lands on (cohort, then sticky cookie, then
//! a stable hash of the client), and the sticky cookie the response hands out.
//!
//! Plugin instances come and go, so nothing is remembered between calls: the decision is a pure
//! function of the request. The request hook marks a request whose client must be given the
//! cookie with the header [`MARKER`] (`cookie-name=side`); the response hook, which sees the
//! request as the chain left it, turns that mark into a `set-cookie`.

use crate::matcher::{cookies, Matcher};
use weir_plugin_sdk::{request_header, Request};

/// Request header that tells the response hook which cookie to set (`name=canary|stable`).
pub const MARKER: &str = "x-weir-canary";

/// Cookie value of clients on the canary.
pub const CANARY: &str = "canary";
/// Cookie value of clients on the stable side.
pub const STABLE: &str = "stable";

/// Percent is kept in hundredths of a percent (0..=10000).
pub const BUCKETS: u64 = 10_000;

/// A canary split of a rule.
#[derive(Debug)]
pub struct Canary {
    /// The pool of the canary side.
    pub pool: String,
    /// Share of hashed clients sent to the canary, in hundredths of a percent.
    pub basis_points: u64,
    /// Requests that match always go to the canary.
    pub cohort: Option<Matcher>,
    /// Sticky cookie name, `None` when stickiness is off.
    pub cookie: Option<String>,
    /// Max-Age of the sticky cookie, in seconds.
    pub max_age_s: u64,
    /// Mixed into the hash so that two canaries split clients independently.
    pub salt: String,
}

/// Where a request goes and whether its client must get the sticky cookie.
#[derive(Debug, PartialEq, Eq)]
pub struct Decision {
    /// True: the canary pool; false: the rule's own pool.
    pub canary: bool,
    /// The cookie (`name=value`) the response should set.
    pub set_cookie: Option<String>,
}

impl Canary {
    /// Decides for `req`: the cohort goes to the canary; a client with a valid sticky cookie
    /// stays where the cookie says; anyone else by hash of client IP and user agent, and is
    /// given the cookie.
    pub fn decide(&self, req: &Request) -> Decision {
        if self
            .cohort
            .as_ref()
            .is_some_and(|c| c.matches(req).is_some())
        {
            return Decision {
                canary: true,
                set_cookie: None,
            };
        }
        if let Some(name) = &self.cookie {
            let sticky = cookies(req).find_map(|(k, v)| match (k == name, v) {
                (true, CANARY) => Some(true),
                (true, STABLE) => Some(false),
                _ => None,
            });
            if let Some(canary) = sticky {
                return Decision {
                    canary,
                    set_cookie: None,
                };
            }
        }
        let canary = self.bucket(req) < self.basis_points;
        Decision {
            canary,
            set_cookie: self
                .cookie
                .as_ref()
                .map(|name| format!("{name}={}", if canary { CANARY } else { STABLE })),
        }
    }

    /// The client's bucket in `0..BUCKETS`: a hash of salt, client IP and user agent.
    pub fn bucket(&self, req: &Request) -> u64 {
        let ua = request_header(req, "user-agent").unwrap_or("");
        let mut h = Fnv::default();
        for part in [self.salt.as_str(), req.client_ip.as_str(), ua] {
            h.write(part.as_bytes());
            h.write(&[0xff]);
        }
        mix(h.0) % BUCKETS
    }

    /// The `set-cookie` value for `name=value` when `name` is this canary's sticky cookie.
    pub fn cookie_header(&self, marker: &str, secure: bool) -> Option<String> {
        let name = self.cookie.as_deref()?;
        let value = marker.strip_prefix(name)?.strip_prefix('=')?;
        if value != CANARY && value != STABLE {
            return None;
        }
        Some(format!(
            "{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
            self.max_age_s,
            if secure { "; Secure" } else { "" }
        ))
    }
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The splitmix64 finalizer, so that every bit of the FNV state reaches the low bits.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The marker value of a request, when it carries one.
pub fn marker(req: &Request) -> Option<&str> {
    request_header(req, MARKER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::tests::request;
    use crate::matcher::ValueMatch;

    fn canary(percent_bp: u64) -> Canary {
        Canary {
            pool: "canary".into(),
            basis_points: percent_bp,
            cohort: Some(Matcher {
                headers: vec![("x-beta".into(), ValueMatch::Exact("1".into()))],
                ..Matcher::default()
            }),
            cookie: Some("weir_canary".into()),
            max_age_s: 60,
            salt: "r".into(),
        }
    }

    fn client(i: usize, extra: &[(&str, &str)]) -> Request {
        let ua = format!("agent/{i}");
        let mut headers = vec![("user-agent", ua.as_str())];
        headers.extend_from_slice(extra);
        let mut req = request("GET", "shop.test", "/", "", &headers);
        req.client_ip = format!("10.0.{}.{}", i / 250, i % 250);
        req
    }

    #[test]
    fn the_split_follows_the_percentage() {
        for (bp, want) in [(500, 0.05), (2000, 0.20), (5000, 0.5)] {
            let c = canary(bp);
            let n = 2000;
            let hits = (0..n).filter(|&i| c.decide(&client(i, &[])).canary).count();
            let share = hits as f64 / n as f64;
            assert!(
                (share - want).abs() < 0.025,
                "{bp} basis points gave {share} of {n} clients"
            );
        }
        assert_eq!(
            (0..500)
                .filter(|&i| canary(0).decide(&client(i, &[])).canary)
                .count(),
            0
        );
        assert_eq!(
            (0..500)
                .filter(|&i| canary(10_000).decide(&client(i, &[])).canary)
                .count(),
            500
        );
    }

    #[test]
    fn new_clients_get_a_cookie_and_the_cookie_decides_afterwards() {
        let c = canary(5000);
        for i in 0..200 {
            let first = c.decide(&client(i, &[]));
            let cookie = first
                .set_cookie
                .clone()
                .expect("a new client gets a cookie");
            let again = c.decide(&client(i, &[]));
            assert_eq!(first, again, "the hash is stable for the same client");
            // The cookie wins even from another address and agent.
            let with_cookie = c.decide(&client(i + 1000, &[("cookie", &format!("a=b; {cookie}"))]));
            assert_eq!(with_cookie.canary, first.canary);
            assert_eq!(with_cookie.set_cookie, None);
        }
        let bogus = c.decide(&client(1, &[("cookie", "weir_canary=other")]));
        assert!(bogus.set_cookie.is_some(), "an invalid cookie is replaced");
    }

    #[test]
    fn the_cohort_always_goes_to_the_canary() {
        let c = canary(0);
        for i in 0..100 {
            let d = c.decide(&client(
                i,
                &[("x-beta", "1"), ("cookie", "weir_canary=stable")],
            ));
            assert_eq!(
                d,
                Decision {
                    canary: true,
                    set_cookie: None
                }
            );
        }
    }

    #[test]
    fn cookie_headers_are_built_only_for_this_canary() {
        let c = canary(1);
        assert_eq!(
            c.cookie_header("weir_canary=canary", true).as_deref(),
            Some("weir_canary=canary; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure")
        );
        assert_eq!(c.cookie_header("other=canary", false), None);
        assert_eq!(c.cookie_header("weir_canary=evil; Domain=x", false), None);
    }
}
