//! Weir built-in plugin `router` (work in progress; see README.md).
#![forbid(unsafe_code)]
use weir_plugin_sdk::{export_plugin, Plugin};

struct Builtin;

impl Plugin for Builtin {}

export_plugin!(Builtin);
