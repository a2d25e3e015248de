//! An optional bound on each key's requests in progress (`--in-flight-per-key`, off by
//! default). One tenant's flood of heavy reads then cannot take every thread from the others:
//! past the bound, a key's requests wait their turn asynchronously, holding no worker thread,
//! blocking thread or pooled connection. Nothing is refused; the flood queues behind itself.
//! The price is that key's own concurrency: BENCHMARKS.md has both sides measured.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct InFlight {
    /// 0: no bound.
    per_key: usize,
    keys: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A request's turn; its key's next request may start once this is dropped.
pub struct Turn {
    permit: Option<OwnedSemaphorePermit>,
    /// The key's semaphore and the limiter, when there is a bound.
    held: Option<(Arc<Semaphore>, String, Arc<InFlight>)>,
    /// Whether the key had nothing else in progress or waiting when this request arrived.
    pub alone: bool,
}

impl InFlight {
    /// `per_key` requests of one key in progress at once; 0 for no bound.
    pub fn new(per_key: usize) -> Self {
        InFlight {
            per_key,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for `key`'s turn.
    pub async fn enter(self: &Arc<Self>, key: &str) -> Turn {
        if self.per_key == 0 {
            return Turn {
                permit: None,
                held: None,
                alone: true,
            };
        }
        let (semaphore, alone) = {
            let mut keys = self
                .keys
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let semaphore = keys
                .entry(key.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_key)))
                .clone();
            // The map's reference and this one: no other request of the key holds or awaits it.
            let alone = Arc::strong_count(&semaphore) == 2;
            (semaphore, alone)
        };
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = semaphore.clone().acquire_owned().await.ok();
        Turn {
            permit,
            held: Some((semaphore, key.to_string(), self.clone())),
            alone,
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some((semaphore, key, limiter)) = &self.held else {
            return;
        };
        let mut keys = limiter
            .keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        drop(self.permit.take());
        // The last request of its key leaves: forget the key (entrants clone under this lock).
        if Arc::strong_count(semaphore) == 2 {
            keys.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_waits_past_its_bound_and_is_forgotten_when_idle() {
        actix_web::rt::System::new().block_on(async {
            let limiter = Arc::new(InFlight::new(2));
            let first = limiter.enter("k").await;
            assert!(first.alone);
            let second = limiter.enter("k").await;
            assert!(!second.alone);
            let other = limiter.enter("other").await;
            assert!(other.alone, "keys do not share a bound");
            use futures_util::FutureExt;
            assert!(limiter.enter("k").now_or_never().is_none(), "a third waits");
            drop(first);
            let third = limiter
                .enter("k")
                .now_or_never()
                .expect("its turn once one left");
            drop((second, third, other));
            assert!(limiter
                .keys
                .lock()
                .map(|keys| keys.is_empty())
                .unwrap_or(false));
        });
    }
}
