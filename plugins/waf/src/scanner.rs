//! Known security scanners and attack tools, recognised by their User-Agent (913100).

use crate::patterns::any_in;
use crate::rules::Rules;

/// Lowercase fragments of scanner User-Agents.
static SCANNERS: &[&str] = &[
    "nikto",
    "sqlmap",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "arachni",
    "acunetix",
    "nessus",
    "openvas",
    "w3af",
    "wpscan",
    "dirbuster",
    "gobuster",
    "dirb/",
    "feroxbuster",
    "ffuf",
    "wfuzz",
    "havij",
    "zmeu",
    "morfeus",
    "netsparker",
    "appscan",
    "webinspect",
    "burpcollaborator",
    "jaeles",
    "whatweb",
    "skipfish",
    "paros",
    "webshag",
    "grabber",
    "nsauditor",
    "pangolin",
    "sqlninja",
    "brutus",
    "hydra",
    "medusa",
    "x-scan",
    "fimap",
    "commix",
    "xsser",
    "bsqlbf",
    "absinthe",
    "joomscan",
    "cmsmap",
    "droopescan",
    "zap/",
    "owasp zap",
    "qualys",
    "detectify",
    "interactsh",
    "httpx - open-source",
    "censysinspect",
    "jorgee",
    "black widow",
    "blackwidow",
    "webvulnscan",
    "vega/",
    "n-stealth",
    "sf/",
    "nasl",
    "metis",
    ".nasl",
];

/// Checks a User-Agent value.
pub fn detect(user_agent: &str, rules: &Rules) -> Option<u32> {
    if !rules.on(913100) {
        return None;
    }
    let ua = user_agent.to_ascii_lowercase();
    any_in(SCANNERS, &ua).then_some(913100)
}
