//! SQL injection: injection shapes matched on the token stream of `sqli_lex` (rule 942100,
//! the libinjection-style detector) read bare and as if inside '…' and "…", plus a few
//! keyword rules (catalog names, time-based functions, MSSQL execution, NoSQL operators).

use crate::normalize::{ByteSet, Views};
use crate::patterns::{any_in, group, is_one_of, may_hold, pairs, sql_group, squeezed_sql_in};
use crate::rules::Rules;
use crate::sqli_lex::{tokenize, Context, Kw, Tk, Token, SQL_FUNCTIONS};
use std::cell::OnceCell;

/// Whether the value could hold SQL at all (cheap pre-filter for ordinary values).
fn worth_tokenizing(v: &str) -> bool {
    v.bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-'))
}

fn is_operand(k: Tk) -> bool {
    matches!(
        k,
        Tk::Str(_) | Tk::Num | Tk::Var | Tk::SysVar | Tk::RParen | Tk::Word
    )
}

/// A value-ish token that starts an expression (not a bare word).
fn is_value(k: Tk) -> bool {
    matches!(k, Tk::Str(_) | Tk::Num | Tk::Var | Tk::SysVar)
}

fn is_compare(k: Tk) -> bool {
    matches!(
        k,
        Tk::Cmp | Tk::Op(_) | Tk::Kw(Kw::In) | Tk::Kw(Kw::Is) | Tk::Kw(Kw::Between)
    )
}

fn is_statement(k: Tk) -> bool {
    matches!(
        k,
        Tk::Kw(
            Kw::Select
                | Kw::Insert
                | Kw::Update
                | Kw::Delete
                | Kw::Drop
                | Kw::Create
                | Kw::Alter
                | Kw::Truncate
                | Kw::Exec
                | Kw::Declare
                | Kw::Waitfor
                | Kw::Shutdown
                | Kw::Set
        )
    )
}

/// Whether the token stream of one reading has an injection shape.
fn injection_shape(
    toks: &[Token],
    quoted: bool,
    prose: &Prose,
    closes: bool,
    open_tail: bool,
) -> bool {
    let n = toks.len();
    // A bare expression ending in a comment: `1 OR 1 --`, `( 'a' ) in ( BINARY ( 'b') ) --`.
    if !quoted && n > 0 && toks[n - 1].comment_after && !prose.get() {
        let expr = toks.iter().all(|t| {
            matches!(
                t.kind,
                Tk::Num
                    | Tk::Str(_)
                    | Tk::Var
                    | Tk::SysVar
                    | Tk::Op(_)
                    | Tk::Cmp
                    | Tk::Logic
                    | Tk::Not
                    | Tk::LParen
                    | Tk::RParen
                    | Tk::Comma
                    | Tk::Func(_)
                    | Tk::Kw(
                        Kw::Limit | Kw::Is | Kw::In | Kw::Select | Kw::Union | Kw::From | Kw::All
                    )
            )
        });
        let operator = toks.iter().any(|t| {
            matches!(
                t.kind,
                Tk::Op(_) | Tk::Cmp | Tk::Logic | Tk::Func(_) | Tk::Kw(_) | Tk::SysVar
            )
        });
        if expr && operator {
            return true;
        }
    }
    let k = |i: usize| toks.get(i).map(|t| t.kind);
    // Index of the next token after `i` that is not `(` / NOT.
    let skip_open = |mut i: usize| {
        while matches!(k(i), Some(Tk::LParen | Tk::Not)) {
            i += 1;
        }
        i
    };
    // In a quoted reading the host query's closing quote follows, so the value's end is an end
    // of the injected code; in a bare reading only a comment or `;` is.
    let code_ends_after =
        |i: usize| (quoted && i + 1 >= n) || toks[i].comment_after || k(i + 1) == Some(Tk::Semi);
    for i in 0..n {
        let cur = toks[i].kind;
        let prev = if i > 0 { Some(toks[i - 1].kind) } else { None };
        match cur {
            // UNION [ALL] SELECT, or an operand then a dangling UNION.
            Tk::Kw(Kw::Union) => {
                let mut j = i + 1;
                while matches!(k(j), Some(Tk::Kw(Kw::All | Kw::Distinct) | Tk::LParen)) {
                    j += 1;
                }
                if k(j) == Some(Tk::Kw(Kw::Select)) {
                    return true;
                }
                if prev.is_some_and(is_value) && code_ends_after(i) {
                    return true;
                }
            }
            Tk::Kw(Kw::Select) => {
                let next = k(i + 1);
                let strong_next = matches!(
                    next,
                    Some(
                        Tk::Func(_)
                            | Tk::SysVar
                            | Tk::Var
                            | Tk::Op(b'*')
                            | Tk::LParen
                            | Tk::Kw(Kw::Case | Kw::Distinct | Kw::All)
                    )
                );
                let from_later = toks[i + 1..]
                    .iter()
                    .take(24)
                    .any(|t| t.kind == Tk::Kw(Kw::From));
                let code_before = matches!(
                    prev,
                    Some(
                        Tk::Semi
                            | Tk::LParen
                            | Tk::Op(_)
                            | Tk::Logic
                            | Tk::Cmp
                            | Tk::Str(_)
                            | Tk::Num
                            | Tk::Comma
                            | Tk::Kw(_)
                    )
                );
                let start_expr = prev.is_none()
                    && matches!(next, Some(Tk::Num | Tk::Op(_) | Tk::Str(_)))
                    && !prose.get();
                if strong_next || (from_later && (code_before || start_expr)) {
                    return true;
                }
                if code_before && matches!(next, Some(Tk::Num | Tk::Str(_))) {
                    return true;
                }
                // `…&name=(select`: a subquery opened at the end of the value.
                if prev == Some(Tk::LParen) && next.is_none() {
                    return true;
                }
            }
            Tk::Logic
                if i == 0 && matches!(k(1), Some(Tk::Num | Tk::Str(_))) && n == 2 && !prose.get() =>
            {
                return true
            }
            Tk::Logic if i == 0 && !prose.get() => {
                // A value that starts with AND/OR/&&/|| then a comparison: `and 1=(`, `|| c == '`.
                let j = skip_open(1);
                if matches!(k(j), Some(Tk::Str(_)) | Some(Tk::Kw(Kw::Select))) {
                    return true;
                }
                if k(j).is_some_and(is_operand)
                    && matches!(
                        k(j + 1),
                        Some(Tk::Cmp | Tk::Kw(Kw::Is | Kw::In | Kw::Between))
                    )
                {
                    return true;
                }
            }
            Tk::Logic => {
                let Some(p) = prev else { continue };
                // The left side must look like a value, not prose ("rock and roll"); after a
                // word only a numeric comparison counts (`HOPE AND -8=3`).
                if !(is_value(p) || p == Tk::RParen || (quoted && p == Tk::Word && i == 1)) {
                    let mut j = i + 1;
                    while matches!(
                        k(j),
                        Some(Tk::Op(b'-' | b'+' | b'~') | Tk::LParen | Tk::Not)
                    ) {
                        j += 1;
                    }
                    if p == Tk::Word
                        && matches!(k(j), Some(Tk::Num | Tk::Str(_) | Tk::Var))
                        && k(j + 1) == Some(Tk::Cmp)
                        && !prose.get()
                    {
                        return true;
                    }
                    continue;
                }
                let j = skip_open(i + 1);
                match k(j) {
                    Some(Tk::Func(_) | Tk::Kw(Kw::Select | Kw::Exists | Kw::Case)) => return true,
                    Some(x) if is_operand(x) => {
                        if matches!(k(j + 1), Some(y) if is_compare(y) && !matches!(y, Tk::Op(_)))
                            && k(j + 2).is_some_and(|z| {
                                is_operand(z)
                                    || matches!(z, Tk::LParen | Tk::Func(_) | Tk::Not | Tk::Op(_))
                            })
                        {
                            return true;
                        }
                        if x != Tk::Word
                            && (code_ends_after(j) || (quoted && p == Tk::Str(true) && j + 1 == n))
                        {
                            return true;
                        }
                        if x != Tk::Word
                            && matches!(
                                k(j + 1),
                                Some(
                                    Tk::Logic
                                        | Tk::Kw(
                                            Kw::Order
                                                | Kw::Group
                                                | Kw::Having
                                                | Kw::Limit
                                                | Kw::Union
                                        )
                                )
                            )
                        {
                            return true;
                        }
                    }
                    _ => {}
                }
            }
            // Break-out string then comment / statement end: `admin'--`, `x');`.
            Tk::Str(true) => {
                if !closes {
                    continue;
                }
                // `' OR '`, `a'+'b`, `' NOT REGEXP '`: an operator between the break-out and a
                // string the host query's own closing quote ends.
                if i == 0
                    && open_tail
                    && (n == 3 || (n == 4 && k(1) == Some(Tk::Not)))
                    && matches!(
                        k(1),
                        Some(
                            Tk::Op(_)
                                | Tk::Cmp
                                | Tk::Logic
                                | Tk::Not
                                | Tk::Kw(Kw::Is | Kw::In | Kw::Between | Kw::Collate)
                        )
                    )
                {
                    return true;
                }
                // `' or …`, `'union …`, `'collate …`, `' is not …`
                if i == 0 && j_has_more(toks, 1) {
                    let near = &toks[1..n.min(5)];
                    let near_comment = near.iter().any(|t| t.comment_after || t.kind == Tk::Semi)
                        && !near.iter().any(|t| t.kind == Tk::RParen);
                    match k(1) {
                        Some(Tk::Logic) if matches!(k(skip_open(2)), Some(x) if is_operand(x) || matches!(x, Tk::Func(_) | Tk::Kw(Kw::Select))) => {
                            return true
                        }
                        Some(Tk::Kw(
                            Kw::Union
                            | Kw::Select
                            | Kw::Alter
                            | Kw::Insert
                            | Kw::Update
                            | Kw::Delete
                            | Kw::Drop
                            | Kw::Create
                            | Kw::Exec
                            | Kw::Collate
                            | Kw::Is
                            | Kw::Procedure
                            | Kw::Having
                            | Kw::Order
                            | Kw::Group
                            | Kw::Limit
                            | Kw::Into
                            | Kw::Waitfor
                            | Kw::Declare
                            | Kw::Between
                            | Kw::Escape,
                        )) => return true,
                        Some(Tk::Op(_) | Tk::Cmp | Tk::Not | Tk::Kw(_)) if near_comment => {
                            return true
                        }
                        _ => {}
                    }
                }
                let mut j = i + 1;
                while k(j) == Some(Tk::RParen) {
                    j += 1;
                }
                let last = j - 1;
                if toks[last].comment_after && (j < n || last > i || i == 0) {
                    return true;
                }
                if k(j) == Some(Tk::Semi)
                    && (toks[j].comment_after || k(j + 1).is_none_or(is_statement))
                {
                    return true;
                }
                // `' = '`, `' like '`, `') or ('`
                if matches!(k(j), Some(Tk::Cmp))
                    && matches!(k(j + 1), Some(Tk::Str(_) | Tk::LParen | Tk::Func(_)))
                {
                    return true;
                }
                if matches!(
                    k(j),
                    Some(Tk::Kw(
                        Kw::Order | Kw::Group | Kw::Having | Kw::Into | Kw::Procedure | Kw::Limit
                    ))
                ) {
                    return true;
                }
                if matches!(k(j), Some(Tk::Op(_)))
                    && matches!(k(j + 1), Some(Tk::Func(_) | Tk::LParen | Tk::SysVar))
                {
                    return true;
                }
            }
            Tk::Semi => {
                let next = k(i + 1);
                let exec_ok = next != Some(Tk::Kw(Kw::Exec))
                    || matches!(
                        k(i + 2),
                        Some(Tk::Func(_) | Tk::Var | Tk::LParen | Tk::Str(_))
                    );
                if next.is_some_and(is_statement)
                    && exec_ok
                    && prev.is_none_or(|p| p != Tk::Word || quoted)
                {
                    return true;
                }
            }
            Tk::Kw(Kw::Set) if matches!(k(i + 1), Some(Tk::Var | Tk::SysVar)) => return true,
            Tk::Kw(Kw::As) => {
                let value_before =
                    matches!(prev, Some(Tk::RParen | Tk::Str(_) | Tk::Num | Tk::Semi));
                if value_before
                    && matches!(k(i + 1), Some(Tk::Str(_) | Tk::Word | Tk::Not))
                    && k(i + 2) == Some(Tk::Kw(Kw::From))
                {
                    return true;
                }
            }
            Tk::Kw(Kw::From) if !prose.get() => {
                let mut j = i + 1;
                while matches!(k(j), Some(Tk::Word | Tk::Str(_))) && (k(j + 1) == Some(Tk::Dot)) {
                    j += 2;
                }
                if matches!(k(j), Some(Tk::Word | Tk::Str(_)))
                    && matches!(
                        k(j + 1),
                        Some(Tk::Kw(
                            Kw::Where | Kw::Group | Kw::Order | Kw::Limit | Kw::Having | Kw::Union
                        ))
                    )
                    && (j + 2 < n
                        || toks[j + 1].comment_after
                        || k(j + 1) != Some(Tk::Kw(Kw::Where)))
                {
                    return true;
                }
            }
            Tk::RParen if k(i + 1) == Some(Tk::Cmp) && k(i + 2) == Some(Tk::LParen) => return true,
            Tk::Kw(Kw::When)
                if prev == Some(Tk::RParen)
                    && toks[i + 1..]
                        .iter()
                        .take(4)
                        .any(|t| t.kind == Tk::Kw(Kw::Then)) =>
            {
                return true;
            }
            Tk::Kw(Kw::Procedure) if k(i + 1) == Some(Tk::Kw(Kw::Analyse)) => return true,
            Tk::Kw(Kw::Create) if k(i + 1) == Some(Tk::Kw(Kw::Function)) => return true,
            Tk::Kw(Kw::Exec) if k(i + 1) == Some(Tk::Kw(Kw::Immediate)) => return true,
            Tk::Func(_)
                if i == 0
                    && k(1) == Some(Tk::LParen)
                    && k(2).is_some_and(is_operand)
                    && k(3) == Some(Tk::Cmp) =>
            {
                return true
            }
            Tk::Func(true)
                if !matches!(prev, Some(Tk::Word)) => {
                    return true;
                }
            Tk::Func(false)
                // A function call glued to SQL structure: operator / comparison / paren before.
                if matches!(
                    prev,
                    Some(
                        Tk::Op(_)
                            | Tk::Cmp
                            | Tk::Logic
                            | Tk::Comma
                            | Tk::Str(true)
                            | Tk::Kw(
                                Kw::Select
                                    | Kw::Where
                                    | Kw::Having
                                    | Kw::When
                                    | Kw::Then
                                    | Kw::Else
                                    | Kw::In
                            )
                    )
                ) && toks[i + 1..]
                    .iter()
                    .take(12)
                    .any(|t| matches!(t.kind, Tk::RParen))
                    && (quoted || i > 0)
                => {
                    // `f(x) = y`, `- f(x)`: require something SQL-ish after the call too.
                    let rest = &toks[i + 1..];
                    if rest.iter().take(16).any(|t| {
                        matches!(
                            t.kind,
                            Tk::Func(_) | Tk::Kw(_) | Tk::Cmp | Tk::Logic | Tk::SysVar
                        ) || t.comment_after
                    }) {
                        return true;
                    }
                }
            Tk::SysVar
                if !matches!(prev, Some(Tk::Word)) => {
                    return true;
                }
            Tk::Kw(Kw::Waitfor)
                if k(i + 1) == Some(Tk::Kw(Kw::Delay)) || k(i + 1) == Some(Tk::Word) =>
            {
                return true;
            }
            Tk::Kw(Kw::Into) if k(i + 1) == Some(Tk::Kw(Kw::Outfile)) => return true,
            Tk::Kw(Kw::Order | Kw::Group)
                if i == 0 && k(i + 1) == Some(Tk::Kw(Kw::By)) && !prose.get() =>
            {
                return true
            }
            Tk::Kw(Kw::Having)
                if i == 0 && k(1).is_some_and(is_operand) && k(2) == Some(Tk::Cmp) =>
            {
                return true
            }
            Tk::Kw(Kw::Order | Kw::Group) if k(i + 1) == Some(Tk::Kw(Kw::By)) => {
                let left_is_value = matches!(prev, Some(Tk::Num | Tk::Str(true) | Tk::RParen));
                if left_is_value
                    && matches!(k(i + 2), Some(Tk::Num | Tk::Word | Tk::Func(_)))
                    && (code_ends_after(i + 2) || k(i + 3) == Some(Tk::Comma) || k(i + 3).is_none())
                {
                    return true;
                }
            }
            Tk::Kw(Kw::Having)
                if prev.is_some_and(is_value) && k(i + 1).is_some_and(is_operand) => {
                    return true;
                }
            Tk::Kw(Kw::Case) if k(i + 1).is_some()
                && toks[i + 1..]
                    .iter()
                    .take(8)
                    .any(|t| t.kind == Tk::Kw(Kw::When))
                    && matches!(
                        prev,
                        Some(Tk::LParen | Tk::Op(_) | Tk::Logic | Tk::Cmp | Tk::Comma | Tk::Kw(_))
                            | None
                    )
                => {
                    return true;
                }
            Tk::Kw(Kw::Exec)
                if i == 0 && matches!(k(1), Some(Tk::Word | Tk::Var | Tk::Str(_))) && !prose.get() =>
            {
                return true
            }
            Tk::Kw(Kw::Exec) => {
                if matches!(k(i + 1), Some(Tk::Func(true) | Tk::Var)) {
                    return true;
                }
                // `exec(@x)`: a procedure call on a variable.
                if k(i + 1) == Some(Tk::LParen) && k(i + 2) == Some(Tk::Var) {
                    return true;
                }
            }
            Tk::Kw(Kw::Declare) if k(i + 1) == Some(Tk::Var) => return true,
            Tk::Kw(Kw::Drop | Kw::Create | Kw::Alter | Kw::Truncate)
                if k(i + 1) == Some(Tk::Kw(Kw::Table))
                    && (prev.is_none() || matches!(prev, Some(Tk::Semi | Tk::Str(true))))
                => {
                    return true;
                }
            Tk::Kw(Kw::Insert) if k(i + 1) == Some(Tk::Kw(Kw::Into))
                && toks[i..]
                    .iter()
                    .any(|t| t.kind == Tk::Kw(Kw::Values) || t.kind == Tk::Kw(Kw::Select))
                => {
                    return true;
                }
            Tk::Kw(Kw::Update)
                if k(i + 1) == Some(Tk::Word) && k(i + 2) == Some(Tk::Kw(Kw::Set)) => {
                    return true;
                }
            Tk::Kw(Kw::Delete) if k(i + 1) == Some(Tk::Kw(Kw::From)) => return true,
            Tk::Num if i == 0 && !quoted => {
                // `1) or (1=1`, `1)--`
                let mut j = 1;
                while k(j) == Some(Tk::RParen) {
                    j += 1;
                }
                if j > 1
                    && (toks[j - 1].comment_after
                        || matches!(k(j), Some(Tk::Semi | Tk::Logic | Tk::Kw(_))))
                {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Whether there is a token at or after `i`.
fn j_has_more(toks: &[Token], i: usize) -> bool {
    i < toks.len()
}

/// Whether the value reads like natural-language text (several plain words), which keeps
/// the looser fragment rules off sentences such as "a lower (unnamed) rank".
pub fn prose(v: &str) -> bool {
    let mut words = 0;
    let mut plain = 0;
    for w in v.split_whitespace() {
        words += 1;
        let core = w.trim_matches(|c: char| {
            matches!(c, '.' | ',' | '!' | '?' | ';' | ':' | '"' | '(' | ')')
        });
        if core.len() > 1
            && core
                .chars()
                .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
        {
            plain += 1;
        }
    }
    plain >= 4 && plain * 2 >= words
}

/// `prose(text)`, computed on first use: most values never reach a rule that asks.
struct Prose<'a> {
    text: &'a str,
    known: OnceCell<bool>,
}

impl<'a> Prose<'a> {
    fn of(text: &'a str) -> Prose<'a> {
        Prose {
            text,
            known: OnceCell::new(),
        }
    }

    fn get(&self) -> bool {
        *self.known.get_or_init(|| prose(self.text))
    }
}

/// Typographic and full-width quotes read as ASCII quotes.
fn fold_quotes(v: &str) -> std::borrow::Cow<'_, str> {
    if v.is_ascii() {
        return std::borrow::Cow::Borrowed(v);
    }
    std::borrow::Cow::Owned(
        v.chars()
            .map(|c| match c {
                '\u{2018}' | '\u{2019}' | '\u{201b}' | '\u{2032}' | '\u{02bc}' | '\u{ff07}' => '\'',
                '\u{201c}' | '\u{201d}' | '\u{2033}' | '\u{ff02}' => '"',
                c => c,
            })
            .collect(),
    )
}

/// The tokenizer rule (942100) over every reading of the value; `lower_prose` is the prose
/// test of the lowercased value, which reads the same as `v` when `v` is ASCII.
/// `bytes` holds every byte of `v`.
fn tokenizer_hit(v: &str, lower_prose: &Prose, bytes: &ByteSet) -> bool {
    if !worth_tokenizing(v) {
        return false;
    }
    // For ASCII text lowercasing keeps every word's letters and length: `prose` reads the
    // same on both forms, so it is computed once.
    let ascii = v.is_ascii();
    let folded = fold_quotes(v);
    let v = folded.as_ref();
    let own = Prose::of(v);
    let prose = if ascii { lower_prose } else { &own };
    // `'x'!='y`: a closed string compared with one the host query's quote closes.
    let bare = tokenize(v, Context::Bare).unwrap_or_default();
    let n = bare.toks.len();
    if bare.open_tail
        && n >= 3
        && matches!(bare.toks[n - 3].kind, Tk::Str(_))
        && bare.toks[n - 2].kind == Tk::Cmp
        && matches!(bare.toks[n - 1].kind, Tk::Str(_))
        && !prose.get()
    {
        return true;
    }
    if injection_shape(&bare.toks, false, prose, bare.closes_value, bare.open_tail) {
        return true;
    }
    // A quoted reading needs its quote (typographic quotes fold into ASCII ones).
    for (ctx, quote) in [
        (Context::Single, b'\''),
        (Context::Double, b'"'),
        (Context::Backtick, b'`'),
    ] {
        if ascii && !bytes.has(quote) {
            continue;
        }
        if let Some(t) = tokenize(v, ctx) {
            if injection_shape(&t.toks, true, prose, t.closes_value, t.open_tail) {
                return true;
            }
        }
    }
    false
}

/// A SQL function name followed (after at most three non-word characters) by `(`.
fn function_call(l: &str) -> bool {
    let b = l.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &l[start..i];
            let mut j = i;
            while j < b.len()
                && j - i < 3
                && !b[j].is_ascii_alphanumeric()
                && b[j] != b'('
                && b[j] != b'_'
            {
                j += 1;
            }
            if b.get(j) == Some(&b'(') && is_one_of(SQL_FUNCTIONS, word) {
                // `User(login_name)` is notation, not a call: one bare name in the parentheses.
                // Only the next few bytes matter (bounds the work on long values).
                let after = &l.as_bytes()[j + 1..(j + 65).min(l.len())];
                let close = after.iter().position(|c| *c == b')');
                let inner = close.map_or(&after[..0], |e| &after[..e]);
                let notation = close.is_some()
                    && !inner.is_empty()
                    && inner.iter().all(|c| c.is_ascii_alphabetic() || *c == b'_')
                    && inner.contains(&b'_');
                if !notation {
                    return true;
                }
            }
            continue;
        }
        i += 1;
    }
    false
}

/// A value made only of SQL operators, operator keywords, numbers and parentheses
/// (`<=>`, `IS NULL`, `in (0,1)`, `42 like 42`).
fn operators_only(v: &str) -> bool {
    // Cheap reject before tokenizing: every letter run must be an operator keyword, and
    // quotes, variables, comments and identifiers' `_` make other tokens.
    // Comments hide text from the tokenizer: only values without them are prechecked.
    let b = v.as_bytes();
    let mut i = if v.contains(['#', '*', '-']) {
        b.len()
    } else {
        0
    };
    while i < b.len() {
        if b[i].is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            // Letters glued to digits (`1e5`, `0x1f`) are the tokenizer's to judge.
            let in_number = start > 0 && (b[start - 1].is_ascii_digit() || b[start - 1] == b'.');
            if !in_number
                && !matches!(
                    &v[start..i],
                    "and"
                        | "or"
                        | "xor"
                        | "not"
                        | "like"
                        | "rlike"
                        | "regexp"
                        | "sounds"
                        | "glob"
                        | "ilike"
                        | "similar"
                        | "is"
                        | "in"
                        | "between"
                        | "null"
                        | "true"
                        | "false"
                        | "unknown"
                        | "notnull"
                        | "isnull"
                )
            {
                return false;
            }
            continue;
        }
        if matches!(b[i], b'\'' | b'"' | b'`' | b'@' | b';' | b'_' | b'$') {
            return false;
        }
        i += 1;
    }
    let Some(t) = tokenize(v, Context::Bare) else {
        return false;
    };
    !t.toks.is_empty()
        && t.toks.iter().any(|t| {
            matches!(
                t.kind,
                Tk::Cmp | Tk::Logic | Tk::Kw(Kw::Is | Kw::In) | Tk::Op(b':')
            )
        })
        && t.toks.iter().all(|t| {
            matches!(
                t.kind,
                Tk::Cmp
                    | Tk::Logic
                    | Tk::Not
                    | Tk::Num
                    | Tk::LParen
                    | Tk::RParen
                    | Tk::Comma
                    | Tk::Kw(Kw::Is | Kw::In | Kw::Between)
            ) || t.kind == Tk::Op(b':')
        })
        && !(t
            .toks
            .iter()
            .all(|t| !matches!(t.kind, Tk::Cmp | Tk::Kw(Kw::Is | Kw::In)))
            && t.toks.iter().any(|t| t.kind == Tk::Num))
        && !(v.contains(['<', '>'])
            && v.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'<' | b'>' | b'=' | b' ' | b'.'))
            // SQL's own inequality and null-safe equality are no filter syntax.
            && !matches!(v.trim(), "<>" | "<=>"))
        || v.trim() == "->"
        || v.trim() == "->>"
}

/// Constants that overflow integer or float parsing (942220).
pub(crate) static OVERFLOWS: &[&str] = &[
    "-2147483649",
    "-9223372036854775809",
    "0x7fffffff",
    "0xffffffff",
    "1.7976931348623157e+308",
    "18446744073709551615",
    "18446744073709551616",
    "2.2250738585072011e-308",
    "2.2250738585072012e-308",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
];

/// `0x` followed by at least four hex digits (942450).
fn hex_literal(l: &str) -> bool {
    pairs(l, *b"0x").any(|at| {
        let digits = l[at + 2..]
            .bytes()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        digits >= 4
            && (at == 0
                || !l.as_bytes()[at - 1].is_ascii_alphanumeric()
                || l.as_bytes()[at - 1] == b'\\')
    })
}

fn has_word(l: &str, w: &str) -> bool {
    l.match_indices(w).any(|(at, _)| {
        let before = at == 0
            || !(l.as_bytes()[at - 1].is_ascii_alphanumeric() || l.as_bytes()[at - 1] == b'_');
        let end = at + w.len();
        let after = end >= l.len()
            || !(l.as_bytes()[end].is_ascii_alphanumeric() || l.as_bytes()[end] == b'_');
        before && after
    })
}

/// Database driver, type and system names matched as whole words (942140).
pub(crate) static SQL_NAMES: &[&str] = &[
    "tempdb",
    "msdb",
    "schema_name",
    "varchar",
    "nvarchar",
    "utl_http",
    "utl_inaddr",
    "openrowset",
    "opendatasource",
    "msdasql",
    "sqloledb",
    "dbms_java",
    "dbms_pipe",
    "sys_context",
    "pg_user",
    "pg_shadow",
    "sqlite_temp_master",
];

/// Database catalog and system object names (942140).
pub(crate) static CATALOGS: &[&str] = &[
    "information_schema",
    "mysql.user",
    "mysql.db",
    "sysobjects",
    "syscolumns",
    "sysdatabases",
    "sys.tables",
    "sys.objects",
    "sys.databases",
    "sqlite_master",
    "sqlite_schema",
    "pg_catalog",
    "pg_shadow",
    "pg_user",
    "pg_database",
    "all_tables",
    "user_tables",
    "all_tab_columns",
    "user_objects",
    "dba_users",
    "msysaccessobjects",
    "msysobjects",
    "master..",
    "performance_schema",
    "sys.user_summary",
];

/// Time-based probes (942160).
pub(crate) static TIME_FUNCS: &[&str] = &[
    "sleep(",
    "benchmark(",
    "pg_sleep",
    "waitfordelay",
    "waitfortime",
    "dbms_lock.sleep",
    "randomblob(",
];

/// MSSQL code execution and procedures (942190).
pub(crate) static MSSQL: &[&str] = &[
    "xp_cmdshell",
    "sp_execute",
    "sp_executesql",
    "sp_oacreate",
    "sp_makewebtask",
    "sp_addextendedproc",
    "sp_password",
    "xp_regread",
    "xp_dirtree",
    "xp_fileexist",
    "openrowset(",
    "opendatasource(",
    "execmaster",
];

/// MongoDB query operators as whole values (JSON keys).
pub(crate) static NOSQL_OPS: &[&str] = &[
    "$accumulator",
    "$all",
    "$and",
    "$elemmatch",
    "$eq",
    "$exists",
    "$expr",
    "$function",
    "$gt",
    "$gte",
    "$in",
    "$jsonschema",
    "$lt",
    "$lte",
    "$mod",
    "$ne",
    "$nin",
    "$nor",
    "$not",
    "$or",
    "$regex",
    "$size",
    "$text",
    "$type",
    "$where",
];

/// NoSQL (MongoDB) operators in parameter names or JSON keys (942290).
static NOSQL: &[&str] = &[
    "[$ne]",
    "[$eq]",
    "[$gt]",
    "[$lt]",
    "[$gte]",
    "[$lte]",
    "[$regex]",
    "[$where]",
    "[$in]",
    "[$nin]",
    "[$exists]",
    "[$or]",
    "[$and]",
    "[$not]",
    "[$expr]",
    "\"$where\"",
    "\"$ne\"",
    "\"$gt\"",
    "\"$regex\"",
    "$where:",
];

fn without_spaces_and_comments(lower: &str) -> String {
    let b = lower.as_bytes();
    let mut out = String::with_capacity(lower.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i += 2;
            continue;
        }
        if !b[i].is_ascii_whitespace() {
            out.push(b[i] as char);
        }
        i += 1;
    }
    out
}

/// PostgreSQL / MySQL JSON operators next to a quoted document: `'{"a":1}' <@ '…'`.
fn json_operator(squeezed: &str) -> bool {
    squeezed.contains('\'')
        && [
            "'->'",
            "'->>'",
            "->>'",
            "#>>'",
            "#>'",
            "<@'",
            "@>'",
            "'?|",
            "'?&",
            "'<@",
            "'@>",
            ">'$",
            "json_extract(",
        ]
        .iter()
        .any(|op| squeezed.contains(op))
}

/// A PostgreSQL cast to a type: `password::int`, `'x'::jsonb`.
fn pg_cast(squeezed: &str) -> bool {
    pairs(squeezed, *b"::").any(|at| {
        let ty: String = squeezed[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        [
            "int", "int4", "int8", "integer", "text", "json", "jsonb", "bool", "boolean",
            "varchar", "char", "numeric", "bigint", "regclass", "oid", "bytea", "xml", "float",
            "real", "name",
        ]
        .contains(&ty.as_str())
    })
}

/// SQL comment sequences that end a statement: `;--`, `'--`, `)--`, `/*!`, `/* … */`,
/// or a trailing `--` after a space.
fn comment_sequence(l: &str) -> bool {
    // `/*!` and `/* … */` both open with `/*`.
    pairs(l, *b"/*").next().is_some() && (l.contains("/*!") || pairs(l, *b"*/").next().is_some())
        || pairs(l, *b"--").any(|at| {
            let before = l[..at].chars().last();
            let after = l[at + 2..].chars().next();
            matches!(before, Some(';' | '\'' | '"' | ')' | '`'))
                && after.is_none_or(|c| c == ' ' || c == '-' || c == '\n')
        })
}

/// `union`, then `select`, then `from`, in that order (942270).
fn union_select_from(l: &str) -> bool {
    l.find("union").is_some_and(|u| {
        l[u..]
            .find("select")
            .is_some_and(|s| l[u + s..].contains("from"))
    })
}

/// MySQL scientific-notation bypasses: a number glued to `e` and then `(`, `)` or (after
/// `1.e`) `.`, which MySQL reads as a float before a call or identifier (`1.e.tables`,
/// `1e(`), 942560.
fn scientific_notation(l: &str) -> bool {
    let b = l.as_bytes();
    l.match_indices('e').any(|(at, _)| {
        let dot = at > 0 && b[at - 1] == b'.';
        let end = if dot { at - 1 } else { at };
        let digits = b[..end]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let start = end - digits;
        let standalone = start == 0
            || !(b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'_' | b'.'));
        digits > 0
            && standalone
            && match b.get(at + 1) {
                Some(b'(' | b')') => true,
                Some(b'.') => dot,
                _ => false,
            }
    })
}

/// Checks one value; returns the id of the first rule that fires.
pub fn detect(v: &Views, rules: &Rules) -> Option<u32> {
    let l = v.lower();
    let trimmed = l.trim();
    if rules.on(942290) && v.bytes.has(b'$') && (any_in(NOSQL, l) || is_one_of(NOSQL_OPS, trimmed))
    {
        return Some(942290);
    }
    let plain = l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let logic_word = matches!(
        trimmed,
        "or" | "and" | "xor" | "not" | "div" | "like" | "rlike" | "regexp" | "is"
    );
    if rules.on(942120) && l.len() < 64 && (!plain || logic_word) && operators_only(l) {
        return Some(942120);
    }
    if rules.on(942220) && l.bytes().any(|b| b.is_ascii_digit()) && is_one_of(OVERFLOWS, trimmed) {
        return Some(942220);
    }
    let is_prose = Prose::of(l);
    if rules.on(942100) && tokenizer_hit(&v.decoded, &is_prose, &v.bytes) {
        return Some(942100);
    }
    let interesting = l.bytes().any(|b| {
        matches!(
            b,
            b'(' | b'_' | b'.' | b' ' | b'/' | b'\'' | b':' | b'-' | b'#' | b'\\'
        )
    });
    if !interesting {
        // One bare word: a database name (`tempdb`, `varchar`), keywords run together
        // (`xunionselectfrom`) or a hex literal.
        let w = trimmed;
        if rules.on(942140) && SQL_NAMES.contains(&w) {
            return Some(942140);
        }
        if rules.on(942270) && v.bytes.all(b"unionselctfrm") && union_select_from(w) {
            return Some(942270);
        }
        if rules.on(942450) && v.bytes.all(b"0x") && hex_literal(w) {
            return Some(942450);
        }
        return None;
    }
    if rules.on(942140)
        && (v.maybe(group::SQL_CATALOGS) && any_in(CATALOGS, l)
            || (v.maybe(group::SQL_NAMES) && SQL_NAMES.iter().any(|w| has_word(l, w))))
    {
        return Some(942140);
    }
    if rules.on(942150) && v.bytes.has(b'(') && function_call(l) && !is_prose.get() {
        return Some(942150);
    }
    if rules.on(942270) && v.bytes.all(b"unionselctfrm") && union_select_from(l) && !is_prose.get()
    {
        return Some(942270);
    }
    // A digit, `e`, then `(`, `)` or `.`.
    if rules.on(942560) && v.bytes.has(b'e') && v.bytes.any(b"().") && scientific_notation(l) {
        return Some(942560);
    }
    // The keyword rules below all need one of these characters or words (first asked of the
    // byte set, which holds every byte of `l`).
    let keyword_chars =
        (v.bytes.any(b"(_:><?#") || v.bytes.all(b"waitfor") || v.bytes.all(b"exec"))
            && (l
                .bytes()
                .any(|b| matches!(b, b'(' | b'_' | b':' | b'>' | b'<' | b'?' | b'#'))
                || l.contains("waitfor")
                || l.contains("exec"));
    // The squeezed text only loses bytes: a list none of whose patterns has all its bytes in
    // the value cannot match it.
    let time = keyword_chars && rules.on(942160) && may_hold(TIME_FUNCS, &v.bytes);
    let mssql = keyword_chars && rules.on(942190) && may_hold(MSSQL, &v.bytes);
    let json = keyword_chars && rules.on(942550) && v.bytes.any(b"':");
    if time || mssql || json {
        // The patterns are written without spaces, as the value is squeezed.
        let squeezed = without_spaces_and_comments(l);
        let found = if time || mssql {
            squeezed_sql_in(&squeezed)
        } else {
            0
        };
        if time && found & sql_group::TIME_FUNCS != 0 {
            return Some(942160);
        }
        if mssql && found & sql_group::MSSQL != 0 {
            return Some(942190);
        }
        if json && (json_operator(&squeezed) || pg_cast(&squeezed)) {
            return Some(942550);
        }
    }
    if rules.on(942440) && v.bytes.any(b"/-") && comment_sequence(l) {
        return Some(942440);
    }
    if rules.on(942450) && v.bytes.all(b"0x") && hex_literal(l) {
        return Some(942450);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(s: &str) -> bool {
        tokenizer_hit(s, &Prose::of(&s.to_lowercase()), &ByteSet::of(s))
    }

    use crate::normalize::{ByteSet, Views};

    #[test]
    fn classic_injections() {
        for s in [
            "1' or '1'='1",
            "admin'--",
            "-1 union select 1,2,3",
            "1 and sleep(5)",
            "x'; drop table users--",
            "1) or (1=1",
            "' or 1=1#",
            "1 AND 1=1",
            "-1/**/UNION/**/SELECT/**/password/**/FROM/**/users",
        ] {
            assert!(hit(s), "{s}");
        }
    }

    /// Bare database names, run-together keywords, hex literals, SQL-only operators and
    /// MySQL's scientific-notation bypass, each as a whole value.
    #[test]
    fn keyword_rules_on_whole_values() {
        let r = Rules::new(2, &[]);
        let fires = |s: &str| detect(&Views::of_decoded(s.into()), &r);
        for (s, id) in [
            ("tempdb", 942140),
            ("NVARCHAR", 942140),
            ("OPENROWSET", 942140),
            ("Xunionselectfrom", 942270),
            ("0xf00dbeef", 942450),
            ("\\0xf00dsdfdsa", 942450),
            ("<>", 942120),
            ("<=>", 942120),
            ("1.e.tables", 942560),
            ("1.e(user", 942560),
        ] {
            assert_eq!(fires(s), Some(id), "{s}");
        }
        for s in [
            "tempest",
            "varchars",
            "reunion",
            "0xf",
            "<",
            ">=",
            "1.5e10",
            "v1.e.x",
            "e.g. this",
            "1e6",
            "price 2.5e3",
            "db",
        ] {
            assert_eq!(fires(s), None, "{s}");
        }
    }

    #[test]
    fn quoted_breakouts_and_calls() {
        for s in [
            "' AND SUBSTRING((SELECT Password FROM Users WHERE Username = 'Administrator'), 1, 1) > 'm",
            "exec (@cmd",
            "@example.com&name=(select",
        ] {
            assert!(hit(s), "{s}");
        }
        for s in [
            "'quoted phrase' and 'another'",
            "execute the plan (soon)",
            "(select one)",
            "exec (",
            "\"UNION\" BY ROBERT F",
            "'or'1",
        ] {
            assert!(!hit(s), "{s}");
        }
    }

    #[test]
    fn benign_text() {
        for s in [
            "rock and roll",
            "O'Reilly and sons",
            "DO OR NOT DO",
            "1/26/11",
            "please select a size from the list",
            "x, @x, @x",
            "RECLAIMED WOOD\" + \"SIGN\"",
            "dad and keychain and \"loved by\"",
        ] {
            assert!(!hit(s), "{s}");
        }
    }
}
