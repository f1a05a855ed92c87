//! Input normalisation before detection: repeated URL decoding (with `%uXXXX`), HTML entity
//! decoding, NUL removal and case folding. Every function is bounded by its input's length.

use crate::patterns::groups_in;
use std::borrow::Cow;
use std::cell::OnceCell;

/// How many rounds of percent-decoding are applied (double/triple encoding).
const DECODE_ROUNDS: usize = 3;

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One round of percent-decoding; `plus` turns `+` into a space (form encoding). `%uXXXX`
/// becomes the UTF-8 of that code point. Invalid escapes stay as they are.
fn decode_once(input: &[u8], plus: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            if matches!(input.get(i + 1), Some(b'u' | b'U')) && i + 6 <= input.len() {
                let digits = &input[i + 2..i + 6];
                if digits.iter().all(|d| hex(*d).is_some()) {
                    let cp = digits
                        .iter()
                        .fold(0u32, |acc, d| acc << 4 | u32::from(hex(*d).unwrap_or(0)));
                    let ch = match cp {
                        // Full-width ASCII (U+FF01-FF5E) folds to ASCII, as IIS does.
                        0xff01..=0xff5e => char::from_u32(cp - 0xfee0),
                        _ => char::from_u32(cp),
                    };
                    if let Some(ch) = ch {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += 6;
                        continue;
                    }
                }
            }
        }
        out.push(if plus && b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// Percent-decodes until stable (at most a few rounds), returning text (invalid UTF-8 is
/// replaced); text with nothing to decode is borrowed. `plus` decodes `+` as a space in the
/// first round (form encoding).
pub fn url_decode(input: &str, plus: bool) -> Cow<'_, str> {
    if !input
        .as_bytes()
        .iter()
        .any(|b| *b == b'%' || (plus && *b == b'+'))
    {
        return Cow::Borrowed(input);
    }
    let mut cur = decode_once(input.as_bytes(), plus);
    for _ in 1..DECODE_ROUNDS {
        if !cur.contains(&b'%') {
            break;
        }
        let next = decode_once(&cur, false);
        if next == cur {
            break;
        }
        cur = next;
    }
    Cow::Owned(String::from_utf8_lossy(&cur).into_owned())
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "colon" => ':',
        "semi" => ';',
        "lpar" => '(',
        "rpar" => ')',
        "sol" => '/',
        "bsol" => '\\',
        "tab" => '\t',
        "newline" => '\n',
        "equals" => '=',
        "grave" => '`',
        "period" => '.',
        "comma" => ',',
        "excl" => '!',
        "num" => '#',
        "lsqb" | "lbrack" => '[',
        "rsqb" | "rbrack" => ']',
        "lcub" | "lbrace" => '{',
        "rcub" | "rbrace" => '}',
        "plus" => '+',
        "percnt" => '%',
        "dollar" => '$',
        "ast" => '*',
        "quest" => '?',
        "commat" => '@',
        "vert" => '|',
        "hyphen" | "dash" => '-',
        "lowbar" => '_',
        _ => return None,
    })
}

/// Decodes HTML character references (`&#60;`, `&#x3c;`, `&lt;`, with or without `;`).
pub fn html_decode(input: &str) -> String {
    if !input.contains('&') {
        return input.to_string();
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match entity_at(after) {
            Some((ch, used)) => {
                out.push(ch);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character of the entity that starts `rest` (just after `&`) and how many bytes it used.
fn entity_at(rest: &str) -> Option<(char, usize)> {
    let b = rest.as_bytes();
    if b.first() == Some(&b'#') {
        let (radix, start) = if matches!(b.get(1), Some(b'x' | b'X')) {
            (16, 2)
        } else {
            (10, 1)
        };
        let mut end = start;
        while end < b.len() && end - start < 8 && (b[end] as char).is_digit(radix) {
            end += 1;
        }
        if end == start {
            return None;
        }
        let cp = u32::from_str_radix(&rest[start..end], radix).ok()?;
        let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
        let used = if b.get(end) == Some(&b';') {
            end + 1
        } else {
            end
        };
        return Some((ch, used));
    }
    let mut end = 0;
    while end < b.len() && end < 10 && b[end].is_ascii_alphabetic() {
        end += 1;
    }
    let mut name = [0u8; 10];
    name[..end].copy_from_slice(&b[..end]);
    name[..end].make_ascii_lowercase();
    let ch = named_entity(std::str::from_utf8(&name[..end]).ok()?)?;
    let used = if b.get(end) == Some(&b';') {
        end + 1
    } else {
        end
    };
    Some((ch, used))
}

/// The set of bytes present in a text, for cheap "can this pattern occur at all" gates.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ByteSet([u64; 4]);

impl ByteSet {
    /// The bytes of `s`.
    pub fn of(s: &str) -> ByteSet {
        let mut set = ByteSet::default();
        set.add(s);
        set
    }

    fn add(&mut self, s: &str) {
        for b in s.bytes() {
            self.0[usize::from(b >> 6)] |= 1 << (b & 63);
        }
    }

    /// Whether every byte is ASCII.
    pub fn is_ascii(&self) -> bool {
        self.0[2] | self.0[3] == 0
    }

    /// Whether an ASCII uppercase letter occurs.
    fn any_upper(&self) -> bool {
        // `A`..=`Z` are bits 1..=26 of the second word.
        self.0[1] & (0x7ff_fffe) != 0
    }

    /// Adds the lowercase letter of every uppercase one present.
    fn add_lower_of_upper(&mut self) {
        // `a`..=`z` are `A`..=`Z` plus 32: the same word, 32 bits up.
        self.0[1] |= (self.0[1] & 0x7ff_fffe) << 32;
    }

    /// Whether byte `b` occurs.
    pub fn has(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    /// Whether all of `bytes` occur (a text without one of them cannot hold a word made of
    /// them).
    pub fn all(&self, bytes: &[u8]) -> bool {
        bytes.iter().all(|b| self.has(*b))
    }

    /// Whether any of `bytes` occurs.
    pub fn any(&self, bytes: &[u8]) -> bool {
        bytes.iter().any(|b| self.has(*b))
    }

    /// Whether every byte present is one of `allowed` or an ASCII letter or digit.
    pub fn only_alnum_and(&self, allowed: &[u8]) -> bool {
        let mut rest = [
            self.0[0] & !ALNUM.0[0],
            self.0[1] & !ALNUM.0[1],
            self.0[2],
            self.0[3],
        ];
        for b in allowed {
            rest[usize::from(b >> 6)] &= !(1 << (b & 63));
        }
        rest == [0; 4]
    }
}

/// ASCII letters and digits as a byte set (`0`-`9` are bits 48..=57 of the first word;
/// `A`-`Z` bits 1..=26 and `a`-`z` bits 33..=58 of the second).
const ALNUM: ByteSet = ByteSet([0x03ff << 48, 0x07ff_fffe_07ff_fffe, 0, 0]);

/// A value in the forms the detectors look at. `lower` and `html` are only stored when
/// they differ from the form before them (most values have nothing to fold or decode), and
/// `decoded` borrows the request's text when decoding changed nothing.
#[derive(Debug, Default)]
pub struct Views<'a> {
    /// URL-decoded (repeatedly), NULs removed, original case.
    pub decoded: Cow<'a, str>,
    lower: Option<String>,
    html: Option<String>,
    /// Every byte of `decoded`, `lower` and `html`: a pattern with a byte missing here
    /// cannot occur in any of them, nor in text derived from them by removing characters.
    pub bytes: ByteSet,
    /// Which joined pattern lists occur in `lower` or `html` (computed on first use).
    groups: OnceCell<u64>,
}

impl<'a> Views<'a> {
    /// Views of a value that is still percent-encoded (`plus`: `+` means space).
    pub fn of_encoded(raw: &'a str, plus: bool) -> Views<'a> {
        Views::of_text(url_decode(raw, plus))
    }

    /// Views of an owned value that is already decoded (the tests build values this way).
    #[cfg(test)]
    pub fn of_decoded(decoded: String) -> Views<'a> {
        Views::of_text(Cow::Owned(decoded))
    }

    /// `decoded`, lowercased.
    pub fn lower(&self) -> &str {
        self.lower.as_deref().unwrap_or(&self.decoded)
    }

    /// `lower` with HTML entities decoded (and decoded again: `&amp;lt;`).
    pub fn html(&self) -> &str {
        self.html.as_deref().unwrap_or_else(|| self.lower())
    }

    /// Whether a pattern of one of the joined lists `group` (`patterns::group::*`) may occur
    /// in `lower` or `html`: when false, searching either for that list finds nothing.
    pub fn maybe(&self, group: u64) -> bool {
        let found = self.groups.get_or_init(|| {
            let mut m = groups_in(self.lower());
            if let Some(h) = &self.html {
                m |= groups_in(h);
            }
            m
        });
        found & group != 0
    }

    /// Views of a value that is already decoded, owned or borrowed.
    pub fn of_text(mut decoded: Cow<'a, str>) -> Views<'a> {
        if decoded.contains('\0') {
            decoded.to_mut().retain(|c| c != '\0');
        }
        let mut bytes = ByteSet::of(&decoded);
        let ascii = bytes.is_ascii();
        let lower = if ascii {
            bytes.any_upper().then(|| {
                bytes.add_lower_of_upper();
                decoded.to_ascii_lowercase()
            })
        } else {
            let l = Some(decoded.to_lowercase()).filter(|l| *l != decoded);
            if let Some(l) = &l {
                bytes.add(l);
            }
            l
        };
        let l = lower.as_deref().unwrap_or(&decoded);
        let folded = if !ascii && l.contains(['\u{ff1c}', '\u{ff1e}'])
            || bytes.has(b'+') && l.contains("+adw-")
        {
            // Full-width angle brackets and UTF-7 (`+ADw-script+AD4-`).
            Some(
                l.replace('\u{ff1c}', "<")
                    .replace('\u{ff1e}', ">")
                    .replace("+adw-", "<")
                    .replace("+ad4-", ">"),
            )
        } else {
            None
        };
        let h = folded.as_deref().unwrap_or(l);
        let html = if bytes.has(b'&') {
            let once = html_decode(h);
            let twice = if once.contains('&') {
                html_decode(&once)
            } else {
                once
            };
            // Entities may hide percent-escapes and vice versa.
            let mut v = if twice.contains('%') {
                url_decode(&twice, false).into_owned()
            } else {
                twice
            };
            v.retain(|c| c != '\0');
            Some(v.to_lowercase()).filter(|v| v != l)
        } else {
            folded
        };
        if let Some(h) = &html {
            bytes.add(h);
        }
        Views {
            decoded,
            lower,
            html,
            bytes,
            groups: OnceCell::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_repeatedly_and_unicode() {
        assert_eq!(url_decode("%2527", false), "'");
        assert_eq!(url_decode("a+b%20c", true), "a b c");
        assert_eq!(url_decode("a+b", false), "a+b");
        assert_eq!(url_decode("%u003cscript", false), "<script");
        assert_eq!(url_decode("%uff1cscript", false), "<script");
        assert_eq!(url_decode("%zz%", false), "%zz%");
    }

    #[test]
    fn byte_sets_cover_every_view() {
        let v = Views::of_decoded("AbC &lt;x".into());
        assert_eq!(v.lower(), "abc &lt;x");
        assert_eq!(v.html(), "abc <x");
        for b in b"AbCabc &lt;x<" {
            assert!(v.bytes.has(*b), "{}", *b as char);
        }
        assert!(!v.bytes.has(b'>'));
        assert!(v.bytes.is_ascii());
        let plain = Views::of_decoded("plain".into());
        assert_eq!((plain.lower(), plain.html()), ("plain", "plain"));
        assert!(plain.bytes.only_alnum_and(b""));
        let alnum: String = ('0'..='9').chain('a'..='z').chain('A'..='Z').collect();
        assert_eq!(ALNUM, ByteSet::of(&alnum));
        assert!(!Views::of_decoded("a-b".into()).bytes.only_alnum_and(b"_ "));
        assert!(!Views::of_decoded("é".into()).bytes.is_ascii());
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(
            html_decode("&lt;a&#62;&#x3C;&#00;&colon;&bogus;"),
            "<a><\0:&bogus;"
        );
        let v = Views::of_decoded("JaVa&#x09;Script&colon;".into());
        assert_eq!(v.html(), "java\tscript:");
    }
}
