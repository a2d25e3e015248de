//! Waiting on the database without waiting on a dead one: every request's database work is
//! awaited beside the store's news that the database is down, so that a request answers 503
//! within a second whether the database refuses connections, resets them or stops answering.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use actix_web::rt::time::timeout;
use futures_util::future::{select, Either};

use crate::jsonapi::error::ApiError;
use crate::store::{self, Db, Store, StoreError};

/// Work that has not finished by now makes the store check, with a fresh connection, whether
/// the database still answers (a healthy request takes milliseconds; a request that waits on a
/// lock or a busy pool passes the check and goes on waiting).
const SUSPECT_AFTER: Duration = Duration::from_millis(300);

/// `work`'s answer, or 503 as soon as the database is found down (at once when it already is).
/// Work left behind goes on on its thread and its answer is dropped; a write that was under
/// way either commits whole or not at all, and its `Idempotency-Key` tells a retry which.
pub async fn answered<T>(
    store: &Store,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    store.check()?;
    let mut down = store.watch_down();
    let watchdog = async move {
        let noticed = timeout(SUSPECT_AFTER, down.wait_for(|down| *down))
            .await
            .map(|seen| seen.is_ok());
        let noticed = match noticed {
            Ok(noticed) => noticed,
            Err(_) => {
                store.suspect();
                down.wait_for(|down| *down).await.is_ok()
            }
        };
        if !noticed {
            // The store is gone (the server is stopping): the work decides.
            std::future::pending::<()>().await;
        }
    };
    match select(pin!(work), pin!(watchdog)).await {
        Either::Left((answer, _)) => answer,
        Either::Right(((), _)) => Err(ApiError::Unavailable(store.unavailable_reason())),
    }
}

/// Passes `done` on. Work that found the database gone tells the store (the next requests fail
/// fast), and its connection is not given back to the pool (see [`store::discard`]).
pub fn unless_gone<T>(
    store: &Store,
    conn: &mut Db,
    done: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if let Err(ApiError::Unavailable(reason)) = &done {
        store::discard(conn);
        store.report(&StoreError::Unavailable(reason.clone()));
    }
    done
}
