//! Signals: SIGHUP reloads the config in place; SIGTERM stops accepting, lets in-flight
//! requests finish and exits as soon as none is left (at most `shutdown_timeout_s`);
//! SIGINT exits at once; SIGQUIT hands the listeners to a new process (Pingora's upgrade).

use crate::state::Shared;
use async_trait::async_trait;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};

/// Pingora's shutdown watch, extended with SIGHUP reloads and an early exit once drained.
#[derive(Debug)]
pub struct SignalWatch {
    /// Node state.
    pub shared: Arc<Shared>,
}

#[async_trait]
impl ShutdownSignalWatch for SignalWatch {
    async fn recv(&self) -> ShutdownSignal {
        let (Ok(mut hup), Ok(mut term), Ok(mut int), Ok(mut quit)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::quit()),
        ) else {
            tracing::error!("cannot install signal handlers; stopping");
            return ShutdownSignal::FastShutdown;
        };
        self.shared.ready.store(true, Ordering::Relaxed);
        tracing::info!("ready");
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    let shared = Arc::clone(&self.shared);
                    match tokio::task::spawn_blocking(move || shared.reload()).await {
                        Ok(Ok(generation)) => tracing::info!(generation, "SIGHUP: config reloaded"),
                        Ok(Err(e)) => tracing::error!(error = %e, "SIGHUP: reload refused; the running config stays"),
                        Err(e) => tracing::error!(error = %e, "SIGHUP: reload task failed"),
                    }
                }
                _ = term.recv() => {
                    self.shared.ready.store(false, Ordering::Relaxed);
                    exit_when_drained(Arc::clone(&self.shared));
                    return ShutdownSignal::GracefulTerminate;
                }
                _ = int.recv() => return ShutdownSignal::FastShutdown,
                _ = quit.recv() => return ShutdownSignal::GracefulUpgrade,
            }
        }
    }
}

/// Registers Weir's handlers for SIGHUP, SIGTERM, SIGINT and SIGQUIT before anything else
/// starts, so a signal that arrives while the node is starting cannot kill it with the
/// default action (it is ignored until [`SignalWatch`] listens and `/ready` says so).
pub fn install_early() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async {
        for kind in [
            SignalKind::hangup(),
            SignalKind::terminate(),
            SignalKind::interrupt(),
            SignalKind::quit(),
        ] {
            // The handler stays registered after the stream is dropped.
            drop(signal(kind)?);
        }
        Ok(())
    })
}

/// Pingora waits its whole grace period after SIGTERM; this exits as soon as no request is
/// in flight (the listeners are already closed by then), or lets the grace period end it.
fn exit_when_drained(shared: Arc<Shared>) {
    let started = Instant::now();
    std::thread::spawn(move || {
        // Give Pingora a moment to stop its listeners before counting.
        std::thread::sleep(Duration::from_millis(200));
        loop {
            if shared.metrics.in_flight.get() <= 0 {
                tracing::info!(
                    after_ms = started.elapsed().as_millis() as u64,
                    "SIGTERM: all requests finished, exiting"
                );
                crate::logging::flush();
                std::process::exit(0);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}
