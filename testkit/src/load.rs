//! A bounded concurrent request loop: `total` GETs with `concurrency` in flight.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// The result of one request: its status and body, or the client error.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// An HTTP answer.
    Answer {
        /// Status code.
        status: u16,
        /// Body text.
        body: String,
    },
    /// No HTTP answer (connection refused, reset, timeout).
    Failed(String),
}

impl Outcome {
    /// True for a 2xx answer.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Answer { status, .. } if (200..300).contains(status))
    }

    /// The first word of the body: the name of the test backend that answered.
    pub fn backend(&self) -> Option<&str> {
        match self {
            Outcome::Answer { body, .. } => body.split(' ').next(),
            Outcome::Failed(_) => None,
        }
    }
}

/// Sends `total` GETs to `url` with `concurrency` in flight and returns every outcome.
pub async fn hammer(
    client: &reqwest::Client,
    url: &str,
    total: usize,
    concurrency: usize,
) -> Vec<Outcome> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let client = client.clone();
        let url = url.to_string();
        let next = Arc::clone(&next);
        workers.spawn(async move {
            let mut out = Vec::new();
            while next.fetch_add(1, Relaxed) < total {
                out.push(get(&client, &url).await);
            }
            out
        });
    }
    let mut all = Vec::with_capacity(total);
    while let Some(part) = workers.join_next().await {
        all.extend(part.expect("load worker"));
    }
    all
}

/// One GET.
pub async fn get(client: &reqwest::Client, url: &str) -> Outcome {
    match client.get(url).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.text().await {
                Ok(body) => Outcome::Answer { status, body },
                Err(e) => Outcome::Failed(format!("body: {e}")),
            }
        }
        Err(e) => Outcome::Failed(format!("{e:?}")),
    }
}
