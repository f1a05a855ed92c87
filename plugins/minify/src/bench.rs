//! Native throughput of the minifiers on the test pages (the baseline for the Wasm numbers in
//! docs/benchmarks.md; bench/minify.sh runs both). Run: `CARGO_PROFILE_RELEASE_PANIC=unwind
//! cargo test -p minify --release --target x86_64-unknown-linux-gnu -- --ignored --nocapture
//! bench` (build-std with the workspace's panic=abort release profile cannot build the test
//! harness).
use crate::config::{Config, Kind};
use crate::correctness::{page, PAGES};
use crate::{minify_body, Outcome};
use std::time::{Duration, Instant};

/// Minifies `text` repeatedly for at least `min` (and 200 times) and returns (output bytes,
/// MB/s at the median call), the statistic `weir plugin bench` reports for Wasm.
fn measure(kind: Kind, text: &str, min: Duration) -> (usize, f64) {
    let config = Config::default();
    let out = match minify_body(kind, &config, text.as_bytes()) {
        Outcome::Smaller(out) => out.len(),
        _ => text.len(),
    };
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < min || samples.len() < 200 {
        let call = Instant::now();
        std::hint::black_box(minify_body(
            kind,
            &config,
            std::hint::black_box(text.as_bytes()),
        ));
        samples.push(call.elapsed());
    }
    samples.sort_unstable();
    let p50 = samples[samples.len() / 2].as_secs_f64();
    (out, text.len() as f64 / p50 / 1e6)
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn bench_native_throughput() {
    let mut files: Vec<(&str, Kind)> = PAGES.iter().map(|p| (*p, Kind::Html)).collect();
    files.extend([
        ("site.css", Kind::Css),
        ("app.js", Kind::Js),
        ("products.json", Kind::Json),
    ]);
    println!("| file | bytes | minified | saved | native MB/s |\n|---|---:|---:|---:|---:|");
    for (name, kind) in files {
        let text = page(name);
        let (out, mbps) = measure(kind, &text, Duration::from_millis(500));
        let saved = 100.0 * (text.len() - out) as f64 / text.len() as f64;
        println!(
            "| {name} | {} | {out} | {saved:.1} % | {mbps:.1} |",
            text.len()
        );
    }
}
