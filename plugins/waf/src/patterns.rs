//! Multi-pattern matching for the detectors' literal lists: each list is compiled once into
//! an Aho-Corasick automaton, so a value is scanned in one pass per list instead of once per
//! pattern, and exact-word lists are looked up in a sorted copy.

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use std::cell::RefCell;

/// Compiled lists, keyed by the address of the static list.
struct Cache {
    automata: Vec<(usize, Option<AhoCorasick>)>,
    sorted: Vec<(usize, Vec<&'static str>)>,
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache { automata: Vec::new(), sorted: Vec::new() }) };
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

/// Whether `word` is exactly one of `list`.
pub fn is_one_of(list: &'static [&'static str], word: &str) -> bool {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let k = key(list);
        let pos = match c.sorted.iter().position(|(id, _)| *id == k) {
            Some(p) => p,
            None => {
                let mut v = list.to_vec();
                v.sort_unstable();
                c.sorted.push((k, v));
                c.sorted.len() - 1
            }
        };
        c.sorted[pos].1.binary_search(&word).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    static LIST: &[&str] = &["passwd", "win.ini"];

    #[test]
    fn matches_like_contains() {
        assert!(any_in(LIST, "/etc/passwd"));
        assert!(!any_in(LIST, "/etc/hosts"));
        assert!(is_one_of(LIST, "win.ini"));
        assert!(!is_one_of(LIST, "win"));
    }
}
