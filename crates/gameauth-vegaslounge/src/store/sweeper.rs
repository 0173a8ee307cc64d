//! A background task that drops expired records periodically.

use std::sync::Arc;
use std::time::Duration;

use gameauth_core::Clock;

use super::GrantStore;

/// Stops the sweeper task when dropped (or when [`stop`](Self::stop) is called).
#[derive(Debug)]
pub struct SweeperHandle {
    task: tokio::task::JoinHandle<()>,
}

impl SweeperHandle {
    /// Stops the task.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for SweeperHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs [`GrantStore::sweep_expired`] every `every` on the current tokio runtime, with the time
/// from `clock`. A failed sweep is logged and retried at the next tick.
pub fn spawn_sweeper(
    store: Arc<dyn GrantStore>,
    clock: Arc<dyn Clock>,
    every: Duration,
) -> SweeperHandle {
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.sweep_expired(clock.now()).await {
                Ok(n) if n > 0 => tracing::debug!(dropped = n, "swept expired grant records"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeping expired grant records failed"),
            }
        }
    });
    SweeperHandle { task }
}
