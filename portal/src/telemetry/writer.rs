//! Group commit for heartbeats: handlers hand their checked heartbeat to one writer task and
//! await its commit through a oneshot; the writer takes every heartbeat waiting (up to
//! [`MAX_BATCH`]) and writes them in one transaction, so the database commits once per batch,
//! not once per heartbeat. When a batch fails, its heartbeats are retried one by one, so one
//! bad heartbeat fails alone.

use crate::store::{NodeBeat, Store};
use tokio::sync::{mpsc, oneshot};

/// Heartbeats written in one transaction at most.
const MAX_BATCH: usize = 256;
/// Heartbeats waiting for the writer before handlers wait to hand theirs over.
const QUEUE: usize = 4096;

struct Job {
    beat: NodeBeat,
    done: oneshot::Sender<Result<(), String>>,
}

/// The handle handlers write through (clones share the writer task).
#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on the current runtime; it ends when every handle is dropped.
    pub(super) fn start(store: Store) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, queue));
        Writer { jobs }
    }

    /// Writes `beat` with whatever else is waiting; returns once it is committed.
    pub(super) async fn write(&self, beat: NodeBeat) -> Result<(), String> {
        let (done, committed) = oneshot::channel();
        self.jobs
            .send(Job { beat, done })
            .await
            .map_err(|_| "the writer stopped".to_string())?;
        committed
            .await
            .map_err(|_| "the writer dropped the heartbeat".to_string())?
    }
}

async fn run(store: Store, mut queue: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (beats, dones): (Vec<NodeBeat>, Vec<_>) =
            jobs.drain(..).map(|j| (j.beat, j.done)).unzip();
        match store.write_heartbeats(&beats).await {
            Ok(()) => {
                for done in dones {
                    let _ = done.send(Ok(()));
                }
            }
            Err(e) if beats.len() == 1 => {
                for done in dones {
                    let _ = done.send(Err(e.to_string()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, heartbeats = beats.len(), "heartbeat batch failed; writing them one by one");
                for (beat, done) in beats.into_iter().zip(dones) {
                    let one = store
                        .write_heartbeats(std::slice::from_ref(&beat))
                        .await
                        .map_err(|e| e.to_string());
                    let _ = done.send(one);
                }
            }
        }
    }
}
