//! `weir`: one binary for every role. This file only parses the command line and dispatches.
#![forbid(unsafe_code)]

mod up;

use anyhow::Context;

/// mimalloc instead of glibc malloc: glibc's malloc/free were 17% of the proxy's CPU in a
/// profile of bench/proxy.sh (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
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
        /// The node config file (TOML; default weir.toml). With --data-dir: the node-local
        /// [proxy] settings only (optional), sites come from the portal.
        #[arg(long, short, env = "WEIR_CONFIG")]
        config: Option<PathBuf>,
        /// Listen address for plain HTTP (repeatable); replaces proxy.listen.
        #[arg(long)]
        listen: Vec<String>,
        /// Admin API address; replaces proxy.admin_listen.
        #[arg(long)]
        admin_listen: Option<String>,
        /// Take over from the node running with the same config (or data dir): start this one
        /// with --upgrade, then send the old one SIGQUIT; it hands over its listening sockets,
        /// finishes its requests and exits. No connection is refused in between.
        #[arg(long)]
        upgrade: bool,
        /// Run as a node managed by a portal, keeping its identity, last good bundle and
        /// plugins in this directory.
        #[arg(long, env = "WEIR_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// The portal's URL (to enroll; later read from the data dir).
        #[arg(long, env = "WEIR_PORTAL", requires = "data_dir")]
        portal: Option<String>,
        /// The one-time join token the portal showed when the node was created.
        #[arg(
            long,
            env = "WEIR_JOIN_TOKEN",
            requires = "data_dir",
            hide_env_values = true
        )]
        join_token: Option<String>,
    },
    /// Check a node config file and print every problem with its key path.
    CheckConfig {
        /// The node config file (TOML).
        file: PathBuf,
    },
    /// Work with plugins (WebAssembly components).
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run the portal (control plane web application and API).
    Portal(PortalArgs),
    /// Apply the portal's database migrations and exit.
    Migrate(PortalArgs),
    /// Run everything in one process for a first try: the portal (SQLite), a demo backend
    /// and one enrolled node serving the demo site.
    Up(up::UpArgs),
}

/// Where the portal's settings come from (file, then `WEIR_*` environment, then these flags).
#[derive(clap::Args)]
struct PortalArgs {
    /// The portal config file (TOML); defaults apply when unset.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// HTTP listen address (`ip:port`).
    #[arg(long)]
    listen: Option<String>,
    /// `sqlite:PATH` or `postgres://USER@HOST/DB`.
    #[arg(long)]
    database_url: Option<String>,
    /// Directory for the SQLite file and other local state.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The address users reach the portal at (links in emails).
    #[arg(long)]
    public_url: Option<String>,
}

impl PortalArgs {
    fn load(&self) -> anyhow::Result<weir_portal::PortalConfig> {
        let flags = weir_portal::Flags {
            listen: self.listen.clone(),
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            public_url: self.public_url.clone(),
        };
        Ok(weir_portal::PortalConfig::load(
            self.config.as_deref(),
            std::env::vars(),
            &flags,
        )?)
    }
}

/// Runs `weir portal` or `weir migrate` on a Tokio runtime of its own.
fn portal_command(args: &PortalArgs, migrate_only: bool) -> anyhow::Result<()> {
    let config = args.load()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        if migrate_only {
            let pool = weir_portal::db::Pool::connect(config.database_url().expose()).await?;
            pool.migrate().await?;
            println!("migrations applied ({})", pool.backend());
            Ok(())
        } else {
            Ok(weir_portal::serve(config).await?)
        }
    })
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
    /// Start a new plugin crate from the template.
    New {
        /// The plugin's name (a-z, 0-9, '-').
        name: String,
        /// Directory to create it in (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Build a plugin crate into a component (DIR/NAME.wasm) with the guest toolchain.
    Build {
        /// The crate directory.
        dir: PathBuf,
    },
    /// Measure the host's per-call cost of a plugin (chains of 1 and 4; warm and fresh instances).
    Bench {
        /// The component.
        file: PathBuf,
        /// Calls per measurement.
        #[arg(long, default_value_t = 20000)]
        iterations: usize,
        /// The plugin's config as JSON.
        #[arg(long, default_value = "{}")]
        config: String,
        /// A sample request as a JSON file (as for `weir plugin test`); default: a GET with ten
        /// headers.
        #[arg(long)]
        request: Option<PathBuf>,
        /// Measure `on-response-body` on this file (a 200 response) instead of `on-request`.
        #[arg(long)]
        response_body: Option<PathBuf>,
        /// The `Content-Type` of `--response-body`.
        #[arg(long, default_value = "text/html; charset=utf-8")]
        content_type: String,
    },
    /// Run a plugin's on-request on a sample request and print what it does.
    Test {
        /// The component.
        file: PathBuf,
        /// The sample request as JSON (method, host, path, query, headers, client_ip...).
        #[arg(long)]
        request: PathBuf,
        /// The plugin's config as JSON.
        #[arg(long, default_value = "{}")]
        config: String,
    },
}

const TEMPLATE_CARGO: &str = include_str!("../plugins/template/Cargo.toml");
const TEMPLATE_LIB: &str = include_str!("../plugins/template/src/lib.rs");
const GUEST_CARGO_CONFIG: &str = include_str!("../plugins/.cargo/config.toml");

fn plugin_new(name: &str, dir: Option<PathBuf>) -> anyhow::Result<()> {
    anyhow::ensure!(
        weir_sdk_wit::is_valid_plugin_name(name),
        "NAME must be 1-63 characters of a-z, 0-9 and '-' (got `{name}`)"
    );
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    anyhow::ensure!(!dir.exists(), "{} already exists", dir.display());
    let sdk = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/sdk");
    let cargo = TEMPLATE_CARGO
        .replace("name = \"template\"", &format!("name = \"{name}\""))
        .replace("path = \"../sdk\"", &format!("path = {:?}", sdk.display().to_string()))
        + "\n# A workspace of its own, so it builds wherever it lives.\n[workspace]\n\n[profile.release]\nopt-level = \"s\"\nlto = true\ncodegen-units = 1\npanic = \"abort\"\nstrip = true\n";
    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("creating {}", dir.display()))?;
    std::fs::create_dir_all(dir.join(".cargo"))?;
    std::fs::write(dir.join("Cargo.toml"), cargo)?;
    std::fs::write(dir.join("src/lib.rs"), TEMPLATE_LIB)?;
    std::fs::write(dir.join(".cargo/config.toml"), GUEST_CARGO_CONFIG)?;
    println!(
        "created {} — edit src/lib.rs, then `weir plugin build {}`",
        dir.display(),
        dir.display()
    );
    Ok(())
}

fn plugin_build(dir: &std::path::Path) -> anyhow::Result<()> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .with_context(|| format!("reading {}/Cargo.toml", dir.display()))?;
    let name = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("name = \"")?.strip_suffix('"'))
        .context("Cargo.toml has no package name")?
        .to_string();
    let target = dir.join("target");
    let status = std::process::Command::new("/usr/bin/cargo")
        .args(["build", "--release"])
        .current_dir(dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .context(
            "running Debian's /usr/bin/cargo (install the guest toolchain with plugins/build.sh)",
        )?;
    anyhow::ensure!(status.success(), "the guest build failed");
    let core = target.join(format!(
        "wasm32-unknown-unknown/release/{}.wasm",
        name.replace('-', "_")
    ));
    let bytes = std::fs::read(&core).with_context(|| format!("reading {}", core.display()))?;
    let component = weir_sdk_wit::componentize(&bytes)?;
    let out = dir.join(format!("{name}.wasm"));
    std::fs::write(&out, &component)?;
    println!(
        "{}: {} bytes, sha256 {}",
        out.display(),
        component.len(),
        weir_sdk_wit::sha256_hex(&component)
    );
    Ok(())
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
        PluginCommand::New { name, dir } => plugin_new(&name, dir)?,
        PluginCommand::Bench {
            file,
            iterations,
            config,
            request,
            response_body,
            content_type,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let response_body = response_body
                .map(|path| {
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
                })
                .transpose()?;
            let request = request
                .map(|path| {
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))
                })
                .transpose()?;
            let options = weir_proxy::BenchOptions {
                iterations,
                config,
                request,
                response_body,
                content_type,
            };
            let table = weir_proxy::bench_plugin(&bytes, &options)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            print!("{table}");
        }
        PluginCommand::Build { dir } => plugin_build(&dir)?,
        PluginCommand::Test {
            file,
            request,
            config,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let request = std::fs::read_to_string(&request)
                .with_context(|| format!("reading {}", request.display()))?;
            let out = weir_proxy::try_plugin(&bytes, &config, &request)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!("{out}");
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

/// Prints an error chain and turns it into the exit status.
fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Proxy {
            config,
            listen,
            admin_listen,
            upgrade,
            data_dir,
            portal,
            join_token,
        } => {
            weir_proxy::init_logging();
            let overrides = weir_proxy::Overrides {
                listen: (!listen.is_empty()).then_some(listen),
                admin_listen,
                upgrade,
            };
            let result = match data_dir {
                Some(data_dir) => weir_proxy::run_managed(
                    weir_proxy::ManagedOptions {
                        data_dir: data_dir.clone(),
                        portal,
                        join_token: join_token.map(weir_bundle::Secret::new),
                        settings: config,
                    },
                    overrides,
                )
                .with_context(|| format!("weir proxy --data-dir {}", data_dir.display())),
                None => {
                    let config = config.unwrap_or_else(|| PathBuf::from("weir.toml"));
                    weir_proxy::run(config.clone(), overrides)
                        .with_context(|| format!("weir proxy --config {}", config.display()))
                }
            };
            exit_code(result)
        }
        Command::Portal(args) => {
            weir_proxy::init_logging();
            exit_code(portal_command(&args, false).context("weir portal"))
        }
        Command::Migrate(args) => exit_code(portal_command(&args, true).context("weir migrate")),
        Command::Up(args) => {
            weir_proxy::init_logging();
            exit_code(up::run(args).context("weir up"))
        }
        Command::Plugin(cmd) => exit_code(plugin_command(cmd)),
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
