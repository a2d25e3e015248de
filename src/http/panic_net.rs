//! The net under panics. confab's request paths do not panic (no `unwrap`, no unchecked
//! indexing); if one ever does, the request is answered 500 with a JSON:API document, the panic
//! is logged once with the request's id and counted in `/metrics`, and the worker and every
//! other connection go on as before.
//!
//! The process-wide panic hook stays quiet for a panic inside a guarded request (the guard logs
//! it, with the request id the hook cannot know) and defers to the previous hook for any other.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Once;

use futures_util::FutureExt;

thread_local! {
    /// How many guarded sections this thread is inside right now.
    static GUARDED: Cell<usize> = const { Cell::new(0) };
    /// Where the last guarded panic on this thread happened, for the guard's log line.
    static LOCATION: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Installs the hook once per process.
pub fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) > 0 {
                let location = info
                    .location()
                    .map(|at| format!("{}:{}", at.file(), at.line()))
                    .unwrap_or_default();
                LOCATION.with(|cell| *cell.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// What a caught panic said, and where.
pub fn describe(payload: &(dyn Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    let location = LOCATION.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
    if location.is_empty() {
        message
    } else {
        format!("{message} at {location}")
    }
}

struct Section;

impl Section {
    fn enter() -> Self {
        GUARDED.with(|depth| depth.set(depth.get() + 1));
        Section
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        GUARDED.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// Runs `work`, turning a panic into `Err` with its description.
pub fn guard<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    let section = Section::enter();
    let outcome = panic::catch_unwind(AssertUnwindSafe(work));
    drop(section);
    outcome.map_err(|payload| describe(payload.as_ref()))
}

/// Awaits `future`, turning a panic in any of its polls into `Err` with its description. Each
/// poll is a guarded section, so the hook leaves the panic to this guard (no allocation: the
/// future is pinned here).
pub async fn guard_future<T>(future: impl Future<Output = T>) -> Result<T, String> {
    let mut caught = pin!(AssertUnwindSafe(future).catch_unwind());
    let caught = poll_fn(|cx| {
        let _section = Section::enter();
        caught.as_mut().poll(cx)
    })
    .await;
    caught.map_err(|payload| describe(payload.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_caught_with_its_message_and_place() {
        install_hook();
        let caught = guard(|| -> u8 { panic!("boom {}", 7) });
        let description = caught.expect_err("caught");
        assert!(
            description.starts_with("boom 7 at src/http/panic_net.rs:"),
            "{description}"
        );
        assert_eq!(guard(|| 5), Ok(5));
        assert_eq!(GUARDED.with(Cell::get), 0);
    }

    #[test]
    fn a_future_that_panics_is_caught() {
        install_hook();
        let runtime = actix_web::rt::System::new();
        let caught = runtime.block_on(guard_future(async {
            let items: Vec<u8> = Vec::new();
            items
                .get(3)
                .copied()
                .ok_or(())
                .map_err(|()| panic!("no item"))
        }));
        let description: String = match caught {
            Err(description) => description,
            Ok(_) => String::new(),
        };
        assert!(description.starts_with("no item at "), "{description}");
    }
}
