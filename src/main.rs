//! `weir`: one binary for every role. This file only parses the command line and dispatches.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "weir", version, about = "Weir: edge proxy and control plane")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a proxy node.
    Proxy {
        /// The node config file (TOML).
        #[arg(long, short, env = "WEIR_CONFIG", default_value = "weir.toml")]
        config: PathBuf,
        /// Listen address for plain HTTP (repeatable); replaces proxy.listen.
        #[arg(long)]
        listen: Vec<String>,
        /// Admin API address; replaces proxy.admin_listen.
        #[arg(long)]
        admin_listen: Option<String>,
    },
    /// Check a node config file and print every problem with its key path.
    CheckConfig {
        /// The node config file (TOML).
        file: PathBuf,
    },
    /// Work with plugins (WebAssembly components).
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Turn a guest's core module (wasm32-unknown-unknown build) into a component.
    Componentize {
        /// The core module.
        input: PathBuf,
        /// Where to write the component.
        output: PathBuf,
    },
    /// Check that a file is a plugin Weir can run (the same checks as at upload).
    Check {
        /// The component.
        file: PathBuf,
    },
}

fn plugin_command(cmd: PluginCommand) -> anyhow::Result<()> {
    match cmd {
        PluginCommand::Componentize { input, output } => {
            let core =
                std::fs::read(&input).with_context(|| format!("reading {}", input.display()))?;
            let component =
                weir_sdk_wit::componentize(&core).with_context(|| input.display().to_string())?;
            std::fs::write(&output, &component)
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "{}: {} bytes, sha256 {}",
                output.display(),
                component.len(),
                weir_sdk_wit::sha256_hex(&component)
            );
        }
        PluginCommand::Check { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut config = wasmtime::Config::new();
            config.wasm_component_model(true);
            let engine =
                wasmtime::Engine::new(&config).map_err(|e| anyhow::anyhow!("wasmtime: {e}"))?;
            weir_sdk_wit::validate(&engine, &bytes, &weir_sdk_wit::Limits::default())
                .with_context(|| file.display().to_string())?;
            println!(
                "{}: ok, version {}",
                file.display(),
                weir_sdk_wit::sha256_hex(&bytes)
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Proxy {
            config,
            listen,
            admin_listen,
        } => {
            weir_proxy::init_logging();
            let overrides = weir_proxy::Overrides {
                listen: (!listen.is_empty()).then_some(listen),
                admin_listen,
            };
            match weir_proxy::run(config.clone(), overrides)
                .with_context(|| format!("weir proxy --config {}", config.display()))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Plugin(cmd) => match plugin_command(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::CheckConfig { file } => {
            match weir_proxy::PluginEngine::new(weir_proxy::Metrics::new())
                .map_err(weir_proxy::LoadError::Plugins)
                .and_then(|engine| weir_proxy::load(&file, &Default::default(), &engine))
            {
                Ok(loaded) => {
                    println!(
                        "{}: ok ({} sites, {} pools)",
                        file.display(),
                        loaded.config.bundle.sites.len(),
                        loaded.config.bundle.pools.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(weir_proxy::LoadError::Invalid(problems)) => {
                    eprintln!("{}: {} problem(s)", file.display(), problems.0.len());
                    for p in &problems.0 {
                        eprintln!("  {p}");
                    }
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
