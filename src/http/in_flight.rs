//! Each key's requests in progress, and what they cost.
//!
//! Two defences against one tenant's flood of heavy reads, both on by default:
//! - **Where work runs.** Each key carries a moving average of the CPU time its requests' work
//!   took. A key whose requests are cheap has its SQLite reads run on the worker thread (faster than a
//!   hop to another thread); a key whose requests are heavy has its reads run on the heavy-read
//!   threads ([`super::heavy_reads`], one per two cores, at the lowest CPU priority), so that it
//!   never holds a worker that everyone else's requests are queued on, and gets the CPU that
//!   the others leave.
//! - **How many at once.** Past `per_key` requests in progress (`--in-flight-per-key`, default
//!   1), a heavy key's further requests wait their turn asynchronously, holding no thread and
//!   no pooled connection; nothing is refused. The flood queues behind itself instead of in
//!   front of other tenants' work. Cheap keys are not bounded: their requests take less time
//!   than the wait would (the rate limit bounds how many they send).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::heavy_reads::HeavyReads;

/// Work above this, on average, is heavy: a worker must not be held that long while other
/// requests wait on it. (A page of 20 conversations with 200 items, 250 KB, takes about 1 ms.)
const HEAVY: Duration = Duration::from_millis(3);

/// Keys remembered at most (with what their requests cost, so that a heavy key's next request
/// runs off the workers from the start); past this many, the idle ones are forgotten.
const REMEMBERED_KEYS: usize = 4096;

pub struct InFlight {
    /// 0: no bound.
    per_key: usize,
    keys: Mutex<HashMap<String, Arc<KeyState>>>,
    /// Started with the first heavy read; none if its threads could not be started.
    heavy_reads: OnceLock<Option<HeavyReads>>,
    /// Bytes of large answers rendered and not yet written to their clients.
    unsent: Arc<AtomicUsize>,
}

/// Past this many bytes of large answers waiting for their clients, every key waits its turn,
/// cheap or not: clients that read slowly (or not at all) cannot make the process hold more
/// than about this, plus one answer per key.
pub const UNSENT_BUDGET: usize = 64 << 20;

/// Answers at least this large count against [`UNSENT_BUDGET`] until they are written.
pub const LARGE_ANSWER: usize = 64 << 10;

/// A large answer's bytes, counted as unsent until this is dropped (with the answer's body).
pub struct Unsent {
    counter: Arc<AtomicUsize>,
    bytes: usize,
}

impl Drop for Unsent {
    fn drop(&mut self) {
        self.counter.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

struct KeyState {
    turns: Arc<Semaphore>,
    /// Moving average of the CPU time of the key's work, in microseconds.
    cost: AtomicU64,
}

impl KeyState {
    fn heavy(&self) -> bool {
        self.cost.load(Ordering::Relaxed) > HEAVY.as_micros() as u64
    }

    /// No request of the key has been measured yet (a measured cost is at least 1 µs).
    fn unmeasured(&self) -> bool {
        self.cost.load(Ordering::Relaxed) == 0
    }
}

/// A request's turn; its key's next request may start once this is dropped.
pub struct Turn {
    _permit: Option<OwnedSemaphorePermit>,
    state: Arc<KeyState>,
    /// Whether the key's requests have been heavy lately.
    pub heavy: bool,
}

impl InFlight {
    /// `per_key` requests of one key in progress at once; 0 for no bound.
    pub fn new(per_key: usize) -> Self {
        InFlight {
            per_key,
            keys: Mutex::new(HashMap::new()),
            heavy_reads: OnceLock::new(),
            unsent: Arc::default(),
        }
    }

    /// Counts an answer of `bytes` as unsent until the returned guard is dropped; `None` for a
    /// small one.
    pub fn unsent(&self, bytes: usize) -> Option<Unsent> {
        (bytes >= LARGE_ANSWER).then(|| {
            self.unsent.fetch_add(bytes, Ordering::Relaxed);
            Unsent {
                counter: Arc::clone(&self.unsent),
                bytes,
            }
        })
    }

    /// Whether large answers waiting for their clients are over [`UNSENT_BUDGET`].
    fn pressed(&self) -> bool {
        self.unsent.load(Ordering::Relaxed) > UNSENT_BUDGET
    }

    /// How many reads have run on the heavy-read threads.
    pub fn heavy_reads_run(&self) -> u64 {
        self.heavy_reads
            .get()
            .and_then(Option::as_ref)
            .map_or(0, HeavyReads::runs)
    }

    /// The threads heavy keys' reads run on (one per two cores).
    pub fn heavy_reads(&self) -> Option<&HeavyReads> {
        self.heavy_reads
            .get_or_init(|| {
                let cores = std::thread::available_parallelism().map_or(2, usize::from);
                HeavyReads::start(cores / 2)
                    .map_err(|error| log::warn!("no heavy-read threads ({error})"))
                    .ok()
            })
            .as_ref()
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<KeyState>>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for `key`'s turn.
    pub async fn enter(&self, key: &str) -> Turn {
        let state = {
            let mut keys = self.keys();
            match keys.get(key) {
                Some(state) => state.clone(),
                None => {
                    // Past the bound, forget the idle keys (held by the map alone).
                    if keys.len() >= REMEMBERED_KEYS {
                        keys.retain(|_, state| Arc::strong_count(state) > 1);
                    }
                    let state = Arc::new(KeyState {
                        turns: Arc::new(Semaphore::new(self.per_key.max(1))),
                        cost: AtomicU64::new(0),
                    });
                    keys.insert(key.to_string(), state.clone());
                    state
                }
            }
        };
        // Only a heavy key waits for a turn, a key none of whose requests has been measured
        // yet (a burst of its first requests would otherwise all run, and hold their answers,
        // before the first one showed the key to be heavy), and every key while large answers
        // waiting for slow clients are over the budget. (The semaphore is never
        // closed, so acquiring cannot fail.)
        let heavy = state.heavy();
        let permit = if self.per_key == 0 || !(heavy || state.unmeasured() || self.pressed()) {
            None
        } else {
            state.turns.clone().acquire_owned().await.ok()
        };
        Turn {
            _permit: permit,
            heavy,
            state,
        }
    }
}

impl Turn {
    /// Whether this turn holds back the key's other requests.
    pub fn bounds(&self) -> bool {
        self._permit.is_some()
    }

    /// Counts what the request's work took into its key's average.
    pub fn cost(&self, took: Duration) {
        let took = took.as_micros().min(u64::MAX as u128) as u64;
        let average = self.state.cost.load(Ordering::Relaxed);
        // An average over about the last four requests, starting from the first: a key turns
        // heavy with its first heavy request and cheap again after a few cheap ones. (Two
        // requests finishing at once may lose one update: an estimate, one request late.)
        let next = if average == 0 {
            took.max(1)
        } else {
            average - average / 4 + took / 4
        };
        self.state.cost.store(next, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    /// One request of `key`, measured at `cost`.
    async fn measured(limiter: &InFlight, key: &str, cost: Duration) {
        limiter.enter(key).await.cost(cost);
    }

    #[test]
    fn a_heavy_key_waits_past_its_bound_and_a_cheap_one_never_waits() {
        actix_web::rt::System::new().block_on(async {
            let limiter = Arc::new(InFlight::new(2));
            measured(&limiter, "cheap", Duration::from_micros(200)).await;
            let cheap: Vec<Turn> = (0..5)
                .map(|_| limiter.enter("cheap").now_or_never().expect("no wait"))
                .collect();
            assert!(cheap.iter().all(|turn| !turn.heavy));
            let turn = limiter.enter("k").await;
            turn.cost(Duration::from_millis(20));
            drop(turn);
            let first = limiter.enter("k").await;
            let second = limiter.enter("k").await;
            assert!(first.heavy && second.heavy);
            assert!(limiter.enter("k").now_or_never().is_none(), "a third waits");
            drop(first);
            let third = limiter.enter("k").now_or_never();
            assert!(third.is_some(), "its turn once one left");
            assert!(limiter.enter("cheap").now_or_never().is_some());
        });
    }

    #[test]
    fn past_the_budget_of_unsent_answers_every_key_waits_its_turn() {
        actix_web::rt::System::new().block_on(async {
            let limiter = Arc::new(InFlight::new(1));
            measured(&limiter, "cheap", Duration::from_micros(200)).await;
            assert!(
                limiter.unsent(LARGE_ANSWER - 1).is_none(),
                "small answers are free"
            );
            let held = limiter.unsent(UNSENT_BUDGET + 1);
            let turn = limiter.enter("cheap").await;
            assert!(turn.bounds());
            assert!(
                limiter.enter("cheap").now_or_never().is_none(),
                "waits while pressed"
            );
            drop(turn);
            drop(held);
            let free: Vec<Turn> = (0..3)
                .map(|_| limiter.enter("cheap").now_or_never().expect("no wait"))
                .collect();
            assert!(free.iter().all(|turn| !turn.bounds()));
        });
    }

    #[test]
    fn a_new_keys_first_requests_wait_for_the_first_to_be_measured() {
        actix_web::rt::System::new().block_on(async {
            let limiter = Arc::new(InFlight::new(1));
            let first = limiter.enter("new").await;
            assert!(!first.heavy);
            assert!(
                limiter.enter("new").now_or_never().is_none(),
                "the second waits"
            );
            first.cost(Duration::from_micros(300));
            drop(first);
            let measured: Vec<Turn> = (0..3)
                .map(|_| limiter.enter("new").now_or_never().expect("cheap: no wait"))
                .collect();
            assert_eq!(measured.len(), 3);
        });
    }

    #[test]
    fn keys_are_remembered_with_their_cost_and_forgotten_past_the_bound() {
        actix_web::rt::System::new().block_on(async {
            let limiter = Arc::new(InFlight::new(0));
            let turn = limiter.enter("k").await;
            assert!(!turn.heavy, "a new key is taken to be cheap");
            turn.cost(Duration::from_millis(20));
            drop(turn);
            let turn = limiter.enter("k").await;
            assert!(turn.heavy, "remembered while idle");
            for _ in 0..12 {
                turn.cost(Duration::from_micros(100));
            }
            drop(turn);
            assert!(!limiter.enter("k").await.heavy, "cheap again");
            for n in 0..REMEMBERED_KEYS + 2 {
                drop(limiter.enter(&n.to_string()).await);
            }
            assert!(limiter.keys().len() <= REMEMBERED_KEYS);
        });
    }
}
