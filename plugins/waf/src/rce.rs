//! Remote command execution: shell commands after a command separator (with quote,
//! backslash and empty-variable evasions removed), shell expressions, shellshock, Windows
//! command interpreters, and mail/IMAP protocol injection.

use crate::normalize::Views;
use crate::patterns::{any_in, is_one_of};
use crate::rules::Rules;

/// Unix commands that are not everyday words: after a separator they need nothing else.
static UNIX_COMMANDS: &[&str] = &[
    "ls",
    "whoami",
    "uname",
    "ifconfig",
    "netstat",
    "printenv",
    "hostname",
    "chmod",
    "chown",
    "chgrp",
    "mkdir",
    "rmdir",
    "rm",
    "cp",
    "mv",
    "ln",
    "pwd",
    "ps",
    "env",
    "xargs",
    "awk",
    "gawk",
    "sed",
    "grep",
    "egrep",
    "fgrep",
    "base64",
    "base32",
    "xxd",
    "hexdump",
    "od",
    "uniq",
    "tac",
    "wget",
    "curl",
    "lwp-download",
    "lwp-request",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
    "ssh",
    "ssh-copy-id",
    "scp",
    "sftp",
    "tftp",
    "rsync",
    "nslookup",
    "traceroute",
    "sh",
    "bash",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "dash",
    "busybox",
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "php",
    "irb",
    "lua",
    "gcc",
    "c89",
    "c99",
    "bsdtar",
    "unzip",
    "gzip",
    "gunzip",
    "zcat",
    "bzip2",
    "unxz",
    "7z",
    "crontab",
    "nohup",
    "strace",
    "ltrace",
    "gdb",
    "sudo",
    "visudo",
    "passwd",
    "useradd",
    "adduser",
    "usermod",
    "pkill",
    "killall",
    "mkfifo",
    "mknod",
    "vim",
    "nano",
    "openssl",
    "gpg",
    "sqlite3",
    "mysql",
    "psql",
    "redis-cli",
    "apt-get",
    "aptitude",
    "yum",
    "dnf",
    "rpm",
    "dpkg",
    "pip",
    "pip3",
    "pipx",
    "npm",
    "docker",
    "kubectl",
    "systemctl",
    "iptables",
    "tcpdump",
    "nmap",
    "flock",
    "cpulimit",
    "taskset",
    "ionice",
    "chroot",
    "lsof",
    "lsb_release",
    "dmesg",
    "lspci",
    "lsusb",
    "getent",
    "ansible",
    "ansible-playbook",
    "ansible-galaxy",
    "ansible-config",
    "ansible-doc",
    "ansible-pull",
    "ansible-vault",
    "ansible-inventory",
    "ansible-console",
    "chef-client",
    "chef-run",
    "chef-vault",
    "chef-shell",
    "cscli",
    "bpftrace",
    "dtrace",
    "readelf",
    "objdump",
    "ldd",
    "xterm",
    "tmux",
    "setsid",
    "stdbuf",
    "unshare",
    "nsenter",
    "capsh",
    "aa-exec",
    "aa-disable",
    "run-parts",
    "busctl",
    "journalctl",
    "pkexec",
    "doas",
    "tclsh",
    "jjs",
    "jrunscript",
    "rlwrap",
    "uudecode",
    "lastlog",
    "lastlogin",
    "rmt",
    "rmt-tar",
    "rmt-dump",
    "uptime",
    "ifup",
    "ifdown",
    "arp",
    "route",
    "iwconfig",
    "chattr",
    "lsattr",
    "setfacl",
    "getfacl",
    "sysctl",
    "modprobe",
    "insmod",
    "rmmod",
    "lsmod",
    "shred",
    "wall",
];

/// Unix commands that are also everyday words: they need command-line arguments.
static WORD_COMMANDS: &[&str] = &[
    "cat", "more", "less", "head", "tail", "find", "time", "date", "file", "set", "sort", "cut",
    "kill", "watch", "write", "mail", "top", "id", "ip", "echo", "printf", "type", "which", "trap",
    "alias", "source", "exec", "eval", "script", "expect", "make", "man", "host", "dig", "fetch",
    "ping", "who", "last", "free", "history", "nice", "timeout", "tee", "tr", "wc", "diff", "comm",
    "stat", "strings", "dir", "locate", "export", "touch", "mount", "dd", "vi", "ed", "emacs",
    "service", "rev", "nl", "zip", "tar", "su", "df", "du", "chef", "perf", "screen", "node",
    "java", "sleep", "cd", "sendmail", "mutt", "cc", "xz", "shutdown", "reboot", "halt", "umount",
];

/// Windows commands and interpreters.
static WINDOWS_COMMANDS: &[&str] = &[
    "cmd",
    "cmd.exe",
    "powershell",
    "powershell.exe",
    "pwsh",
    "wscript",
    "cscript",
    "mshta",
    "rundll32",
    "regsvr32",
    "certutil",
    "bitsadmin",
    "regedit",
    "reg",
    "net",
    "net1",
    "netsh",
    "sc",
    "tasklist",
    "taskkill",
    "wmic",
    "systeminfo",
    "ipconfig",
    "type",
    "copy",
    "del",
    "erase",
    "ren",
    "move",
    "xcopy",
    "robocopy",
    "attrib",
    "iwr",
    "iex",
    "invoke-webrequest",
    "invoke-expression",
    "invoke-restmethod",
    "start-process",
    "new-object",
    "bcdboot",
    "bcdedit",
    "schtasks",
    "vssadmin",
    "msiexec",
    "forfiles",
    "icacls",
    "takeown",
    "whoami.exe",
    "ver",
    "vol",
    "findstr",
    "nltest",
    "dsquery",
    "at.exe",
    "cipher",
    "diskpart",
    "esentutl",
    "expand",
];

/// Fragments that are shell syntax on their own (932130).
static SHELL_EXPRESSIONS: &[&str] = &[
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
];

/// Shell and binary directories (932160).
static SHELL_PATHS: &[&str] = &[
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
    out.replace("${ifs}", " ").replace("$ifs", " ")
}

fn is_cmd_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'?' | b'*' | b'[' | b']')
}

/// Whether `word` (which may hold `?`/`*` globs) names a command in `list`.
fn names_command(word: &str, list: &'static [&'static str]) -> bool {
    let word = word.rsplit('/').next().unwrap_or(word);
    if word.is_empty() {
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
    [";.", "\n.", ";\n."].iter().any(|sep| {
        u.match_indices(sep).any(|(at, _)| {
            let rest = &u[at + sep.len()..];
            [
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
            .any(|c| rest.starts_with(c))
        })
    })
}

/// Strong commands that are also common search terms; at the start of a value they need
/// real command-line arguments.
static LANGUAGES: &[&str] = &[
    "php", "python", "python2", "python3", "perl", "ruby", "lua", "mysql", "docker", "gcc", "npm",
    "psql", "ssh", "vim", "nano", "curl", "wget",
];

/// Commands that run the command after them.
static PREFIXES: &[&str] = &[
    "time", "nohup", "sudo", "env", "nice", "timeout", "strace", "ltrace", "exec", "command",
    "builtin", "xargs", "busybox", "stdbuf", "setsid", "doas", "chroot", "watch", "unbuffer",
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
fn command_in(s: &str, strong: &'static [&'static str], weak: &'static [&'static str]) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    // 0: inside text; b'^': start of value; other: the separator seen.
    let mut sep = b'^';
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
                let is_strong = names_command(word, strong);
                let is_weak = !is_strong && names_command(word, weak);
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
                        (is_strong && (ends && !rest.starts_with(',') || args)) || (is_weak && args)
                    }
                    _ => (is_strong || is_weak) && (ends || args),
                };
                if hit {
                    return true;
                }
                // `time sh -c …`, `sudo -u x id`: a command prefix starts a new command line.
                if is_one_of(PREFIXES, word) && rest.starts_with([' ', '\t', '+']) {
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
        i += 1;
    }
    false
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

/// Checks one value; returns the id of the first rule that fires.
pub fn detect(v: &Views, rules: &Rules) -> Option<u32> {
    let l = v.lower.as_str();
    if l.len() < 2 {
        return None;
    }
    if rules.on(932170)
        && (l.contains("() {") || l.contains("(){") || l.contains("() {") || l.contains(":(){"))
    {
        return Some(932170);
    }
    let u = if l
        .bytes()
        .any(|b| matches!(b, b'\\' | b'^' | b'\'' | b'"' | b'$' | b'`' | b'['))
    {
        unevade(l)
    } else {
        l.to_string()
    };
    let raw = l.replace("${}", "");
    if rules.on(932130) && any_in(SHELL_EXPRESSIONS, &u) || any_in(SHELL_EXPRESSIONS, &raw) {
        return Some(932130);
    }
    if rules.on(932160) && (any_in(SHELL_PATHS, &u) || bin_path(&u)) {
        return Some(932160);
    }
    if rules.on(932100)
        && (alias(&u)
            || sqlite_dot_command(&u)
            || (u != l && names_command(u.trim(), UNIX_COMMANDS)))
    {
        return Some(932100);
    }
    if rules.on(932100) && command_in(&u, UNIX_COMMANDS, WORD_COMMANDS) {
        return Some(932100);
    }
    if rules.on(932110)
        && (command_in(&u, &[], WINDOWS_COMMANDS)
            || u.contains("%systemroot%")
            || u.contains("%comspec%")
            || (u.contains("for /") || u.contains("for %")) && u.contains(" in ")
            || u.contains(" do ") && u.contains('%')
            || u.starts_with("if ")
                && (u.contains(" exist")
                    || u.contains("==")
                    || u.contains(" neq ")
                    || u.contains(" equ ")
                    || u.contains("errorlevel")))
    {
        return Some(932110);
    }
    if rules.on(932200) {
        // Brace expansion `{ls,-la}`, tilde expansion `~+`, history `!-1`.
        if (u.contains("{,") || u.contains(",}")) && u.contains('{')
            || u.starts_with("~+")
            || u.starts_with("~-")
            || u.starts_with("~0")
            || u.contains("!-1")
            || u.contains("=$") && u.contains(';')
        {
            return Some(932200);
        }
    }
    if rules.on(932100) && mail_injection(l) {
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
        ] {
            assert!(!hit(s), "{s}");
        }
    }
}
