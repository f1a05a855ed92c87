//! Templates for rewritten paths, redirect locations and header values: literal text with
//! `$1` / `${1}` / `${name}` (path captures), `${host}`, `${path}`, `${query}` (the request's)
//! and `$$` (a dollar sign). References are resolved once, when the config is loaded.

use crate::matcher::PathCaps;
use weir_plugin_sdk::Request;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Group(usize),
    Host,
    Path,
    Query,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// The capture groups a template may name: how many (group 0 included) and their names.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    /// Number of groups, group 0 (the whole path) included.
    pub count: usize,
    /// Named groups and their index.
    pub names: Vec<(String, usize)>,
}

impl Groups {
    fn resolve(&self, name: &str) -> Result<Piece, String> {
        if let Ok(i) = name.parse::<usize>() {
            return if i < self.count {
                Ok(Piece::Group(i))
            } else {
                Err(format!(
                    "`${i}` refers to a capture group the path match does not have (groups: 0..{})",
                    self.count.saturating_sub(1)
                ))
            };
        }
        if let Some((_, i)) = self.names.iter().find(|(n, _)| n == name) {
            return Ok(Piece::Group(*i));
        }
        match name {
            "host" => Ok(Piece::Host),
            "path" => Ok(Piece::Path),
            "query" => Ok(Piece::Query),
            _ => Err(format!(
                "`${{{name}}}` is neither a capture group of the path match nor host, path or query"
            )),
        }
    }
}

impl Template {
    /// Parses `text`, resolving every reference against `groups`.
    pub fn parse(text: &str, groups: &Groups) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (piece, used) = if after.starts_with('$') {
                literal.push('$');
                (None, 1)
            } else if let Some(inner) = after.strip_prefix('{') {
                let end = inner
                    .find('}')
                    .ok_or_else(|| "`${` without a closing `}`".to_string())?;
                (Some(groups.resolve(&inner[..end])?), end + 2)
            } else {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return Err("a `$` must start `$N`, `${name}` or `$$` (a dollar sign)".into());
                }
                (Some(groups.resolve(&after[..digits])?), digits)
            };
            if let Some(piece) = piece {
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(piece);
            }
            rest = &after[used..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Template { pieces })
    }

    /// The literal text before the first reference (used to check a rewrite starts with `/`).
    pub fn starts_with(&self, prefix: &str) -> bool {
        matches!(self.pieces.first(), Some(Piece::Literal(l)) if l.starts_with(prefix))
    }

    /// The text with every reference filled in from `caps` and `req` (a group that did not
    /// take part in the match is empty).
    pub fn expand(&self, caps: &PathCaps<'_>, req: &Request) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(l) => out.push_str(l),
                Piece::Group(i) => out.push_str(caps.group(*i).unwrap_or("")),
                Piece::Host => out.push_str(&req.host),
                Piece::Path => out.push_str(&req.path),
                Piece::Query => out.push_str(&req.query),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::tests::request;

    fn groups() -> Groups {
        Groups {
            count: 3,
            names: vec![("id".into(), 2)],
        }
    }

    #[test]
    fn references_are_resolved_and_expanded() {
        let t = Template::parse("/v2/$1/${id}/$$/${host}${query}", &groups()).unwrap();
        let req = request("GET", "shop.test", "/a/b", "x=1", &[]);
        let re = regex_lite::Regex::new("^/(a)/(?P<id>b)$").unwrap();
        let caps = PathCaps::Regex(re.captures(&req.path).unwrap());
        assert_eq!(t.expand(&caps, &req), "/v2/a/b/$/shop.testx=1");
        let whole = Template::parse("$0!", &groups()).unwrap();
        assert_eq!(whole.expand(&PathCaps::Whole(&req.path), &req), "/a/b!");
        assert!(t.starts_with("/"));
    }

    #[test]
    fn bad_references_are_named() {
        let e = Template::parse("/$3", &groups()).unwrap_err();
        assert!(e.contains("`$3`"), "{e}");
        let e = Template::parse("/${nope}", &groups()).unwrap_err();
        assert!(e.contains("`${nope}`"), "{e}");
        assert!(Template::parse("/${1", &groups()).is_err());
        assert!(Template::parse("/a$b", &groups()).is_err());
    }
}
