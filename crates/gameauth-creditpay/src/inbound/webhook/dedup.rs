//! De-duplication of webhook deliveries by `event_id`: the store trait and the in-memory store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use gameauth_core::{Clock, SystemClock};

use crate::error::Error;

/// What the de-duplication store knows of an event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Neither processed nor being processed: claimed now for this delivery, process it.
    New,
    /// Processed: acknowledge without processing.
    Duplicate,
    /// Another delivery holds a live claim and is being processed: answer non-2xx without
    /// processing, so Credit Pay delivers it again (an event is acknowledged only once it was
    /// processed).
    InProgress,
}

/// Remembers webhook event ids: claimed while a delivery is processed, then processed.
///
/// Implementations must be atomic across every instance that receives webhooks, and must report
/// failures as [`Error::Store`] rather than guess. A claim lapses by itself after its lease, so a
/// delivery whose processing failed (or whose instance died) never blocks the event for longer
/// than that, even if [`forget`](Self::forget) could not run. `RedisDedupStore` (feature `redis`) keeps one key
/// per event: `processing` with the lease as TTL, then `done` with the de-duplication TTL.
#[async_trait]
pub trait WebhookDedupStore: Send + Sync {
    /// Claims `event_id` for `lease` unless it is processed ([`Recorded::Duplicate`]) or
    /// claimed by a live lease ([`Recorded::InProgress`]), in one atomic step.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Store`] when the store cannot answer (unreachable, too slow) or `lease`
    /// cannot be represented; the handler then answers 503 and does not process the event.
    async fn claim(&self, event_id: &str, lease: Duration) -> Result<Recorded, Error>;

    /// Records `event_id` as processed for `ttl`, replacing its claim.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Store`] when the store cannot record it or `ttl` cannot be represented;
    /// the handler still acknowledges the processed event and only logs the failure.
    async fn complete(&self, event_id: &str, ttl: Duration) -> Result<(), Error>;

    /// Drops the claim of `event_id`, so that a redelivery is processed again; called when
    /// processing the claimed event failed.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Store`] when the store cannot drop the claim; the handler logs it and
    /// relies on the claim lapsing after its lease.
    async fn forget(&self, event_id: &str) -> Result<(), Error>;
}

/// An in-process [`WebhookDedupStore`] for a single instance.
#[derive(Debug)]
pub struct MemoryDedupStore {
    clock: Arc<dyn Clock>,
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    /// Per event id: whether it was processed, and until when the record (claim or done) holds.
    records: HashMap<String, (bool, SystemTime)>,
    purge_at_len: usize,
}

impl Default for MemoryDedupStore {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl MemoryDedupStore {
    /// An empty store whose records expire by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Mutex::new(MemoryState::default()),
        }
    }

    /// How many records are held (expired ones may linger until the next purge).
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // The state stays consistent under a poisoned lock: every update is a single map write.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl WebhookDedupStore for MemoryDedupStore {
    async fn claim(&self, event_id: &str, lease: Duration) -> Result<Recorded, Error> {
        let now = self.clock.now();
        let until = now
            .checked_add(lease)
            .ok_or_else(|| Error::Store("lease out of range".into()))?;
        let mut state = self.lock();
        if state.records.len() >= state.purge_at_len {
            // Amortised purge: only when the map doubled since the last one.
            state.records.retain(|_, (_, exp)| *exp > now);
            state.purge_at_len = (state.records.len() * 2).max(1024);
        }
        match state.records.get(event_id) {
            Some((true, exp)) if *exp > now => Ok(Recorded::Duplicate),
            Some((false, exp)) if *exp > now => Ok(Recorded::InProgress),
            _ => {
                state.records.insert(event_id.to_owned(), (false, until));
                Ok(Recorded::New)
            }
        }
    }

    async fn complete(&self, event_id: &str, ttl: Duration) -> Result<(), Error> {
        let until = self
            .clock
            .now()
            .checked_add(ttl)
            .ok_or_else(|| Error::Store("ttl out of range".into()))?;
        self.lock()
            .records
            .insert(event_id.to_owned(), (true, until));
        Ok(())
    }

    async fn forget(&self, event_id: &str) -> Result<(), Error> {
        let mut state = self.lock();
        // A processed record stays: only a claim is dropped.
        if state.records.get(event_id).is_some_and(|(done, _)| !done) {
            state.records.remove(event_id);
        }
        Ok(())
    }
}
