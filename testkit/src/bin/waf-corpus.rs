//! `waf-corpus`: runs the WAF corpus through a real Weir node and prints the block-rate
//! table (Markdown). Starts a test backend and a node with the WAF plugin on one site.
//!
//! Usage: `waf-corpus [--weir BIN] [--plugin WASM] [--corpus DIR] [--paranoia N] [--concurrency N]`
//! (defaults: `$WEIR_BIN` or `target/debug/weir` under `$CARGO_TARGET_DIR`,
//! `plugins/dist/waf.wasm`, `tests/data/waf-corpus`, paranoia 2, 16 requests in flight).

use std::path::PathBuf;
use std::time::Instant;
use weir_testkit::{waf_corpus, Backend, NodeBuilder};

struct Args {
    weir: PathBuf,
    plugin: PathBuf,
    corpus: PathBuf,
    paranoia: u8,
    concurrency: usize,
}

fn parse_args() -> Result<Args, String> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo.join("target"));
    let mut args = Args {
        weir: std::env::var("WEIR_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|_| target.join("debug/weir")),
        plugin: repo.join("plugins/dist/waf.wasm"),
        corpus: repo.join("tests/data/waf-corpus"),
        paranoia: 2,
        concurrency: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--weir" => args.weir = value.into(),
            "--plugin" => args.plugin = value.into(),
            "--corpus" => args.corpus = value.into(),
            "--paranoia" => {
                args.paranoia = value
                    .parse()
                    .map_err(|_| format!("--paranoia: not a number: {value}"))?
            }
            "--concurrency" => {
                args.concurrency = value
                    .parse()
                    .map_err(|_| format!("--concurrency: not a number: {value}"))?
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("waf-corpus: {e}");
            std::process::exit(2);
        }
    };
    let records = match waf_corpus::load(&args.corpus) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("waf-corpus: {e}");
            std::process::exit(1);
        }
    };
    let backend = Backend::start("corpus").await;
    let config = format!("{{ paranoia = {} }}", args.paranoia);
    let site = waf_corpus::site_toml(backend.addr(), &args.plugin, &config);
    let node = match NodeBuilder::new(&args.weir).try_start(&site).await {
        Ok(n) => n,
        Err(log) => {
            eprintln!("waf-corpus: the node did not start:\n{log}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let report = waf_corpus::run(node.http, &records, args.concurrency).await;
    println!(
        "WAF corpus through the proxy ({} records, paranoia {}, {:.1}s):\n",
        report.rows.values().map(|t| t.total).sum::<usize>(),
        args.paranoia,
        started.elapsed().as_secs_f64()
    );
    print!("{}", report.table());
    if !report.false_positives.is_empty() {
        println!(
            "Blocked benign records: {}",
            report.false_positives.join(", ")
        );
    }
}
