//! Multi-pattern matching for the detectors' literal lists: each list is compiled once into
//! an Aho-Corasick automaton, so a value is scanned in one pass per list instead of once per
//! pattern; exact-word lists are kept sorted and binary-searched.

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

    #[test]
    fn matches_like_contains() {
        assert!(any_in(LIST, "/etc/passwd"));
        assert!(!any_in(LIST, "/etc/hosts"));
        assert!(is_one_of(LIST, "win.ini"));
        assert!(!is_one_of(LIST, "win"));
    }
}
