//! A Weir plugin. It blocks requests that carry a configured header value; change it to do
//! what you need. The contract is documented in sdk-wit/README.md.
use serde::Deserialize;
use std::sync::OnceLock;
use weir_plugin_sdk::{export_plugin, parse_config, reply, request_header, Plugin, Request, RequestAction};

/// The `config` table of `[[site.plugin]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Header to look at, e.g. "x-debug".
    header: String,
    /// Value that gets a 403.
    value: String,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

struct Filter;

impl Plugin for Filter {
    fn init(config: String) -> Result<(), String> {
        CONFIG
            .set(parse_config(&config)?)
            .map_err(|_| "init ran twice".to_string())
    }

    fn on_request(req: Request) -> Vec<RequestAction> {
        let Some(c) = CONFIG.get() else {
            return vec![];
        };
        match request_header(&req, &c.header) {
            Some(v) if v == c.value => vec![reply(403, "blocked by the plugin\n")],
            _ => vec![],
        }
    }
}

export_plugin!(Filter);
