//! Item 4c: latency while the memory store is large and being swept. The same mixed load —
//! refresh rotation on half the connections, `/account` on the other half — against a server
//! whose store holds over a million rotated refresh tokens, and against one on a fresh store;
//! both stores are swept every [`SWEEP_EVERY`], so sweeps run inside every measured window.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use gameauth_vegaslounge::store::{
    ACCESS_RETENTION, AccessGrant, GrantId, GrantStore, NewCode, RedeemCode, Redeemed,
    RotateRefresh, Rotated, StoreError, SweeperHandle, TokenHash, spawn_sweeper,
};
use gameauth_vegaslounge::{MemoryStore, SystemClock, async_trait};
use serde_json::json;
use tokio::runtime::Runtime;

use crate::Settings;
use crate::fixture;
use crate::hive::{first_error, sample};
use crate::load::{self, Conversation, LoadResult, Runs};
use crate::report::{Bound, Latency, Row};
use crate::stats::Paired;
use crate::vegas::{self, AccountCall, CONNECTIONS, chained_refresh, runs_json, windows};

/// How often both stores are swept during the row.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// Grants preloaded into the large store.
const GRANTS: usize = 100_000;
/// Rotations of each preloaded grant: `GRANTS × ROTATIONS` rotated tokens held.
const ROTATIONS: usize = 10;
/// Preloaded access tokens reach the end of their retention spread over this long after the
/// preload, so every sweep during the row has some to drop.
const EXPIRY_SPREAD: Duration = Duration::from_secs(40);
const BOUND: Bound = Bound::RatioAtMost(3.0);

/// A store that records when each sweep started and how long it took.
#[derive(Debug)]
struct Timed {
    inner: MemoryStore,
    sweeps: Mutex<Vec<(Instant, Duration)>>,
}

impl Timed {
    fn new(inner: MemoryStore) -> Self {
        Self {
            inner,
            sweeps: Mutex::new(Vec::new()),
        }
    }

    fn sweeps(&self) -> Vec<(Instant, Duration)> {
        self.sweeps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl GrantStore for Timed {
    async fn put_code(&self, code: NewCode) -> Result<(), StoreError> {
        self.inner.put_code(code).await
    }
    async fn redeem_code(&self, request: RedeemCode) -> Result<Redeemed, StoreError> {
        self.inner.redeem_code(request).await
    }
    async fn rotate_refresh(&self, request: RotateRefresh) -> Result<Rotated, StoreError> {
        self.inner.rotate_refresh(request).await
    }
    async fn access_token(&self, token: &TokenHash) -> Result<Option<AccessGrant>, StoreError> {
        self.inner.access_token(token).await
    }
    async fn revoke_grant(&self, grant_id: &GrantId) -> Result<(), StoreError> {
        self.inner.revoke_grant(grant_id).await
    }
    async fn revoke_player(&self, player_id: &str) -> Result<usize, StoreError> {
        self.inner.revoke_player(player_id).await
    }
    async fn sweep_expired(&self, now: SystemTime) -> Result<usize, StoreError> {
        let started = Instant::now();
        let dropped = self.inner.sweep_expired(now).await;
        self.sweeps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((started, started.elapsed()));
        dropped
    }
}

/// Preloads `GRANTS` grants through the store's API and rotates each `ROTATIONS` times; the last
/// pair's access token reaches the end of its retention at a point within `EXPIRY_SPREAD`.
async fn preload(store: &dyn GrantStore) -> Result<usize, String> {
    let now = SystemTime::now();
    for g in 0..GRANTS {
        fixture::issue(store, g, format!("preloaded-{g:06}"), now).await?;
        for step in 1..=ROTATIONS {
            let mut next = fixture::pair(g, step, now);
            if step == ROTATIONS {
                let ends = EXPIRY_SPREAD.mul_f64(g as f64 / GRANTS as f64);
                next.access_expires_at = now + ends - ACCESS_RETENTION;
            }
            fixture::rotate(store, g, step, now, next).await?;
        }
    }
    Ok(GRANTS * ROTATIONS)
}

/// One side of the row: a served store with its sweeper, and its 64 conversations' tokens.
struct Side {
    store: Arc<Timed>,
    addr: std::net::SocketAddr,
    _sweeper: SweeperHandle,
    /// Access tokens of the `/account` half.
    accounts: Vec<String>,
    /// The refresh chains of the other half, each at its latest token.
    chains: Vec<Arc<Mutex<String>>>,
}

impl Side {
    fn start(server_rt: &Runtime, client_rt: &Runtime, store: Arc<Timed>) -> Result<Self, String> {
        let server = vegas::server(Some(store.clone()))?;
        let addr = vegas::serve(server_rt, Arc::clone(&server))?;
        let sweeper = {
            let _runtime = server_rt.enter();
            spawn_sweeper(store.clone(), Arc::new(SystemClock), SWEEP_EVERY)
        };
        let grants = client_rt.block_on(async {
            let mut out = Vec::new();
            for i in 0..CONNECTIONS {
                out.push(vegas::grant(&server, i).await?);
            }
            Ok::<_, String>(out)
        })?;
        let (accounts, chains) = grants.split_at(CONNECTIONS / 2);
        Ok(Self {
            store,
            addr,
            _sweeper: sweeper,
            accounts: accounts.iter().map(|(a, _)| a.clone()).collect(),
            chains: chains
                .iter()
                .map(|(_, r)| Arc::new(Mutex::new(r.clone())))
                .collect(),
        })
    }

    fn conversations(&self) -> Vec<Box<dyn Conversation>> {
        let accounts = self
            .accounts
            .iter()
            .filter_map(|a| AccountCall::new(a).ok())
            .map(|c| Box::new(c) as Box<dyn Conversation>);
        let refreshes = self.chains.iter().map(chained_refresh);
        accounts.chain(refreshes).collect()
    }
}

/// Item 4c.
pub(crate) fn run(
    settings: &Settings,
    server_rt: &Runtime,
    client_rt: &Runtime,
) -> Result<Vec<Row>, String> {
    let name = format!(
        "4c VL refresh + `/account` p99, {CONNECTIONS} connections, store holding {} rotated \
         tokens and swept every {} ms, vs a fresh store (ratio of p99s)",
        GRANTS * ROTATIONS,
        SWEEP_EVERY.as_millis()
    );
    let large = Arc::new(Timed::new(MemoryStore::new()));
    let started = Instant::now();
    let preloaded = client_rt.block_on(preload(&*large))?;
    let preload_s = started.elapsed().as_secs_f64();
    let large = Side::start(server_rt, client_rt, large)?;
    let fresh = Side::start(
        server_rt,
        client_rt,
        Arc::new(Timed::new(MemoryStore::new())),
    )?;

    let (reps, warmup, measure) = windows(settings);
    let errors = RefCell::new(None);
    let (large_runs, fresh_runs) = (Runs::default(), Runs::default());
    // (start, end) of every measured window of the large side.
    let large_windows = RefCell::new(Vec::new());
    let p = Paired::run(
        reps,
        || {
            let begins = Instant::now() + warmup;
            let r = client_rt.block_on(load::run(
                large.addr,
                large.conversations(),
                warmup,
                measure,
            ));
            large_windows.borrow_mut().push((begins, begins + measure));
            sample(&errors, large_runs.keep(r, LoadResult::p99))
        },
        || {
            let r = client_rt.block_on(load::run(
                fresh.addr,
                fresh.conversations(),
                warmup,
                measure,
            ));
            sample(&errors, fresh_runs.keep(r, LoadResult::p99))
        },
    );
    first_error(errors)?;
    let (large_runs, fresh_runs) = (large_runs.into_inner(), fresh_runs.into_inner());
    let sweeps = large.store.sweeps();
    let windows = large_windows.into_inner();
    let in_window = |(at, _): &&(Instant, Duration)| windows.iter().any(|(a, b)| at >= a && at < b);
    let swept: Vec<f64> = sweeps
        .iter()
        .filter(in_window)
        .map(|(_, took)| took.as_secs_f64() * 1e3)
        .collect();
    let per_window = swept.len() as f64 / windows.len().max(1) as f64;
    let held = format!("{:?}", large.store.inner);
    Ok(vec![
        Row::paired(
            name,
            "µs",
            &p,
            BOUND,
            json!({
                "connections": CONNECTIONS,
                "measure_s": measure.as_secs_f64(),
                "sweep_every_ms": SWEEP_EVERY.as_millis(),
                "preloaded_rotations": preloaded,
                "preloaded_grants": GRANTS,
                "preload_s": preload_s,
                "large_store_after": held,
                "large_p99_us": p.ours,
                "fresh_p99_us": p.baseline,
                "large_rps": large_runs.iter().map(LoadResult::rps).collect::<Vec<_>>(),
                "fresh_rps": fresh_runs.iter().map(LoadResult::rps).collect::<Vec<_>>(),
                "large_latency_us": runs_json(&large_runs),
                "fresh_latency_us": runs_json(&fresh_runs),
                "sweeps_in_measured_windows": swept.len(),
                "sweeps_per_window": per_window,
                "sweep_wall_ms_in_windows": swept,
            }),
        )
        .with_latency(Latency::of(&large_runs, &fresh_runs)),
    ])
}
