//! Write Weir plugins in Rust.
//!
//! Implement [`Plugin`] for a type (every method has a default that does nothing) and export it
//! with [`export_plugin!`]:
//!
//! ```ignore
//! use weir_plugin_sdk::{export_plugin, header, reply, Plugin, Request, RequestAction};
//!
//! struct BlockBadBots;
//!
//! impl Plugin for BlockBadBots {
//!     fn on_request(req: Request) -> Vec<RequestAction> {
//!         match header(&req, "user-agent") {
//!             Some(ua) if ua.contains("badbot") => vec![reply(403, "no bots\n")],
//!             _ => vec![],
//!         }
//!     }
//! }
//!
//! export_plugin!(BlockBadBots);
//! ```
//!
//! The contract (WIT world `weir:plugin/plugin@0.1.0`) is documented in `sdk-wit/README.md`.
#![forbid(unsafe_code)]

wit_bindgen::generate!({
    path: "../../sdk-wit/wit",
    world: "plugin",
    pub_export_macro: true,
    export_macro_name: "export_plugin",
    default_bindings_module: "weir_plugin_sdk",
});

pub use exports::weir::plugin::filter::Guest;
pub use weir::plugin::host;
pub use weir::plugin::types::{
    BodyAction, Hooks, PluginCapabilities as Capabilities, LogLevel, Reply, Request, RequestAction, Response,
    ResponseAction,
};

/// A Weir plugin. Override what you need; the defaults continue unchanged.
pub trait Plugin {
    /// Hooks to call and body bytes to buffer. Default: only `on_request`, no body.
    fn capabilities() -> Capabilities {
        Capabilities {
            hooks: Hooks::REQUEST,
            max_body_bytes: 0,
        }
    }

    /// Receives the site's config for this plugin as JSON text (see [`parse_config`]).
    fn init(_config: String) -> Result<(), String> {
        Ok(())
    }

    /// Decides about a request; an empty list continues unchanged.
    fn on_request(_req: Request) -> Vec<RequestAction> {
        Vec::new()
    }

    /// Sees the buffered request body.
    fn on_request_body(_req: Request, _body: Vec<u8>, _complete: bool) -> BodyAction {
        BodyAction::Pass
    }

    /// Edits the response head; an empty list continues unchanged.
    fn on_response(_req: Request, _resp: Response) -> Vec<ResponseAction> {
        Vec::new()
    }

    /// Sees (and may replace) the buffered response body.
    fn on_response_body(_req: Request, _resp: Response, _body: Vec<u8>) -> BodyAction {
        BodyAction::Pass
    }
}

impl<T: Plugin> Guest for T {
    fn capabilities() -> Capabilities {
        <T as Plugin>::capabilities()
    }
    fn init(config: String) -> Result<(), String> {
        <T as Plugin>::init(config)
    }
    fn on_request(req: Request) -> Vec<RequestAction> {
        <T as Plugin>::on_request(req)
    }
    fn on_request_body(req: Request, body: Vec<u8>, complete: bool) -> BodyAction {
        <T as Plugin>::on_request_body(req, body, complete)
    }
    fn on_response(req: Request, resp: Response) -> Vec<ResponseAction> {
        <T as Plugin>::on_response(req, resp)
    }
    fn on_response_body(req: Request, resp: Response, body: Vec<u8>) -> BodyAction {
        <T as Plugin>::on_response_body(req, resp, body)
    }
}

/// The value of the first header named `name` (case-insensitive).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The value of request header `name`.
pub fn request_header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    header(&req.headers, name)
}

/// An action that answers with `status` and a plain-text `body`.
pub fn reply(status: u16, body: &str) -> RequestAction {
    RequestAction::Respond(Reply {
        status,
        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
    })
}

/// An action that sets request header `name` to `value`.
pub fn set_header(name: &str, value: &str) -> RequestAction {
    RequestAction::SetHeader((name.to_ascii_lowercase(), value.to_string()))
}

/// Parses the JSON config given to `init` into `T`, with a message naming what is wrong.
pub fn parse_config<T: serde::de::DeserializeOwned>(config: &str) -> Result<T, String> {
    let text = if config.trim().is_empty() { "{}" } else { config };
    serde_json::from_str(text).map_err(|e| format!("invalid plugin config: {e}"))
}

/// Writes to the node's log at `info`.
pub fn log(message: &str) {
    host::log(LogLevel::Info, message);
}
