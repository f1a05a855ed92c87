//! A pool and its balancing algorithms: round robin, smooth weighted round robin (nginx's) and
//! least connections. Only available backends that this request has not tried yet are
//! candidates, so a dead or ejected backend never receives traffic and never stops the rest.

use crate::backend::BackendState;
use crate::clock::now_ms;
use parking_lot::Mutex;
use pingora::utils::tls::WrappedX509;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use weir_bundle::{Algorithm, Health};

/// Run-time state of one pool.
pub struct PoolState {
    /// Pool id.
    pub id: String,
    /// Balancing algorithm.
    pub algorithm: Algorithm,
    /// Pool used when this one has no available backend.
    pub backup: Option<String>,
    /// Health settings.
    pub health: Health,
    /// Backends, in config order.
    pub backends: Vec<Arc<BackendState>>,
    /// CA certificates that verify TLS backends (pingora's form).
    pub tls_ca: Option<Arc<[WrappedX509]>>,
    /// Client config for TLS active checks, verifying with the same roots.
    pub check_tls: Option<Arc<rustls::ClientConfig>>,
    next: AtomicUsize,
    smooth_current: Mutex<Vec<i64>>,
    next_check_ms: AtomicU64,
}

impl std::fmt::Debug for PoolState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolState")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .field("backends", &self.backends)
            .finish_non_exhaustive()
    }
}

impl PoolState {
    /// A pool over `backends`.
    pub fn new(
        id: String,
        algorithm: Algorithm,
        backup: Option<String>,
        health: Health,
        backends: Vec<Arc<BackendState>>,
        tls_ca: Option<Arc<[WrappedX509]>>,
        check_tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Self {
        let n = backends.len();
        PoolState {
            id,
            algorithm,
            backup,
            health,
            backends,
            tls_ca,
            check_tls,
            next: AtomicUsize::new(0),
            smooth_current: Mutex::new(vec![0; n]),
            next_check_ms: AtomicU64::new(0),
        }
    }

    /// Picks a backend that is available and not in `tried`; `None` when there is none.
    pub fn select(&self, tried: &[Arc<BackendState>]) -> Option<Arc<BackendState>> {
        let candidate =
            |b: &Arc<BackendState>| b.is_available() && !tried.iter().any(|t| Arc::ptr_eq(t, b));
        let n = self.backends.len();
        if n == 0 {
            return None;
        }
        let index = match self.algorithm {
            Algorithm::RoundRobin => {
                let start = self.next.fetch_add(1, Relaxed);
                (0..n)
                    .map(|k| (start + k) % n)
                    .find(|&i| candidate(&self.backends[i]))
            }
            Algorithm::LeastConn => {
                let start = self.next.fetch_add(1, Relaxed);
                (0..n)
                    .map(|k| (start + k) % n)
                    .filter(|&i| candidate(&self.backends[i]))
                    .min_by_key(|&i| self.backends[i].in_flight())
            }
            Algorithm::Weighted => self.select_smooth_weighted(candidate),
        };
        index.map(|i| Arc::clone(&self.backends[i]))
    }

    /// nginx's smooth weighted round robin over the candidates: each gains its weight, the
    /// largest wins and loses the total. Spreads a 95/5 split evenly instead of in bursts.
    fn select_smooth_weighted(
        &self,
        candidate: impl Fn(&Arc<BackendState>) -> bool,
    ) -> Option<usize> {
        let mut current = self.smooth_current.lock();
        let mut total: i64 = 0;
        let mut best: Option<usize> = None;
        for (i, b) in self.backends.iter().enumerate() {
            if !candidate(b) {
                continue;
            }
            let w = i64::from(b.weight());
            current[i] += w;
            total += w;
            if best.is_none_or(|j| current[i] > current[j]) {
                best = Some(i);
            }
        }
        if let Some(i) = best {
            current[i] -= total;
        }
        best
    }

    /// True (and schedules the next one) when an active check round is due.
    pub fn check_due(&self) -> bool {
        let now = now_ms();
        let due = self.next_check_ms.load(Relaxed);
        now >= due
            && self
                .next_check_ms
                .compare_exchange(due, now + self.health.interval_ms, Relaxed, Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(algorithm: Algorithm, weights: &[u32]) -> PoolState {
        let backends = weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let port = u16::try_from(i + 1).expect("few backends");
                Arc::new(BackendState::new(
                    format!("127.0.0.1:{port}"),
                    ([127, 0, 0, 1], port).into(),
                    *w,
                    false,
                    "x".into(),
                ))
            })
            .collect();
        PoolState::new(
            "p".into(),
            algorithm,
            None,
            Health::default(),
            backends,
            None,
            None,
        )
    }

    fn counts(p: &PoolState, n: usize) -> Vec<usize> {
        let mut c = vec![0; p.backends.len()];
        for _ in 0..n {
            let b = p.select(&[]).expect("a backend");
            let i = p
                .backends
                .iter()
                .position(|x| Arc::ptr_eq(x, &b))
                .expect("known");
            c[i] += 1;
        }
        c
    }

    #[test]
    fn round_robin_takes_turns() {
        assert_eq!(
            counts(&pool(Algorithm::RoundRobin, &[1, 1, 1]), 300),
            vec![100, 100, 100]
        );
    }

    #[test]
    fn smooth_weighted_splits_95_5_exactly_and_evenly() {
        let p = pool(Algorithm::Weighted, &[95, 5]);
        assert_eq!(counts(&p, 10_000), vec![9_500, 500]);
        // Smooth: the light backend never gets two requests in a row.
        let mut last_light = false;
        for _ in 0..200 {
            let light = Arc::ptr_eq(&p.select(&[]).expect("a backend"), &p.backends[1]);
            assert!(!(light && last_light));
            last_light = light;
        }
    }

    #[test]
    fn unavailable_and_tried_backends_are_skipped() {
        let p = pool(Algorithm::Weighted, &[95, 5]);
        p.backends[1].eject(60_000);
        assert_eq!(counts(&p, 1000), vec![1000, 0]);
        let tried = vec![Arc::clone(&p.backends[0])];
        assert!(p.select(&tried).is_none());
    }

    #[test]
    fn least_conn_prefers_the_idle_backend() {
        let p = pool(Algorithm::LeastConn, &[1, 1, 1]);
        let _a = p.backends[0].acquire();
        let _b = p.backends[2].acquire();
        for _ in 0..10 {
            assert!(Arc::ptr_eq(
                &p.select(&[]).expect("a backend"),
                &p.backends[1]
            ));
        }
    }
}
