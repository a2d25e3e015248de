//! Where a request's database work runs, and for whom: the key's turn (`in_flight`), the
//! principal, one pooled connection, the thread that suits the work, a net under panics, and
//! the race against the database going away (`database`).

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use super::held::TurnSlot;
use super::{database, panic_net, AppState};
use crate::auth::{self, Principal};
use crate::jsonapi::error::ApiError;
use crate::store::{Db, Dialect};

/// What [`authorised`] needs of a request: its key, and where its turn may be left.
pub(super) trait Caller: Send + 'static {
    fn token(&self) -> &str;
    fn turn_slot(&self) -> Option<TurnSlot>;
}

/// Whether a request only reads, which decides where its work runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Work {
    Read,
    Write,
}

/// Authenticates `call` and runs `work` for its principal with one connection for both, once
/// the key's turn comes (see [`super::in_flight`]).
///
/// A SQLite read by a key whose requests are cheap runs right here on the worker thread: a WAL
/// reader never waits for a lock, and its statements take microseconds, less than the hop to
/// another thread. Writes (which may wait for SQLite's write lock) and everything on PostgreSQL
/// (network round trips) run on the blocking pool, and the reads of a key whose requests have
/// been heavy on the heavy-read threads (they must not hold the workers that serve everyone).
pub(super) async fn authorised<C: Caller, T: Send + 'static>(
    state: &AppState,
    call: C,
    kind: Work,
    work: impl FnOnce(&mut Db, C, &Principal) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let turn = state.in_flight.enter(call.token()).await;
    let slot = call.turn_slot();
    let store = state.store.clone();
    let keys = state.keys.clone();
    let run = move || {
        let started = thread_cpu_time();
        let done = panic_net::guard(|| {
            let mut conn = store.connection()?;
            let principal = auth::authenticate(&keys, &mut conn, call.token());
            let done = principal.and_then(|principal| work(&mut conn, call, &principal));
            database::unless_gone(&store, &mut conn, done)
        })
        .unwrap_or_else(|panic| Err(ApiError::Panicked(panic)));
        Ok::<_, ApiError>((done, thread_cpu_time().saturating_sub(started)))
    };
    let heavy_reads = match kind {
        Work::Read if turn.heavy => state.in_flight.heavy_reads(),
        _ => None,
    };
    let (done, took) = if let Some(threads) = heavy_reads {
        database::answered(&state.store, async { threads.run(run).await? }).await?
    } else if kind == Work::Read && !turn.heavy && state.store.dialect() == Dialect::Sqlite {
        state.store.check()?;
        run()?
    } else {
        database::answered(&state.store, async { web::block(run).await? }).await?
    };
    turn.cost(took);
    // A heavy (or held back) key's next request waits until this answer is written: a client
    // that reads nothing then holds one rendered answer of its key's, not one per request.
    match slot {
        Some(slot) if turn.bounds() => slot.put(turn),
        _ => drop(turn),
    }
    done
}

/// Who `token` is: from the verified-key cache when it was checked moments ago, otherwise with
/// one statement on a blocking thread (503 at once if the database is away). For the checks
/// made before a body is read (401 without sending the body, `Expect`).
pub(super) async fn verified(state: &AppState, token: &str) -> Result<Arc<Principal>, ApiError> {
    if let Some(principal) = auth::cached(&state.keys, token) {
        return Ok(principal);
    }
    let (store, keys, token) = (state.store.clone(), state.keys.clone(), token.to_string());
    let verify = web::block(move || {
        let mut conn = store.connection()?;
        let verified = auth::authenticate(&keys, &mut conn, &token);
        database::unless_gone(&store, &mut conn, verified)
    });
    database::answered(&state.store, async { verify.await? }).await
}

/// The CPU time the calling thread has used: what a request's work cost, whatever else competed
/// for the cores meanwhile (wall time grows with the load and would make every request look
/// heavy on a busy server).
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given and nothing else.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        now.tv_sec.max(0) as u64,
        now.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}
