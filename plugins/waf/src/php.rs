//! PHP injection: open tags, stream wrappers, superglobals, serialized objects, configuration
//! directives, high-risk function names and (variable) function calls.

use crate::normalize::Views;
use crate::patterns::{any_in, group, is_one_of};
use crate::rules::Rules;

/// Functions that run code, commands or open files/sockets.
pub(crate) static FUNCTIONS: &[&str] = &[
    "array_filter",
    "array_map",
    "array_walk",
    "assert",
    "base64_decode",
    "bin2hex",
    "call_user_func",
    "call_user_func_array",
    "chmod",
    "chown",
    "chr",
    "compact",
    "convert_uuencode",
    "copy",
    "create_function",
    "curl_exec",
    "curl_init",
    "debug_zval_dump",
    "dl",
    "escapeshellarg",
    "escapeshellcmd",
    "eval",
    "exec",
    "extract",
    "file",
    "file_get_contents",
    "file_put_contents",
    "fopen",
    "fputcsv",
    "fputs",
    "fsockopen",
    "fwrite",
    "get_current_user",
    "getenv",
    "glob",
    "gzdecode",
    "gzinflate",
    "gzuncompress",
    "header",
    "hex2bin",
    "highlight_file",
    "iconv",
    "implode",
    "include",
    "include_once",
    "ini_get",
    "ini_set",
    "mail",
    "mb_ereg_replace",
    "mkdir",
    "move_uploaded_file",
    "mysqli_connect",
    "ob_start",
    "odbc_connect",
    "opendir",
    "ord",
    "parse_str",
    "passthru",
    "pcntl_exec",
    "pfsockopen",
    "pg_connect",
    "php_uname",
    "phpinfo",
    "popen",
    "posix_getpwuid",
    "posix_kill",
    "preg_replace",
    "print_r",
    "proc_open",
    "putenv",
    "rawurldecode",
    "readdir",
    "readfile",
    "register_shutdown_function",
    "register_tick_function",
    "rename",
    "require",
    "require_once",
    "rmdir",
    "scandir",
    "serialize",
    "session_start",
    "setcookie",
    "shell_exec",
    "show_source",
    "sodium_crypto_box",
    "str_replace",
    "str_rot13",
    "stream_socket_client",
    "strrev",
    "symlink",
    "system",
    "tempnam",
    "tidy_parse_string",
    "tmpfile",
    "uasort",
    "unlink",
    "unserialize",
    "urldecode",
    "usort",
    "var_dump",
    "var_export",
];

/// PHP stream wrappers.
pub(crate) static WRAPPERS: &[&str] = &[
    "php://",
    "phar://",
    "zip://",
    "zlib://",
    "compress.zlib://",
    "compress.bzip2://",
    "bzip2://",
    "glob://",
    "expect://",
    "ssh2.shell://",
    "ssh2.exec://",
    "ssh2.tunnel://",
    "ssh2.scp://",
    "ssh2.sftp://",
    "rar://",
    "ogg://",
];

/// php.ini directives an attacker sets through a parameter (933120).
static DIRECTIVES: &[&str] = &[
    "allow_url_include",
    "allow_url_fopen",
    "auto_prepend_file",
    "auto_append_file",
    "disable_functions",
    "open_basedir",
    "safe_mode",
    "engine",
    "session.",
    "mbstring.",
    "pcre.",
    "opcache.",
    "display_errors",
    "error_log",
    "log_errors",
    "register_globals",
    "file_uploads",
    "upload_tmp_dir",
    "include_path",
    "max_execution_time",
    "memory_limit",
    "short_open_tag",
    "zend.",
    "xdebug.",
    "phar.",
];

/// PHP-executable file names (933110).
pub fn php_filename(name: &str) -> bool {
    let n = name
        .trim()
        .trim_end_matches(['.', ' '])
        .to_ascii_lowercase();
    let n = n.rsplit(['/', '\\']).next().unwrap_or(&n).replace(' ', "");
    [
        ".php", ".php3", ".php4", ".php5", ".php7", ".php8", ".phtml", ".phar", ".pht", ".phps",
        ".inc",
    ]
    .iter()
    .any(|e| n.ends_with(e))
        || n.starts_with("sess_")
        || n == ".htaccess"
        || n == ".user.ini"
}

/// A function name from `list` followed (after spaces / comments) by `(`.
fn call_of(s: &str, list: &'static [&'static str]) -> bool {
    let b = s.as_bytes();
    // A call needs a `)` somewhere after its `(`.
    let last_close = s.rfind(')');
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &s[start..i];
            let mut j = i;
            loop {
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if s[j..].starts_with("/*") {
                    // An unclosed comment hides everything after it: no call can follow.
                    match s[j..].find("*/") {
                        Some(e) => j += e + 2,
                        None => return false,
                    }
                    continue;
                }
                if s[j..].starts_with('#') || s[j..].starts_with("//") {
                    j = s[j..].find('\n').map_or(b.len(), |e| j + e + 1);
                    continue;
                }
                break;
            }
            if b.get(j) == Some(&b'(')
                && last_close.is_some_and(|c| c > j)
                && (is_one_of(list, word) || list.iter().any(|f| f.len() > 6 && word.ends_with(f)))
            {
                return true;
            }
            continue;
        }
        i += 1;
    }
    false
}

/// Checks one value; returns the id of the first rule that fires.
pub fn detect(v: &Views, rules: &Rules) -> Option<u32> {
    let l = v.lower();
    let has = |b: u8| v.bytes.has(b);
    if rules.on(933100)
        && v.bytes.any(b"<[")
        && (l.contains("<?php")
            || l.contains("<?=")
            || l.contains("<? ")
            || l.contains("[php]")
            || l.contains("[/php]")
            || l.contains("[\\php]")
            || l.contains("<?\n")
            || l.contains("<?\t")
            || l.trim_end() == "<?")
    {
        return Some(933100);
    }
    // Every wrapper is `name://`; serialized objects hold `:` too.
    let colon = has(b':');
    if rules.on(933140) && colon && v.maybe(group::PHP_WRAPPERS) && any_in(WRAPPERS, l) {
        return Some(933140);
    }
    if rules.on(933130)
        && has(b'$')
        && [
            "$_get",
            "$_post",
            "$_cookie",
            "$_request",
            "$_server",
            "$_files",
            "$_env",
            "$_session",
            "$globals",
            "$http_raw_post_data",
            "$http_",
        ]
        .iter()
        .any(|g| l.contains(g))
    {
        return Some(933130);
    }
    if rules.on(933170) && colon && serialized(l) {
        return Some(933170);
    }
    if rules.on(933120) && has(b'=') {
        let t = l.trim();
        if let Some((k, _)) = t.split_once('=') {
            let k = k.trim();
            if DIRECTIVES.iter().any(|d| {
                if d.ends_with('.') {
                    k.starts_with(d) && k.len() > d.len()
                } else {
                    k == *d
                }
            }) {
                return Some(933120);
            }
        }
    }
    if has(b'(') {
        if rules.on(933160) && call_of(l, FUNCTIONS) {
            return Some(933160);
        }
        if rules.on(933200) && variable_call(l) {
            return Some(933200);
        }
        if rules.on(933150) && l.contains("()") && call_of(l, FUNCTIONS) {
            return Some(933150);
        }
    }
    None
}

/// `O:8:"stdClass":1:{`, `a:2:{`, `C:3:"Foo":`.
fn serialized(l: &str) -> bool {
    let b = l.as_bytes();
    (0..b.len().saturating_sub(3)).any(|i| {
        matches!(b[i], b'o' | b'c' | b'a')
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b[i + 1] == b':'
            && b[i + 2].is_ascii_digit()
            && {
                let mut j = i + 2;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                b.get(j) == Some(&b':') && matches!(b.get(j + 1), Some(b'"' | b'{'))
            }
    })
}

/// Variable functions and string-built calls: `$a(1)`, `$d['o'](9)`, `("sys"."tem")('id')`.
fn variable_call(l: &str) -> bool {
    let s: String = l.chars().filter(|c| !c.is_whitespace()).collect();
    let b = s.as_bytes();
    for (i, w) in b.windows(2).enumerate() {
        if (w == b")(" || w == b"](" || w == b"}(")
            && i > 0
            && !matches!(b[i - 1], b'(' | b'[' | b'{')
        {
            let before = &s[..i + 1];
            // The last 40 bytes, moved forward to a character boundary.
            let mut from = before.len().saturating_sub(40);
            while !before.is_char_boundary(from) {
                from += 1;
            }
            let tail = &before[from..];
            if tail.contains('$')
                || tail.contains("\".\"")
                || tail.contains("'.'")
                || tail.contains(".(")
                || tail.contains(").")
                || tail.contains("(string)")
                || tail.contains("[0]")
            {
                return true;
            }
        }
    }
    // `$a(`, `$_(`, `@$x(`
    b.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'$' && (w[1].is_ascii_alphabetic() || w[1] == b'_') && {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            b.get(j) == Some(&b'(')
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibyte_text_before_a_call_does_not_panic() {
        let v = Views::of_decoded(format!("{}$x)(1)", "é".repeat(30)));
        let _ = detect(&v, &Rules::new(2, &[]));
    }
}
