//! A small SQL tokenizer in the spirit of libinjection: it reads a value as SQL (optionally
//! as if it started inside a quoted string) and yields typed tokens, folding case, comments
//! and MySQL `/*! ... */` code, so `sqli.rs` can match injection shapes on token types.

use crate::patterns::is_one_of;
/// SQL keywords that matter for injection shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kw {
    Select,
    Union,
    From,
    Where,
    Order,
    Group,
    By,
    Having,
    Limit,
    Into,
    Outfile,
    Insert,
    Update,
    Delete,
    Drop,
    Create,
    Alter,
    Truncate,
    Exec,
    Declare,
    Waitfor,
    Delay,
    Shutdown,
    Set,
    In,
    Is,
    Between,
    All,
    Distinct,
    Case,
    When,
    Then,
    Else,
    End,
    Values,
    Table,
    As,
    Procedure,
    Exists,
    Collate,
    Escape,
    /// `function`, `trigger` (after CREATE).
    Function,
    Immediate,
    Analyse,
}

/// Type of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tk {
    /// A quoted string; `true` when it is the break-out string of a quoted context.
    Str(bool),
    Num,
    Word,
    /// `@name`.
    Var,
    /// `@@name`.
    SysVar,
    /// Arithmetic, bitwise or cast operator (`+ - * / % | & ^ ~ ::`).
    Op(u8),
    /// Comparison (`= < > <> != <=> like rlike regexp sounds`).
    Cmp,
    /// `and or xor && ||`.
    Logic,
    Not,
    LParen,
    RParen,
    Comma,
    Semi,
    Dot,
    Kw(Kw),
    /// A known SQL function name directly followed by `(`; `true` for high-risk ones.
    Func(bool),
    Other,
}

/// One token; `comment_after` says whether a SQL comment follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: Tk,
    pub comment_after: bool,
}

/// Where the value is assumed to sit in the host query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Bare,
    Single,
    Double,
    Backtick,
}

/// Tokens of one reading of a value (comments folded into `comment_after`).
#[derive(Debug, Default)]
pub struct Tokens {
    pub toks: Vec<Token>,
    /// A comment appeared before the first token.
    pub leading_comment: bool,
    /// In a quoted reading: the text before the quote ends like a closed value (`admin'`),
    /// not with a space (`shabby "and white"` opens a quote rather than closing one).
    pub closes_value: bool,
    /// The last token is a string left open at the end of the value.
    pub open_tail: bool,
}

/// Most tokens read from one value; injections show their shape early.
const MAX_TOKENS: usize = 256;

fn keyword(word: &[u8]) -> Option<Tk> {
    use Kw::*;
    Some(match word {
        b"and" | b"or" | b"xor" => Tk::Logic,
        b"not" => Tk::Not,
        b"like" | b"rlike" | b"regexp" | b"sounds" | b"glob" | b"ilike" | b"similar" => Tk::Cmp,
        b"div" | b"mod" => Tk::Op(b'%'),
        b"binary" => Tk::Op(b'b'),
        b"true" | b"false" | b"null" | b"unknown" => Tk::Num,
        b"select" => Tk::Kw(Select),
        b"union" | b"except" | b"intersect" | b"minus" => Tk::Kw(Union),
        b"from" => Tk::Kw(From),
        b"where" => Tk::Kw(Where),
        b"order" => Tk::Kw(Order),
        b"group" => Tk::Kw(Group),
        b"by" => Tk::Kw(By),
        b"having" => Tk::Kw(Having),
        b"limit" | b"offset" | b"top" => Tk::Kw(Limit),
        b"into" => Tk::Kw(Into),
        b"outfile" | b"dumpfile" => Tk::Kw(Outfile),
        b"insert" | b"replace" | b"merge" => Tk::Kw(Insert),
        b"update" => Tk::Kw(Update),
        b"delete" => Tk::Kw(Delete),
        b"drop" => Tk::Kw(Drop),
        b"create" => Tk::Kw(Create),
        b"alter" | b"rename" => Tk::Kw(Alter),
        b"truncate" => Tk::Kw(Truncate),
        b"exec" | b"execute" | b"call" => Tk::Kw(Exec),
        b"declare" => Tk::Kw(Declare),
        b"waitfor" => Tk::Kw(Waitfor),
        b"delay" => Tk::Kw(Delay),
        b"shutdown" => Tk::Kw(Shutdown),
        b"set" => Tk::Kw(Set),
        b"in" => Tk::Kw(In),
        b"is" | b"notnull" | b"isnull" => Tk::Kw(Is),
        b"between" => Tk::Kw(Between),
        b"all" | b"any" | b"some" => Tk::Kw(All),
        b"distinct" | b"distinctrow" => Tk::Kw(Distinct),
        b"case" => Tk::Kw(Case),
        b"when" => Tk::Kw(When),
        b"then" => Tk::Kw(Then),
        b"else" => Tk::Kw(Else),
        b"end" => Tk::Kw(End),
        b"values" => Tk::Kw(Values),
        b"table" => Tk::Kw(Table),
        b"as" => Tk::Kw(As),
        b"procedure" => Tk::Kw(Procedure),
        b"exists" => Tk::Kw(Exists),
        b"collate" => Tk::Kw(Collate),
        b"escape" => Tk::Kw(Escape),
        b"function" | b"trigger" => Tk::Kw(Function),
        b"immediate" => Tk::Kw(Immediate),
        b"analyse" | b"analyze" => Tk::Kw(Analyse),
        _ => return None,
    })
}

/// SQL function names for the function-call rule (942150).
pub static SQL_FUNCTIONS: &[&str] = &[
    "abs",
    "acos",
    "ascii",
    "asin",
    "atan",
    "atan2",
    "avg",
    "bin",
    "bit_and",
    "bit_count",
    "bit_length",
    "cast",
    "ceil",
    "ceiling",
    "char",
    "char_length",
    "character_length",
    "charset",
    "chr",
    "coalesce",
    "collation",
    "concat",
    "concat_ws",
    "conv",
    "convert",
    "cos",
    "cot",
    "count",
    "crc32",
    "curdate",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "curtime",
    "database",
    "datalength",
    "date",
    "date_add",
    "date_format",
    "date_sub",
    "datediff",
    "day",
    "dayname",
    "dayofmonth",
    "dayofweek",
    "dayofyear",
    "db_name",
    "decode",
    "default",
    "degrees",
    "des_decrypt",
    "des_encrypt",
    "elt",
    "encode",
    "encrypt",
    "exists",
    "exp",
    "export_set",
    "extract",
    "extractvalue",
    "field",
    "find_in_set",
    "floor",
    "found_rows",
    "from_base64",
    "from_days",
    "from_unixtime",
    "get_lock",
    "getdate",
    "greatest",
    "group_concat",
    "hex",
    "host_name",
    "hour",
    "if",
    "ifnull",
    "iif",
    "in",
    "inet_aton",
    "inet_ntoa",
    "insert",
    "instr",
    "is_free_lock",
    "is_srvrolemember",
    "is_used_lock",
    "isnull",
    "json_extract",
    "json_keys",
    "json_search",
    "last_insert_id",
    "lcase",
    "least",
    "left",
    "len",
    "length",
    "ln",
    "lo_get",
    "lo_import",
    "load_file",
    "local",
    "localtime",
    "localtimestamp",
    "locate",
    "log",
    "log10",
    "log2",
    "lower",
    "lpad",
    "ltrim",
    "make_set",
    "makedate",
    "master_pos_wait",
    "max",
    "md5",
    "mid",
    "min",
    "month",
    "monthname",
    "name_const",
    "newid",
    "now",
    "nullif",
    "nvl",
    "oct",
    "octet_length",
    "ord",
    "password",
    "period_add",
    "pg_sleep",
    "pi",
    "position",
    "pow",
    "power",
    "quarter",
    "quote",
    "quotename",
    "radians",
    "rand",
    "randomblob",
    "release_lock",
    "repeat",
    "replace",
    "replicate",
    "reverse",
    "right",
    "round",
    "row_count",
    "rpad",
    "rtrim",
    "schema",
    "sec_to_time",
    "session_user",
    "sha",
    "sha1",
    "sha2",
    "sign",
    "sin",
    "sleep",
    "soundex",
    "sqlite_version",
    "sqrt",
    "std",
    "stddev",
    "str_to_date",
    "strcmp",
    "stuff",
    "subdate",
    "substr",
    "substring",
    "substring_index",
    "sum",
    "sysdate",
    "system_user",
    "tan",
    "timestamp",
    "to_base64",
    "to_char",
    "to_days",
    "trim",
    "typeof",
    "ucase",
    "uncompress",
    "unhex",
    "unicode",
    "unix_timestamp",
    "updatexml",
    "upper",
    "user",
    "user_name",
    "utl_inaddr",
    "uuid",
    "values",
    "variance",
    "version",
    "weekday",
    "xmltype",
    "zeroblob",
];

/// High-risk functions: rarely in benign text, common in injections.
pub(crate) static STRONG_FUNCS: &[&str] = &[
    "abs",
    "aes_decrypt",
    "aes_encrypt",
    "array_agg",
    "ascii",
    "avg",
    "benchmark",
    "bin",
    "cast",
    "char",
    "charindex",
    "chr",
    "coalesce",
    "col_name",
    "compress",
    "concat",
    "concat_ws",
    "connection_id",
    "conv",
    "convert",
    "count",
    "current_user",
    "database",
    "db_name",
    "dbms_pipe",
    "dbms_xmlgen",
    "decode",
    "elt",
    "encode",
    "exists",
    "exp",
    "extractvalue",
    "field",
    "floor",
    "found_rows",
    "geometrycollection",
    "getdate",
    "greatest",
    "group_concat",
    "gtid_subset",
    "hex",
    "host_name",
    "if",
    "ifnull",
    "iif",
    "instr",
    "isnull",
    "json_array",
    "json_extract",
    "json_keys",
    "json_object",
    "json_search",
    "last_insert_id",
    "least",
    "left",
    "len",
    "length",
    "linestring",
    "listagg",
    "lo_get",
    "lo_import",
    "load_extension",
    "load_file",
    "locate",
    "lower",
    "ltrim",
    "make_set",
    "max",
    "md5",
    "mid",
    "min",
    "multilinestring",
    "multipoint",
    "multipolygon",
    "name_const",
    "nchar",
    "now",
    "nullif",
    "object_id",
    "object_name",
    "oct",
    "ord",
    "password",
    "pg_read_file",
    "pg_sleep",
    "pi",
    "polygon",
    "position",
    "quotename",
    "rand",
    "randomblob",
    "regexp_like",
    "regexp_substr",
    "replicate",
    "reverse",
    "right",
    "round",
    "row_count",
    "rtrim",
    "schema",
    "session_user",
    "sha1",
    "sign",
    "sleep",
    "soundex",
    "space",
    "sqlite_version",
    "st_latfromgeohash",
    "st_longfromgeohash",
    "st_pointfromgeohash",
    "str",
    "strcmp",
    "string_agg",
    "substr",
    "substring",
    "sum",
    "suser_name",
    "sys_eval",
    "sys_exec",
    "sysdate",
    "system_user",
    "table_name",
    "to_char",
    "to_number",
    "tochar",
    "trim",
    "typeof",
    "uncompress",
    "unhex",
    "unicode",
    "updatexml",
    "upper",
    "user",
    "user_name",
    "utl_http",
    "utl_inaddr",
    "version",
    "xmlagg",
    "xmltype",
    "xp_cmdshell",
];

/// Functions that are injections on their own (the others need an injection shape around).
pub(crate) static HIGH_RISK: &[&str] = &[
    "benchmark",
    "concat_ws",
    "dbms_pipe",
    "dbms_xmlgen",
    "extractvalue",
    "group_concat",
    "gtid_subset",
    "lo_get",
    "lo_import",
    "load_extension",
    "load_file",
    "make_set",
    "name_const",
    "pg_read_file",
    "pg_sleep",
    "sleep",
    "sqlite_version",
    "sys_eval",
    "sys_exec",
    "updatexml",
    "utl_http",
    "utl_inaddr",
    "xp_cmdshell",
];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0)
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
    out: Tokens,
    /// The quote of a string left open at the end (0: none).
    open_quote: u8,
}

impl<'a> Lexer<'a> {
    fn push(&mut self, kind: Tk) {
        self.out.toks.push(Token {
            kind,
            comment_after: false,
        });
    }

    fn comment(&mut self) {
        match self.out.toks.last_mut() {
            Some(t) => t.comment_after = true,
            None => self.out.leading_comment = true,
        }
    }

    fn peek(&self, off: usize) -> u8 {
        self.s.get(self.i + off).copied().unwrap_or(0)
    }

    /// Index of the next non-space byte at or after `from`.
    fn skip_space(&self, mut from: usize) -> usize {
        while from < self.s.len() && is_space(self.s[from]) {
            from += 1;
        }
        from
    }

    /// Reads a quoted string starting after the opening `q`; returns when closed or at end.
    fn string_body(&mut self, q: u8) -> bool {
        while self.i < self.s.len() {
            let b = self.s[self.i];
            if b == b'\\' {
                self.i += 2;
                continue;
            }
            if b == q {
                if self.peek(1) == q {
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                return true;
            }
            self.i += 1;
        }
        false
    }

    fn word(&mut self) {
        let start = self.i;
        while self.i < self.s.len() && is_word_byte(self.s[self.i]) {
            self.i += 1;
        }
        let raw = &self.s[start..self.i];
        // No keyword or function name is longer than this; longer words are plain words.
        let mut buf = [0u8; 32];
        if raw.len() > buf.len() || !raw.is_ascii() {
            self.push(Tk::Word);
            return;
        }
        buf[..raw.len()].copy_from_slice(raw);
        buf[..raw.len()].make_ascii_lowercase();
        if let Some(tk) = keyword(&buf[..raw.len()]) {
            self.push(tk);
            return;
        }
        let lower = std::str::from_utf8(&buf[..raw.len()]).unwrap_or("");
        let next = self.skip_space(self.i);
        let paren = self.s.get(next) == Some(&b'(');
        let base = lower;
        if paren
            && (is_one_of(STRONG_FUNCS, base)
                || is_one_of(SQL_FUNCTIONS, base)
                || base.starts_with("xp_")
                || base.starts_with("sp_"))
        {
            self.push(Tk::Func(is_one_of(HIGH_RISK, base)));
            return;
        }
        if base.starts_with("xp_") || base.starts_with("sp_") && base.len() > 3 {
            self.push(Tk::Func(true));
            return;
        }
        self.push(Tk::Word);
    }

    fn number(&mut self) {
        let start = self.i;
        let s = self.s;
        if s[self.i] == b'0' && matches!(self.peek(1), b'x' | b'X' | b'b' | b'B') {
            self.i += 2;
            while self.i < s.len() && s[self.i].is_ascii_alphanumeric() {
                self.i += 1;
            }
        } else {
            while self.i < s.len() && (s[self.i].is_ascii_digit() || s[self.i] == b'.') {
                self.i += 1;
            }
            if matches!(self.peek(0), b'e' | b'E')
                && (self.peek(1).is_ascii_digit() || matches!(self.peek(1), b'+' | b'-'))
            {
                self.i += 2;
                while self.i < s.len() && s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
            }
        }
        // Digits glued to letters: a keyword (`1union`) splits, anything else is a word.
        if self.i < s.len() && is_word_byte(s[self.i]) {
            let mut j = self.i;
            while j < s.len() && is_word_byte(s[j]) {
                j += 1;
            }
            let tail = s[self.i..j].to_ascii_lowercase();
            if keyword(&tail).is_none() {
                self.i = j;
                let _ = start;
                self.push(Tk::Word);
                return;
            }
        }
        self.push(Tk::Num);
    }

    /// Runs the lexer and returns the quote of a string left open at the end.
    fn open_quote_after_run(&mut self) -> u8 {
        self.run();
        self.open_quote
    }

    fn run(&mut self) {
        let s = self.s;
        while self.i < s.len() && self.out.toks.len() < MAX_TOKENS {
            let b = s[self.i];
            match b {
                _ if is_space(b) => self.i += 1,
                b'\'' | b'"' => {
                    self.i += 1;
                    let closed = self.string_body(b);
                    self.push(Tk::Str(false));
                    self.open_quote = if closed { 0 } else { b };
                }
                b'`' => {
                    self.i += 1;
                    let _ = self.string_body(b'`');
                    self.push(Tk::Str(false));
                }
                b'#' => {
                    // MySQL: a comment to the end of the line.
                    self.comment();
                    while self.i < s.len() && s[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'-' if self.peek(1) == b'-'
                    && (self.i + 2 >= s.len()
                        || is_space(self.peek(2))
                        || self.peek(2) < 0x20
                        || self.peek(2) == b'-') =>
                {
                    self.comment();
                    while self.i < s.len() && s[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'/' if self.peek(1) == b'*' => {
                    if self.peek(2) == b'!' {
                        // MySQL executable comment: its content is code.
                        self.i += 3;
                        while self.i < s.len() && s[self.i].is_ascii_digit() {
                            self.i += 1;
                        }
                        continue;
                    }
                    self.comment();
                    self.i += 2;
                    while self.i < s.len() && !(s[self.i] == b'*' && self.peek(1) == b'/') {
                        self.i += 1;
                    }
                    self.i = (self.i + 2).min(s.len());
                }
                b'*' if self.peek(1) == b'/' => self.i += 2,
                b'0'..=b'9' => self.number(),
                b'.' if self.peek(1).is_ascii_digit() => self.number(),
                b'@' => {
                    let sys = self.peek(1) == b'@';
                    self.i += if sys { 2 } else { 1 };
                    if self.peek(0) == b'`' || self.peek(0) == b'\'' || self.peek(0) == b'"' {
                        let q = self.peek(0);
                        self.i += 1;
                        let _ = self.string_body(q);
                    } else {
                        while self.i < s.len() && (is_word_byte(s[self.i]) || s[self.i] == b'.') {
                            self.i += 1;
                        }
                    }
                    self.push(if sys { Tk::SysVar } else { Tk::Var });
                }
                b'(' => {
                    self.i += 1;
                    self.push(Tk::LParen)
                }
                b')' => {
                    self.i += 1;
                    self.push(Tk::RParen)
                }
                b',' => {
                    self.i += 1;
                    self.push(Tk::Comma)
                }
                b';' => {
                    self.i += 1;
                    self.push(Tk::Semi)
                }
                b'.' => {
                    self.i += 1;
                    self.push(Tk::Dot)
                }
                b'=' | b'<' | b'>' | b'!' => {
                    let two = [b, self.peek(1)];
                    let len = match &two {
                        b"<=" if self.peek(2) == b'>' => 3,
                        b"<>" | b"!=" | b"<=" | b">=" | b"==" | b"!<" | b"!>" => 2,
                        _ => 1,
                    };
                    self.i += len;
                    if b == b'!' && len == 1 {
                        self.push(Tk::Not);
                    } else if (b == b'<' && two[1] == b'<') || (b == b'>' && two[1] == b'>') {
                        self.i += 1;
                        self.push(Tk::Op(b));
                    } else {
                        self.push(Tk::Cmp);
                    }
                }
                b'|' | b'&' if self.peek(1) == b => {
                    self.i += 2;
                    self.push(Tk::Logic);
                }
                b':' if self.peek(1) == b':' => {
                    self.i += 2;
                    self.push(Tk::Op(b':'));
                }
                b'+' | b'-' | b'*' | b'/' | b'%' | b'|' | b'&' | b'^' | b'~' => {
                    self.i += 1;
                    self.push(Tk::Op(b));
                }
                _ if is_word_byte(b) => self.word(),
                _ => {
                    self.i += 1;
                    self.push(Tk::Other);
                }
            }
        }
    }
}

/// Tokenizes `value` read in `ctx`. For a quoted context the value is read as if it
/// continued a string: everything before the first matching quote is one break-out string.
/// Returns `None` when the context does not apply (no such quote in the value).
pub fn tokenize(value: &str, ctx: Context) -> Option<Tokens> {
    let s = value.as_bytes();
    let (start, first) = match ctx {
        Context::Bare => (0, None),
        Context::Single | Context::Double | Context::Backtick => {
            let q = match ctx {
                Context::Single => b'\'',
                Context::Double => b'"',
                _ => b'`',
            };
            let mut i = 0;
            loop {
                match s.get(i) {
                    None => return None,
                    Some(b) if *b == q => break,
                    Some(_) => i += 1,
                }
            }
            // A value that starts with the quote and has an even number of them is a quoted
            // phrase (`"into the wild"`, `"LIKE" stamp`), not a break-out, unless a space
            // follows the opening quote and the value goes on after its last quote
            // (`' AND substring((…'x'), 1) > 'm`).
            let breaks_out = s.get(1).is_some_and(|c| is_space(*c)) && s.last() != Some(&q);
            if i == 0 && !breaks_out && s.iter().filter(|b| **b == q).count() % 2 == 0 {
                return None;
            }
            let closes = i > 0 && !is_space(s[i - 1]) && s[i - 1] != b'=';
            (i + 1, Some((Tk::Str(true), closes)))
        }
    };
    let mut lexer = Lexer {
        s,
        i: start,
        out: Tokens {
            // Every token but the first takes at least one byte.
            toks: Vec::with_capacity((s.len() - start + 1).min(MAX_TOKENS)),
            ..Tokens::default()
        },
        open_quote: 0,
    };
    if let Some((kind, closes)) = first {
        lexer.push(kind);
        lexer.out.closes_value = closes || start == 1;
    }
    let quote = match ctx {
        Context::Bare => 0,
        Context::Single => b'\'',
        Context::Double => b'"',
        Context::Backtick => b'`',
    };
    let open_quote = lexer.open_quote_after_run();
    let mut out = lexer.out;
    // The host query's closing quote ends a string of the same quote left open at the end.
    out.open_tail = open_quote != 0 && (quote == 0 || open_quote == quote);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(v: &str, ctx: Context) -> Vec<Tk> {
        tokenize(v, ctx)
            .unwrap()
            .toks
            .iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn reads_a_tautology() {
        assert_eq!(
            kinds("1' or '1'='1", Context::Single),
            vec![
                Tk::Str(true),
                Tk::Logic,
                Tk::Str(false),
                Tk::Cmp,
                Tk::Str(false)
            ]
        );
    }

    #[test]
    fn folds_comments_and_mysql_code() {
        let t = tokenize("1/*x*/union/*!50000select*/", Context::Bare).unwrap();
        let k: Vec<Tk> = t.toks.iter().map(|t| t.kind).collect();
        assert_eq!(k, vec![Tk::Num, Tk::Kw(Kw::Union), Tk::Kw(Kw::Select)]);
        assert!(t.toks[0].comment_after);
    }

    #[test]
    fn quoted_context_needs_a_quote() {
        assert!(tokenize("plain", Context::Single).is_none());
    }
}
