//! Multi-pattern matching for the detectors' literal lists: each list is compiled once into
//! an Aho-Corasick automaton, so a value is scanned in one pass per list instead of once per
//! pattern; exact-word lists are kept sorted and binary-searched. The lists detectors consult
//! on most values are also joined into one automaton (`groups_in`): one pass over a value
//! tells which lists can match at all, so the per-list passes run only where they may hit.

use crate::normalize::ByteSet;
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use std::cell::RefCell;

/// Compiled lists, keyed by the address of the static list.
struct Cache {
    automata: Vec<(usize, Option<AhoCorasick>)>,
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache { automata: Vec::new() }) };
}

fn key(list: &'static [&'static str]) -> usize {
    list.as_ptr() as usize
}

/// Whether `hay` contains any pattern of `list`.
pub fn any_in(list: &'static [&'static str], hay: &str) -> bool {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let k = key(list);
        let pos = match c.automata.iter().position(|(id, _)| *id == k) {
            Some(p) => p,
            None => {
                // Building can only fail for huge pattern sets; fall back to plain search.
                // A contiguous NFA builds in microseconds and searches nearly as fast as a DFA.
                let ac = AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(list)
                    .ok();
                c.automata.push((k, ac));
                c.automata.len() - 1
            }
        };
        match &c.automata[pos].1 {
            Some(ac) => ac.is_match(hay),
            None => list.iter().any(|p| hay.contains(p)),
        }
    })
}

/// Lists joined in the combined automaton, one bit each (`Views::maybe`).
pub mod group {
    pub const JAVA_CLASSES: u64 = 1 << 0;
    pub const JAVA_RUNTIME: u64 = 1 << 1;
    pub const NODE_INJECTION: u64 = 1 << 2;
    pub const SQL_CATALOGS: u64 = 1 << 3;
    pub const SQL_NAMES: u64 = 1 << 4;
    pub const PHP_WRAPPERS: u64 = 1 << 5;
    pub const OS_FILES: u64 = 1 << 6;
    pub const XSS_HANDLERS: u64 = 1 << 7;
    pub const GENERIC_WORDS: u64 = 1 << 8;
    pub const JAVA_SERIALIZED: u64 = 1 << 9;
    pub const SHELL_EXPRESSIONS: u64 = 1 << 10;
    pub const SHELL_PATHS: u64 = 1 << 11;
    pub const XSS_SINKS: u64 = 1 << 12;
    pub const XSS_SCRIPT_URIS: u64 = 1 << 13;
}

/// The joined lists and their bits.
fn group_lists() -> [(&'static [&'static str], u64); 14] {
    [
        (crate::java::CLASSES, group::JAVA_CLASSES),
        (crate::java::RUNTIME_WORDS, group::JAVA_RUNTIME),
        (crate::generic::NODE_INJECTION, group::NODE_INJECTION),
        (crate::sqli::CATALOGS, group::SQL_CATALOGS),
        (crate::sqli::SQL_NAMES, group::SQL_NAMES),
        (crate::php::WRAPPERS, group::PHP_WRAPPERS),
        (crate::lfi::OS_FILES, group::OS_FILES),
        (crate::xss::HANDLER_PREFIXES, group::XSS_HANDLERS),
        (crate::generic::ANCHORS, group::GENERIC_WORDS),
        (crate::java::SERIALIZED, group::JAVA_SERIALIZED),
        (crate::rce::SHELL_EXPRESSIONS, group::SHELL_EXPRESSIONS),
        (crate::rce::SHELL_PATHS, group::SHELL_PATHS),
        (crate::xss::SINKS, group::XSS_SINKS),
        (crate::xss::script_uris(), group::XSS_SCRIPT_URIS),
    ]
}

/// A joined automaton and, per pattern, the bit of its list.
struct Joined {
    ac: Option<AhoCorasick>,
    bits: Vec<u64>,
}

impl Joined {
    fn new(lists: &[(&'static [&'static str], u64)], kind: AhoCorasickKind) -> Joined {
        let mut patterns = Vec::new();
        let mut bits = Vec::new();
        for (list, bit) in lists {
            for p in *list {
                patterns.push(*p);
                bits.push(*bit);
            }
        }
        let ac = AhoCorasick::builder()
            .kind(Some(kind))
            .build(&patterns)
            .ok();
        Joined { ac, bits }
    }

    /// The bits of the lists with a pattern in `hay`; every bit when there is no automaton.
    fn hits(&self, hay: &str) -> u64 {
        match &self.ac {
            // Most values hold no pattern at all: the plain search says so faster than the
            // overlapping one that collects every list.
            Some(ac) if !ac.is_match(hay) => 0,
            Some(ac) => ac.find_overlapping_iter(hay).fold(0, |m, hit| {
                m | self
                    .bits
                    .get(hit.pattern().as_usize())
                    .copied()
                    .unwrap_or(0)
            }),
            None => u64::MAX,
        }
    }
}

/// Bits of the squeezed-SQL lists (`squeezed_sql_in`).
pub mod sql_group {
    pub const TIME_FUNCS: u64 = 1 << 0;
    pub const MSSQL: u64 = 1 << 1;
}

thread_local! {
    // Both are NFAs: a DFA searches faster but takes far longer to build in every new
    // instance (even the small squeezed-SQL one cost ~12% of a fresh instance in Wasm, for
    // ~1.5% on warm calls, which search it only on values with SQL keyword characters).
    static COMBINED: Joined = Joined::new(&group_lists(), AhoCorasickKind::ContiguousNFA);
    static SQUEEZED_SQL: Joined = Joined::new(
        &[
            (crate::sqli::TIME_FUNCS, sql_group::TIME_FUNCS),
            (crate::sqli::MSSQL, sql_group::MSSQL),
        ],
        AhoCorasickKind::ContiguousNFA,
    );
}

/// The bits (`group::*`) of the joined lists with a pattern in `hay`, in one pass. When the
/// automaton could not be built every bit is set, so callers fall back to their own search.
pub fn groups_in(hay: &str) -> u64 {
    COMBINED.with(|c| c.hits(hay))
}

/// The bits (`sql_group::*`) of the time-function and MSSQL lists found in a squeezed value,
/// in one pass.
pub fn squeezed_sql_in(hay: &str) -> u64 {
    SQUEEZED_SQL.with(|c| c.hits(hay))
}

/// Whether some pattern of `list` has all its bytes in `bytes`: when not, no pattern can occur
/// in a text with those bytes (or in one derived from it by removing characters).
pub fn may_hold(list: &[&str], bytes: &ByteSet) -> bool {
    list.iter().any(|p| p.bytes().all(|b| bytes.has(b)))
}

/// Where the two-byte `pair` starts in `hay`, left to right without overlaps, as
/// `hay.match_indices(pair)` finds it; a plain byte scan, with none of the substring
/// searcher's setup (which dominated these short searches in Wasm).
pub fn pairs(hay: &str, pair: [u8; 2]) -> impl Iterator<Item = usize> + '_ {
    let b = hay.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i + 1 < b.len() {
            let at = i;
            if b[at] == pair[0] && b[at + 1] == pair[1] {
                i = at + 2;
                return Some(at);
            }
            i += 1;
        }
        None
    })
}

/// Whether `word` is exactly one of `list`, which must be sorted (the lists are kept sorted;
/// `lists_are_sorted` in each module's tests checks it).
pub fn is_one_of(list: &'static [&'static str], word: &str) -> bool {
    list.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    static LIST: &[&str] = &["passwd", "win.ini"];

    /// Every list used with `is_one_of` is sorted.
    #[test]
    fn lists_are_sorted() {
        let lists: [&[&str]; 15] = [
            crate::php::FUNCTIONS,
            crate::xss::ALWAYS_ACTIVE,
            crate::xss::DANGEROUS_TAGS,
            crate::engine::FILENAME_HEADERS,
            crate::sqli_lex::HIGH_RISK,
            crate::rce::LANGUAGES,
            crate::sqli::NOSQL_OPS,
            crate::sqli::OVERFLOWS,
            crate::rce::PREFIXES,
            crate::engine::SKIPPED_HEADERS,
            crate::sqli_lex::SQL_FUNCTIONS,
            crate::sqli_lex::STRONG_FUNCS,
            crate::rce::UNIX_COMMANDS,
            crate::rce::WORD_COMMANDS,
            crate::rce::WINDOWS_COMMANDS,
        ];
        for list in lists {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
    }

    /// The combined pass finds exactly the lists `any_in` finds.
    #[test]
    fn groups_agree_with_each_list() {
        for hay in [
            "java.lang.runtime",
            "x onload=1",
            "/etc/passwd",
            "information_schema",
            "php://filter",
            "require('child_process')",
            "plain words",
            "ro0ab",
            ";sleep(5)",
            "execmaster..xp_cmdshell",
            "$(id)|/bin/sh",
            "x';alert(1)",
            "a href=javascript:x",
            "x:behavior:url(y)",
            "document.cookie",
        ] {
            let m = groups_in(hay);
            for (list, bit) in group_lists() {
                assert_eq!(m & bit != 0, any_in(list, hay), "{hay} {list:?}");
            }
            let q = squeezed_sql_in(hay);
            assert_eq!(
                q & sql_group::TIME_FUNCS != 0,
                any_in(crate::sqli::TIME_FUNCS, hay)
            );
            assert_eq!(q & sql_group::MSSQL != 0, any_in(crate::sqli::MSSQL, hay));
        }
    }

    #[test]
    fn pairs_match_like_match_indices() {
        for (hay, pair) in [
            ("a...b..", *b".."),
            ("0x0x00x", *b"0x"),
            ("onon on", *b"on"),
            ("", *b"on"),
            ("o", *b"on"),
            ("é..ü", *b".."),
        ] {
            let want: Vec<usize> = hay
                .match_indices(std::str::from_utf8(&pair).unwrap())
                .map(|(at, _)| at)
                .collect();
            assert_eq!(pairs(hay, pair).collect::<Vec<_>>(), want, "{hay}");
        }
    }

    #[test]
    fn matches_like_contains() {
        assert!(any_in(LIST, "/etc/passwd"));
        assert!(!any_in(LIST, "/etc/hosts"));
        assert!(is_one_of(LIST, "win.ini"));
        assert!(!is_one_of(LIST, "win"));
    }
}
