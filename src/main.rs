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
        Command::CheckConfig { file } => match weir_proxy::load(&file, &Default::default()) {
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
        },
    }
}
