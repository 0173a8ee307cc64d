//! When a connection's client cache may answer a read: only while Redis has recently proved
//! that the connection is alive and its invalidations are flowing.
//!
//! The `redis` crate answers a cached read without touching the socket, so on its own it would
//! keep answering from a connection that died silently (a partition, a hung primary) until each
//! entry's maximum age. A heartbeat closes that gap: every [`HEARTBEAT_EVERY`] it sends `PING`
//! on the cached lane (to every primary on a Cluster). Redis sends an invalidation before it
//! answers any command that comes after the write, and the crate applies pushes in the order
//! they arrive, so an answered `PING` proves that every write made before it was sent has
//! already dropped the entries it touched. A read uses the cache only while the last answered
//! `PING` was sent less than [`TRUST_FOR`] ago; otherwise it goes to Redis, where a dead
//! connection fails (and its reconnection empties the cache) like any read without a cache.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use redis::Cmd;
use redis::cluster_routing::{MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo};

use super::connection::Lane;

/// How often the heartbeat proves the connection.
pub(crate) const HEARTBEAT_EVERY: Duration = Duration::from_millis(200);

/// How long one answered `PING` lets reads use the cache, counted from when it was sent.
pub(crate) const TRUST_FOR: Duration = Duration::from_secs(1);

/// The proof of liveness shared by the clones of one connection.
#[derive(Debug)]
pub(crate) struct CacheGuard {
    started: Instant,
    /// When (milliseconds after `started`, plus one; 0 = never) the last answered `PING` was
    /// sent.
    proved_at: AtomicU64,
}

impl CacheGuard {
    /// A guard whose heartbeat runs on `lane` until the last clone of the guard is dropped.
    /// Its first proof is the `PING` `connect` sends, made at `connected`.
    pub(crate) fn start(lane: Lane, connected: Instant, timeout: Duration) -> Arc<Self> {
        let guard = Arc::new(Self {
            started: connected,
            proved_at: AtomicU64::new(1),
        });
        tokio::spawn(heartbeat(Arc::downgrade(&guard), lane, timeout));
        guard
    }

    /// Whether a read may be answered from the cache now.
    pub(crate) fn trusted(&self) -> bool {
        self.trusted_at(Instant::now())
    }

    fn trusted_at(&self, now: Instant) -> bool {
        let proved = self.proved_at.load(Ordering::Acquire);
        if proved == 0 {
            return false;
        }
        let sent = self.started + Duration::from_millis(proved - 1);
        now.saturating_duration_since(sent) < TRUST_FOR
    }

    fn prove(&self, sent: Instant) {
        let ms = u64::try_from(sent.saturating_duration_since(self.started).as_millis())
            .unwrap_or(u64::MAX - 1);
        self.proved_at.fetch_max(ms + 1, Ordering::AcqRel);
    }
}

async fn heartbeat(guard: Weak<CacheGuard>, mut lane: Lane, timeout: Duration) {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if guard.strong_count() == 0 {
            return;
        }
        let sent = Instant::now();
        // A late or failed answer proves nothing: the trust simply runs out.
        let answered = tokio::time::timeout(timeout.min(TRUST_FOR), ping(&mut lane))
            .await
            .is_ok_and(|r| r.is_ok());
        let Some(guard) = guard.upgrade() else {
            return;
        };
        if answered {
            guard.prove(sent);
        }
    }
}

/// `PING` on `lane`; on a Cluster, on every primary.
pub(super) async fn ping(lane: &mut Lane) -> redis::RedisResult<()> {
    let mut cmd = Cmd::new();
    cmd.arg("PING");
    match lane {
        Lane::Cluster(cluster) => cluster
            .route_command(
                cmd,
                RoutingInfo::MultiNode((
                    MultipleNodeRoutingInfo::AllMasters,
                    Some(ResponsePolicy::AllSucceeded),
                )),
            )
            .await
            .map(drop),
        other => cmd.query_async::<()>(other).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> CacheGuard {
        CacheGuard {
            started: Instant::now(),
            proved_at: AtomicU64::new(1),
        }
    }

    #[test]
    fn trust_runs_out_one_window_after_the_last_proof_was_sent() {
        let g = guard();
        assert!(g.trusted_at(g.started));
        assert!(g.trusted_at(g.started + TRUST_FOR - Duration::from_millis(1)));
        assert!(!g.trusted_at(g.started + TRUST_FOR));
        g.prove(g.started + Duration::from_secs(5));
        assert!(g.trusted_at(g.started + Duration::from_secs(5) + TRUST_FOR / 2));
        assert!(!g.trusted_at(g.started + Duration::from_secs(5) + TRUST_FOR));
    }

    #[test]
    fn an_older_proof_arriving_late_never_moves_the_trust_back() {
        let g = guard();
        g.prove(g.started + Duration::from_secs(10));
        g.prove(g.started + Duration::from_secs(2));
        assert!(g.trusted_at(g.started + Duration::from_secs(10) + TRUST_FOR / 2));
    }
}
