//! Java attacks: JNDI lookups (log4shell, with nested-lookup evasions), runtime / process
//! execution, dangerous classes (gadget chains, OGNL / Struts) and serialized objects.

use crate::normalize::Views;
use crate::patterns::{any_in, group};
use crate::rules::Rules;

/// Class and package names used by exploits and gadget chains (944130).
pub(crate) static CLASSES: &[&str] = &[
    "java.lang.",
    "java.io.",
    "java.net.",
    "java.nio.",
    "java.util.",
    "java.beans.",
    "javax.",
    "java.rmi",
    "com.sun.",
    "sun.misc.",
    "sun.reflect",
    "com.opensymphony.",
    "org.apache.commons.collections",
    "org.apache.xalan",
    "org.springframework.",
    "org.codehaus.groovy",
    "groovy.lang",
    "bsh.interpreter",
    "com.mchange.",
    "org.hibernate.",
    "clonetransformer",
    "forclosure",
    "instantiatefactory",
    "instantiatetransformer",
    "invokertransformer",
    "prototypeclonefactory",
    "prototypeserializationfactory",
    "whileclosure",
    "chainedtransformer",
    "constanttransformer",
    "xwork",
    "ognl",
    "#_memberaccess",
    "@java.",
    "classloader",
    "class.module",
    "getruntime",
    "processbuilder",
    "runtime.exec",
    "templatesimpl",
    "jdbcrowsetimpl",
    "xstream",
    "org.mozilla.javascript",
    "scriptengine",
];

/// Words every runtime / process-execution pattern holds (944100, 944130).
pub(crate) static RUNTIME_WORDS: &[&str] = &["processbuilder", "processimpl", "runtime"];

/// Markers of a serialized Java object: base64 and hex stream headers (944200).
pub(crate) static SERIALIZED: &[&str] = &["aced0005", "ro0ab"];

/// Checks one value; returns the id of the first rule that fires.
pub fn detect(v: &Views, rules: &Rules) -> Option<u32> {
    let l = v.html();
    if rules.on(944150) && v.bytes.has(b'$') && l.contains("${") {
        // Nested lookups (`${${::-j}ndi:`, `${lower:j}`) are collapsed to their letters.
        let collapsed = collapse_lookups(l);
        if [
            "jndi:",
            "${ldap",
            "${rmi",
            "${dns",
            "${env:",
            "${sys:",
            "${java:",
            "${lower:",
            "${upper:",
            "${base64:",
            "${ctx:",
            "${main:",
            "${date:",
            "${::-",
        ]
        .iter()
        .any(|k| collapsed.contains(k) || l.contains(k))
        {
            return Some(944150);
        }
    }
    let runtime = v.maybe(group::JAVA_RUNTIME);
    if rules.on(944100)
        && runtime
        && (l.contains("runtime") || l.contains("processbuilder") || l.contains("processimpl"))
        && (l.contains("java.")
            || l.contains(".exec")
            || l.contains("getruntime")
            || l.contains(".start("))
    {
        return Some(944100);
    }
    if rules.on(944130) && v.maybe(group::JAVA_CLASSES) && any_in(CLASSES, l) {
        return Some(944130);
    }
    if rules.on(944130)
        && runtime
        && (l.contains("runtime") || l.contains("processbuilder"))
        && (l.contains("java") || l.contains('.'))
    {
        return Some(944130);
    }
    if rules.on(944200)
        && (v.maybe(group::JAVA_SERIALIZED) || !v.decoded.is_ascii())
        && (v.decoded.contains("rO0AB")
            || l.contains("aced0005")
            || !v.decoded.is_ascii()
                && (v
                    .decoded
                    .as_bytes()
                    .windows(4)
                    .any(|w| w == [0xac, 0xed, 0x00, 0x05])
                    || v.decoded.contains("\u{ac}\u{ed}")))
    {
        return Some(944200);
    }
    None
}

/// `${${::-j}${::-n}di:` → `jndi:`; `${lower:j}` → `j`; `${env:x:-j}` → `j`.
fn collapse_lookups(s: &str) -> String {
    let mut out = s.to_string();
    for _ in 0..4 {
        let mut next = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(start) = rest.find("${") {
            next.push_str(&rest[..start]);
            let inner_start = start + 2;
            match rest[inner_start..].find(['}', '$']) {
                Some(e) if rest.as_bytes()[inner_start + e] == b'}' => {
                    let inner = &rest[inner_start..inner_start + e];
                    let value = inner.rsplit(":-").next().filter(|_| inner.contains(":-"));
                    let value = value
                        .or_else(|| inner.split_once(':').map(|(_, v)| v))
                        .unwrap_or(inner);
                    if value.len() <= 3 {
                        next.push_str(value);
                    } else {
                        next.push_str(&rest[start..inner_start + e + 1]);
                    }
                    rest = &rest[inner_start + e + 1..];
                }
                _ => {
                    next.push_str("${");
                    rest = &rest[inner_start..];
                }
            }
        }
        next.push_str(rest);
        if next == out {
            break;
        }
        out = next;
    }
    out
}
