//! Path traversal and local file inclusion: `../` sequences (after decoding, with `\`,
//! overlong and `0x2e` spellings), well-known OS files, and restricted files in the path.

use crate::normalize::Views;
use crate::patterns::{any_in, group, pairs};
use crate::rules::Rules;

/// Operating-system files and directories attackers read (930120).
pub(crate) static OS_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/master.passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/issue",
    "/etc/motd",
    "/etc/crontab",
    "/etc/sudoers",
    "/etc/apache",
    "/etc/httpd",
    "/etc/nginx",
    "/etc/mysql",
    "/etc/ssh",
    "/etc/security",
    "/etc/profile",
    "/etc/bashrc",
    "/etc/resolv.conf",
    "/etc/fstab",
    "/etc/os-release",
    "/etc/php",
    "/proc/self",
    "/proc/version",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/net",
    "/proc/sys",
    "/proc/interrupts",
    "/proc/mounts",
    "/proc/1/",
    "/proc/sched_debug",
    "/sys/class",
    "/sys/kernel",
    "/sys/devices",
    "/sys/module",
    "/var/log/",
    "/var/run/secrets",
    "/root/",
    "/.ssh/",
    ".ssh/id_",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "authorized_keys",
    "known_hosts",
    ".bash_history",
    ".zsh_history",
    ".mysql_history",
    ".htpasswd",
    ".htaccess",
    "win.ini",
    "system.ini",
    "boot.ini",
    "/winnt/",
    "web.config",
    "wp-config.php",
    "/usr/local/apps/",
    "/usr/local/etc/",
    "/usr/local/apache",
    "/opt/lampp",
    "/etc/passwd",
    "apache2.conf",
    "httpd.conf",
    "php.ini",
    "my.cnf",
    "/dev/tcp/",
    "/dev/udp/",
    ".aws/credentials",
    ".docker/config.json",
    ".kube/config",
    ".git/config",
    ".git/head",
    "/etc/environment",
    ".docker/",
    ".kube/",
    ".gnupg/",
    "/tmp/",
];

/// Restricted names in the request path (930130): VCS, secrets, backups, dev tool config.
static RESTRICTED_PATH: &[&str] = &[
    "/.git",
    "/.svn",
    "/.hg",
    "/.bzr",
    "/.env",
    "/.aws",
    "/.ssh",
    "/.docker",
    "/.kube",
    "/.npmrc",
    "/.pypirc",
    "/.netrc",
    "/.htaccess",
    "/.htpasswd",
    "/.ds_store",
    "/.idea/",
    "/.vscode/",
    "/.bash",
    "/.zsh",
    "/.profile",
    "/.history",
    "/.mysql_history",
    "/.config/",
    "/.cache/",
    "/.local/",
    "/.gnupg",
    "/.composer",
    "/.travis",
    "/.circleci",
    "/.github/",
    "/.gitlab",
    "/.terraform",
    "/.vagrant",
    "/.cursor",
    "/.codex",
    "/.claude",
    "/.roo",
    "/.continue",
    "/.windsurf",
    "/.aider",
    "/.gemini",
    "/.copilot",
    "/.n8n",
    "/.opencode",
    "/.rovodev",
    "/.a0proj",
    "/.kiro",
    "/.amazonq",
    "/.cline",
    "/.mcp",
    "/.anthropic",
    "/.openai",
    "/web.config",
    "/wp-config",
    "/proc/",
    "/sys/class",
    "/sys/kernel",
    "/etc/",
    "/@fs/",
    "/config.php",
    "/configuration.php",
    "/phpinfo.php",
    "/server-status",
    "/.well-known/../",
];

/// Suffixes of backups, dumps and logs (930130).
static RESTRICTED_SUFFIXES: &[&str] = &[
    ".bak", ".backup", ".old", ".orig", ".save", ".swp", ".swo", "~", ".sql", ".sql.gz",
    ".sql.zip", ".sql.bz2", ".sql.tar", ".sql.7z", ".dump", ".log", ".db", ".sqlite", ".sqlite3",
    ".mdb", ".pem", ".key", ".p12", ".pfx", ".kdbx", ".tfstate", ".ini", ".cfg", ".conf", ".env",
];

/// Path traversal after normalising separators: `../`, `..\`, `..;/`, and `..` at the end.
fn traversal(s: &str) -> bool {
    let b = s.as_bytes();
    for at in pairs(s, *b"..") {
        let before_ok = at == 0
            || matches!(
                b[at - 1],
                b'/' | b'\\' | b'=' | b' ' | b'"' | b'\'' | b';' | b':' | b'.'
            );
        let mut j = at + 2;
        // A few `;`, spaces or dots may sit between `..` and the separator (`..;/`).
        while j < b.len() && j < at + 8 && (b[j] == b';' || b[j] == b' ' || b[j] == b'.') {
            j += 1;
        }
        let after_ok = j < b.len() && matches!(b[j], b'/' | b'\\');
        if before_ok && after_ok {
            return true;
        }
    }
    false
}

/// Spellings of `.` and `/` that survive URL decoding (`0x2e`, overlong UTF-8, `%c0%ae`).
fn encoded_traversal(lower: &str) -> bool {
    let s = lower
        .replace("0x2e", ".")
        .replace("0x2f", "/")
        .replace("0x5c", "\\")
        .replace("%c0%ae", ".")
        .replace("%c0%af", "/")
        .replace("%c1%9c", "\\")
        .replace("\u{c0}\u{ae}", ".")
        .replace('\u{2215}', "/")
        .replace('\u{ff0e}', ".");
    s != lower && traversal(&s)
}

/// Checks a parameter or header value.
pub fn detect(v: &Views, rules: &Rules) -> Option<u32> {
    let l = v.lower();
    if !v.bytes.any(b"./\\%") {
        return None;
    }
    if rules.on(930110) && traversal(l) {
        return Some(930110);
    }
    let encoded = v.bytes.has(b'x') && pairs(l, *b"0x").next().is_some()
        || v.bytes.has(b'%') && pairs(l, *b"%c").next().is_some()
        || !l.is_ascii();
    if rules.on(930100) && encoded && encoded_traversal(l) {
        return Some(930100);
    }
    if rules.on(930120)
        && [
            ".sql", ".sql.gz", ".sql.zip", ".sql.bz2", ".bak", ".dump", ".backup", ".swp",
        ]
        .iter()
        .any(|e| l.trim_end().ends_with(e))
        && !l.contains(' ')
    {
        return Some(930120);
    }
    // Without a backslash the slashed text is `lower`, where the joined pass looked.
    if rules.on(930120) && (v.bytes.has(b'\\') || v.maybe(group::OS_FILES)) {
        let slashed = if l.contains('\\') {
            std::borrow::Cow::Owned(l.replace('\\', "/"))
        } else {
            std::borrow::Cow::Borrowed(l)
        };
        if any_in(OS_FILES, &slashed) {
            return Some(930120);
        }
    }
    None
}

/// Checks the (decoded, lowercased) request path.
pub fn detect_path(path: &str, rules: &Rules) -> Option<u32> {
    if rules.on(930110) && traversal(path) {
        return Some(930110);
    }
    if rules.on(930130) {
        let p = path.trim_end_matches(['/', ' ']);
        if any_in(RESTRICTED_PATH, path) || RESTRICTED_SUFFIXES.iter().any(|s| p.ends_with(s)) {
            return Some(930130);
        }
        // Any dot-file or dot-directory except `/.well-known/`.
        if path
            .split('/')
            .any(|seg| seg.len() > 1 && seg.starts_with('.') && seg != ".well-known" && seg != "..")
        {
            return Some(930130);
        }
    }
    if rules.on(930120)
        && any_in(OS_FILES, path)
        && OS_FILES
            .iter()
            .any(|f| f.starts_with('/') && f.len() > 6 && path.contains(f))
    {
        return Some(930120);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_shapes() {
        let r = Rules::new(1, &[]);
        for s in [
            "../../etc/passwd",
            "..\\..\\boot.ini",
            "a/..;/b",
            "0x2e0x2e/etc",
        ] {
            assert!(detect(&Views::of_decoded(s.into()), &r).is_some(), "{s}");
        }
        for s in ["1.2.3", "see you...", "v1..2", "/img/logo.png"] {
            assert!(detect(&Views::of_decoded(s.into()), &r).is_none(), "{s}");
        }
        assert!(detect_path("/.git/config", &r).is_some());
        assert!(detect_path("/.well-known/acme-challenge/x", &r).is_none());
    }
}
