//! The JSON log on stdout (access log and events). Lines go through a background writer so a
//! slow or blocked stdout never stalls request handling; if its buffer fills, lines are dropped
//! (and counted by tracing-appender) rather than delaying traffic. [`flush`] before exiting.

use parking_lot::Mutex;
use tracing_appender::non_blocking::WorkerGuard;

static GUARD: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Sets up the JSON log on stdout (`RUST_LOG` filters; default `info`). Once per process.
pub fn init() {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_writer(writer)
        .try_init()
        .is_ok();
    if installed {
        *GUARD.lock() = Some(guard);
    }
}

/// Writes out every buffered line; call right before the process exits.
pub fn flush() {
    drop(GUARD.lock().take());
}
