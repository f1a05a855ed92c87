//! Checks that a file is a Weir plugin this host can run: a component (not a core module),
//! under the size limit, importing nothing but `weir:plugin/host` and `weir:plugin/types`
//! (no WASI filesystem, network, clocks or environment), exporting `weir:plugin/filter` of a
//! compatible 0.1.x version, and compiling within the time limit. Each refusal names why.

use std::sync::mpsc;
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::Engine;

/// Limits a plugin must meet.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted file.
    pub max_bytes: usize,
    /// Longest accepted compilation.
    pub compile_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 << 20,
            compile_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a file is not an acceptable plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Over the size limit.
    #[error("the file is {size} bytes; plugins may be at most {limit} bytes")]
    TooLarge {
        /// File size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A core module, not a component.
    #[error(
        "this is a core WebAssembly module, not a component; build it with `weir plugin build`"
    )]
    CoreModule,
    /// Not WebAssembly at all.
    #[error("not a WebAssembly component (bad magic bytes)")]
    NotWasm,
    /// An import the host does not provide.
    #[error("imports `{0}`, which Weir does not provide: plugins may import only weir:plugin/host and weir:plugin/types (no WASI)")]
    ForbiddenImport(String),
    /// The filter interface is missing or of another major/minor line.
    #[error("does not export weir:plugin/filter@0.1.x (exports: {0})")]
    MissingFilter(String),
    /// Compilation failed.
    #[error("does not compile: {0}")]
    Compile(String),
    /// Compilation took too long.
    #[error("did not compile within {0:?}")]
    CompileTimeout(Duration),
}

/// True for a `weir:plugin/<iface>@0.1.x` name.
fn is_contract(name: &str, interface: &str) -> bool {
    name.strip_prefix("weir:plugin/")
        .and_then(|rest| rest.strip_prefix(interface))
        .and_then(|rest| rest.strip_prefix("@0.1."))
        .is_some_and(|patch| {
            !patch.is_empty()
                && patch
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'-' || b.is_ascii_alphanumeric())
        })
}

/// The checks that need no compilation: size, magic bytes, component rather than module.
pub fn precheck(bytes: &[u8], limits: &Limits) -> Result<(), ValidationError> {
    if bytes.len() > limits.max_bytes {
        return Err(ValidationError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if !bytes.starts_with(b"\0asm") {
        return Err(ValidationError::NotWasm);
    }
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(ValidationError::CoreModule);
    }
    Ok(())
}

/// The checks on a compiled component: nothing imported but the Weir host, and the filter
/// interface exported.
pub fn check_interface(engine: &Engine, component: &Component) -> Result<(), ValidationError> {
    let ty = component.component_type();
    for (name, _) in ty.imports(engine) {
        if !(is_contract(name, "host") || is_contract(name, "types")) {
            return Err(ValidationError::ForbiddenImport(name.to_string()));
        }
    }
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    if !exports.iter().any(|n| is_contract(n, "filter")) {
        return Err(ValidationError::MissingFilter(exports.join(", ")));
    }
    Ok(())
}

/// Validates and compiles `bytes`; returns the compiled component.
pub fn validate(
    engine: &Engine,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Component, ValidationError> {
    precheck(bytes, limits)?;
    let component = compile_with_timeout(engine, bytes, limits.compile_timeout)?;
    check_interface(engine, &component)?;
    Ok(component)
}

fn compile_with_timeout(
    engine: &Engine,
    bytes: &[u8],
    limit: Duration,
) -> Result<Component, ValidationError> {
    let (tx, rx) = mpsc::channel();
    let engine = engine.clone();
    let bytes = bytes.to_vec();
    std::thread::spawn(move || {
        let _ = tx.send(Component::new(&engine, &bytes).map_err(|e| format!("{e:#}")));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(ValidationError::Compile(e)),
        Err(_) => Err(ValidationError::CompileTimeout(limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::is_contract;

    #[test]
    fn contract_names_accept_any_0_1_patch() {
        assert!(is_contract("weir:plugin/host@0.1.0", "host"));
        assert!(is_contract("weir:plugin/filter@0.1.7", "filter"));
        assert!(!is_contract("weir:plugin/filter@0.2.0", "filter"));
        assert!(!is_contract("weir:plugin/filter@1.1.0", "filter"));
        assert!(!is_contract("wasi:filesystem/types@0.2.0", "types"));
        assert!(!is_contract("weir:plugin/host", "host"));
    }
}
