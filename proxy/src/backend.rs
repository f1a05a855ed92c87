//! Run-time state of one backend: health, ejection, drain, weight and in-flight count.
//!
//! A backend is *available* when it is not drained, its active check says up, it is not
//! passively ejected, and its weight is above zero. All fields are atomics: the request path
//! reads them without locks, the health checker and admin API write them.

use crate::clock::now_ms;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// One backend of a pool.
#[derive(Debug)]
pub struct BackendState {
    /// `host:port` as configured.
    pub addr: String,
    /// The address it resolved to when the config was loaded.
    pub socket: std::net::SocketAddr,
    /// Speak TLS to it.
    pub tls: bool,
    /// Server name for TLS (and the Host of active checks).
    pub sni: String,
    weight: AtomicU32,
    in_flight: AtomicU32,
    active_up: AtomicBool,
    ejected_until_ms: AtomicU64,
    draining: AtomicBool,
    passes_in_row: AtomicU32,
    fails_in_row: AtomicU32,
    check_running: AtomicBool,
    served: AtomicU64,
}

/// What the admin API shows of a backend.
#[derive(Debug, Serialize)]
pub struct BackendStatus {
    /// `host:port`.
    pub addr: String,
    /// Takes new requests now.
    pub available: bool,
    /// The active check's verdict (true when there is no active check).
    pub healthy: bool,
    /// Milliseconds left of a passive ejection (0 when not ejected).
    pub ejected_for_ms: u64,
    /// Drained by an operator: no new requests.
    pub draining: bool,
    /// Requests being served now.
    pub in_flight: u32,
    /// Current weight.
    pub weight: u32,
    /// Requests sent to it since it was configured.
    pub served: u64,
}

impl BackendState {
    /// A backend that starts healthy (an active check may take it down).
    pub fn new(
        addr: String,
        socket: std::net::SocketAddr,
        weight: u32,
        tls: bool,
        sni: String,
    ) -> Self {
        BackendState {
            addr,
            socket,
            tls,
            sni,
            weight: AtomicU32::new(weight),
            in_flight: AtomicU32::new(0),
            active_up: AtomicBool::new(true),
            ejected_until_ms: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            passes_in_row: AtomicU32::new(0),
            fails_in_row: AtomicU32::new(0),
            check_running: AtomicBool::new(false),
            served: AtomicU64::new(0),
        }
    }

    /// True when it may take a new request.
    pub fn is_available(&self) -> bool {
        self.is_available_at(now_ms())
    }

    fn is_available_at(&self, now: u64) -> bool {
        !self.draining.load(Relaxed)
            && self.active_up.load(Relaxed)
            && now >= self.ejected_until_ms.load(Relaxed)
            && self.weight.load(Relaxed) > 0
    }

    /// Current weight.
    pub fn weight(&self) -> u32 {
        self.weight.load(Relaxed)
    }

    /// Sets the weight (admin API or config reload).
    pub fn set_weight(&self, weight: u32) {
        self.weight.store(weight, Relaxed);
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Relaxed)
    }

    /// Stops (true) or resumes (false) new requests to it.
    pub fn set_draining(&self, draining: bool) {
        self.draining.store(draining, Relaxed);
    }

    /// Passive check: takes it out of rotation for `for_ms`.
    pub fn eject(&self, for_ms: u64) {
        self.ejected_until_ms
            .fetch_max(now_ms().saturating_add(for_ms), Relaxed);
    }

    /// The active check's verdict.
    pub fn is_healthy(&self) -> bool {
        self.active_up.load(Relaxed)
    }

    /// Records one active check; flips the verdict after `fail_after` failures or
    /// `pass_after` passes in a row. Returns true when the verdict changed.
    pub fn record_check(&self, passed: bool, fail_after: u32, pass_after: u32) -> bool {
        if passed {
            self.fails_in_row.store(0, Relaxed);
            let passes = self.passes_in_row.fetch_add(1, Relaxed).saturating_add(1);
            if !self.active_up.load(Relaxed) && passes >= pass_after {
                self.active_up.store(true, Relaxed);
                // A backend the active check brings back is trusted again at once.
                self.ejected_until_ms.store(0, Relaxed);
                return true;
            }
        } else {
            self.passes_in_row.store(0, Relaxed);
            let fails = self.fails_in_row.fetch_add(1, Relaxed).saturating_add(1);
            if self.active_up.load(Relaxed) && fails >= fail_after {
                self.active_up.store(false, Relaxed);
                return true;
            }
        }
        false
    }

    /// Claims the right to run an active check; false when one is still running.
    pub fn begin_check(&self) -> bool {
        !self.check_running.swap(true, Relaxed)
    }

    /// Releases the claim taken by [`Self::begin_check`].
    pub fn end_check(&self) {
        self.check_running.store(false, Relaxed);
    }

    /// Counts a request in flight until the guard drops.
    pub fn acquire(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Relaxed);
        self.served.fetch_add(1, Relaxed);
        InFlight(Arc::clone(self))
    }

    /// A snapshot for the admin API.
    pub fn status(&self) -> BackendStatus {
        let now = now_ms();
        BackendStatus {
            addr: self.addr.clone(),
            available: self.is_available_at(now),
            healthy: self.is_healthy(),
            ejected_for_ms: self.ejected_until_ms.load(Relaxed).saturating_sub(now),
            draining: self.draining.load(Relaxed),
            in_flight: self.in_flight(),
            weight: self.weight(),
            served: self.served.load(Relaxed),
        }
    }
}

/// A request in flight on a backend; dropping it ends the count.
#[derive(Debug)]
pub struct InFlight(Arc<BackendState>);

impl InFlight {
    /// The backend this request went to.
    pub fn backend(&self) -> &Arc<BackendState> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> Arc<BackendState> {
        Arc::new(BackendState::new(
            "127.0.0.1:1".into(),
            ([127, 0, 0, 1], 1).into(),
            1,
            false,
            "x".into(),
        ))
    }

    #[test]
    fn in_flight_counts_until_the_guard_drops() {
        let b = backend();
        let g1 = b.acquire();
        let g2 = b.acquire();
        assert_eq!(b.in_flight(), 2);
        drop(g1);
        assert_eq!(b.in_flight(), 1);
        drop(g2);
        assert_eq!(b.in_flight(), 0);
    }

    #[test]
    fn active_checks_flip_after_the_configured_counts() {
        let b = backend();
        assert!(!b.record_check(false, 2, 2));
        assert!(b.is_available());
        assert!(b.record_check(false, 2, 2));
        assert!(!b.is_available());
        assert!(!b.record_check(true, 2, 2));
        assert!(b.record_check(true, 2, 2));
        assert!(b.is_available());
    }

    #[test]
    fn ejection_drain_and_zero_weight_remove_a_backend() {
        let b = backend();
        b.eject(60_000);
        assert!(!b.is_available());
        assert!(b.status().ejected_for_ms > 0);
        let b = backend();
        b.set_draining(true);
        assert!(!b.is_available());
        b.set_draining(false);
        b.set_weight(0);
        assert!(!b.is_available());
    }
}
