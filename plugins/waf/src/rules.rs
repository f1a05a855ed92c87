//! The rule table: every rule the WAF can fire, with its CRS-style id, category and paranoia
//! level. Detectors refer to rules by id; the engine checks them against the site's config.

/// What kind of attack a rule detects; its name is used in logs and metric names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Scanner,
    Lfi,
    Rfi,
    Rce,
    Php,
    Generic,
    Xss,
    Sqli,
    SessionFixation,
    Java,
}

impl Category {
    /// Lowercase name used in logs, metrics and the block page (`sqli`, `xss`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Category::Scanner => "scanner",
            Category::Lfi => "lfi",
            Category::Rfi => "rfi",
            Category::Rce => "rce",
            Category::Php => "php",
            Category::Generic => "generic",
            Category::Xss => "xss",
            Category::Sqli => "sqli",
            Category::SessionFixation => "session-fixation",
            Category::Java => "java",
        }
    }
}

/// One detection rule.
#[derive(Debug)]
pub struct Rule {
    pub id: u32,
    pub category: Category,
    /// Lowest paranoia level at which the rule runs (1 or 2).
    pub paranoia: u8,
    pub name: &'static str,
}

const fn rule(id: u32, category: Category, paranoia: u8, name: &'static str) -> Rule {
    Rule {
        id,
        category,
        paranoia,
        name,
    }
}

use Category::*;

/// Every rule, ordered by id.
pub static RULES: &[Rule] = &[
    rule(913100, Scanner, 1, "security scanner user agent"),
    rule(930100, Lfi, 1, "encoded path traversal"),
    rule(930110, Lfi, 1, "path traversal"),
    rule(930120, Lfi, 1, "operating system file access"),
    rule(930130, Lfi, 1, "restricted file access in the path"),
    rule(
        931100,
        Rfi,
        1,
        "remote file inclusion: URL with an IP address",
    ),
    rule(
        931110,
        Rfi,
        1,
        "remote file inclusion: include function with a URL",
    ),
    rule(
        931120,
        Rfi,
        1,
        "remote file inclusion: URL ending in a question mark",
    ),
    rule(932100, Rce, 1, "unix command injection"),
    rule(932110, Rce, 1, "windows command injection"),
    rule(932130, Rce, 1, "shell expression or process substitution"),
    rule(932160, Rce, 1, "unix shell path"),
    rule(932170, Rce, 1, "shellshock function definition"),
    rule(932200, Rce, 2, "unix command with evasion"),
    rule(933100, Php, 1, "php open tag"),
    rule(933110, Php, 1, "php script upload"),
    rule(933120, Php, 1, "php configuration directive"),
    rule(933130, Php, 1, "php superglobal variable"),
    rule(933140, Php, 1, "php i/o stream wrapper"),
    rule(933150, Php, 1, "php high-risk function name"),
    rule(933160, Php, 1, "php function call"),
    rule(933170, Php, 1, "php serialized object injection"),
    rule(933200, Php, 1, "php variable function call"),
    rule(934100, Generic, 1, "node.js injection"),
    rule(
        934110,
        Generic,
        1,
        "server-side request forgery to metadata or local address",
    ),
    rule(934130, Generic, 1, "javascript prototype pollution"),
    rule(934150, Generic, 1, "template injection"),
    rule(
        941100,
        Xss,
        1,
        "xss: html tokenizer (dangerous tag or attribute)",
    ),
    rule(941110, Xss, 1, "xss: script tag"),
    rule(941120, Xss, 1, "xss: event handler attribute"),
    rule(
        941130,
        Xss,
        1,
        "xss: dangerous uri scheme or style expression",
    ),
    rule(
        941160,
        Xss,
        1,
        "xss: html injection (obfuscated dangerous tag)",
    ),
    rule(941170, Xss, 1, "xss: data uri carrying a document"),
    rule(941180, Xss, 1, "xss: javascript breakout with sink call"),
    rule(941181, Xss, 1, "xss: html comment or cdata marker"),
    rule(941240, Xss, 1, "xss: ie import implementation"),
    rule(941310, Xss, 1, "xss: us-ascii encoded markup"),
    rule(941340, Xss, 2, "xss: quote then property assignment"),
    rule(941360, Xss, 1, "xss: jsfuck obfuscation"),
    rule(942100, Sqli, 1, "sqli: tokenizer fingerprint"),
    rule(942120, Sqli, 1, "sqli: value made only of sql operators"),
    rule(942140, Sqli, 1, "sqli: database catalog or driver name"),
    rule(942150, Sqli, 1, "sqli: sql function call"),
    rule(942160, Sqli, 1, "sqli: time-based function"),
    rule(942190, Sqli, 1, "sqli: mssql code execution"),
    rule(942220, Sqli, 1, "sqli: integer overflow constant"),
    rule(942270, Sqli, 1, "sqli: union select from"),
    rule(942290, Sqli, 1, "sqli: nosql operator"),
    rule(942440, Sqli, 2, "sqli: sql comment sequence"),
    rule(942450, Sqli, 2, "sqli: hex-encoded literal"),
    rule(942550, Sqli, 1, "sqli: json operator"),
    rule(942560, Sqli, 1, "sqli: mysql scientific notation"),
    rule(
        943100,
        SessionFixation,
        1,
        "session fixation: cookie set in a parameter",
    ),
    rule(
        943110,
        SessionFixation,
        1,
        "session fixation: session id parameter with off-domain referer",
    ),
    rule(944100, Java, 1, "java: runtime or process execution"),
    rule(944130, Java, 1, "java: suspicious class name"),
    rule(944140, Java, 1, "java: jsp script upload"),
    rule(944150, Java, 1, "java: jndi lookup (log4shell)"),
    rule(944200, Java, 1, "java: serialized object"),
];

/// The lowest rule id; [`Rules`] keeps one bit per id from here.
const FIRST_ID: u32 = 900_000;
/// One past the highest rule id [`Rules`] can hold.
const END_ID: u32 = 950_000;

/// The rules switched on for a site: paranoia level and disabled rules applied once. Asked
/// for every rule on every inspected value, so the answer is one bit test (a bitmap over the
/// id range, 6 KiB) rather than a search.
#[derive(Debug, Default)]
pub struct Rules {
    on: Vec<u64>,
}

impl Rules {
    /// The rules at or below `paranoia`, minus `disabled`.
    pub fn new(paranoia: u8, disabled: &[u32]) -> Rules {
        let mut on = vec![0u64; ((END_ID - FIRST_ID) as usize).div_ceil(64)];
        for r in RULES
            .iter()
            .filter(|r| r.paranoia <= paranoia && !disabled.contains(&r.id))
        {
            if let Some(bit) = Self::bit(r.id) {
                on[bit / 64] |= 1 << (bit % 64);
            }
        }
        Rules { on }
    }

    /// Bit index of rule `id`, when it lies in the range the bitmap covers.
    fn bit(id: u32) -> Option<usize> {
        (FIRST_ID..END_ID)
            .contains(&id)
            .then(|| (id - FIRST_ID) as usize)
    }

    /// Whether rule `id` runs.
    pub fn on(&self, id: u32) -> bool {
        Self::bit(id)
            .and_then(|bit| self.on.get(bit / 64).map(|w| w & (1 << (bit % 64)) != 0))
            .unwrap_or(false)
    }
}

/// The rule with this id.
pub fn find(id: u32) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_fits_the_bitmap_and_switches_by_paranoia_and_disabling() {
        let all = Rules::new(2, &[]);
        for r in RULES {
            assert!(Rules::bit(r.id).is_some(), "{} outside the bitmap", r.id);
            assert!(all.on(r.id), "{}", r.id);
        }
        let pl1 = Rules::new(1, &[941110]);
        assert!(!pl1.on(941110));
        assert!(RULES
            .iter()
            .filter(|r| r.id != 941110)
            .all(|r| pl1.on(r.id) == (r.paranoia <= 1)));
        assert!(!all.on(899_999) && !all.on(950_000) && !all.on(u32::MAX));
    }

    #[test]
    fn ids_are_unique_and_sorted() {
        for pair in RULES.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} before {}",
                pair[0].id,
                pair[1].id
            );
        }
    }
}
