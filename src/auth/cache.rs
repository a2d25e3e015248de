//! A short-lived cache of verified keys, so that a busy key costs no statement per request.
//!
//! An entry lives for the cache's lifetime (2 s by default) and is keyed by the SHA-256 of the
//! key, never the key itself. A key revoked in the database (by any instance, or at the command
//! line) therefore stops working on every instance within that lifetime; an expiry time is
//! checked on every hit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};

use super::Principal;

/// The most entries kept; past it the cache starts over (keys are few, this bounds memory).
const MAX_ENTRIES: usize = 10_000;
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(2);

struct Entry {
    principal: Arc<Principal>,
    verified: Instant,
    expires_at: Option<NaiveDateTime>,
}

pub struct KeyCache {
    lifetime: Duration,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl KeyCache {
    /// A cache whose entries live `lifetime`; zero turns caching off.
    pub fn new(lifetime: Duration) -> Self {
        KeyCache {
            lifetime,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, digest: &[u8; 32]) -> Option<Arc<Principal>> {
        if self.lifetime.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(digest)?;
        let fresh = entry.verified.elapsed() < self.lifetime;
        let unexpired = entry
            .expires_at
            .is_none_or(|expires| Utc::now().naive_utc() < expires);
        (fresh && unexpired).then(|| entry.principal.clone())
    }

    pub fn insert(
        &self,
        digest: [u8; 32],
        principal: Arc<Principal>,
        expires_at: Option<NaiveDateTime>,
    ) {
        if self.lifetime.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                digest,
                Entry {
                    principal,
                    verified: Instant::now(),
                    expires_at,
                },
            );
        }
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache::new(DEFAULT_LIFETIME)
    }
}
