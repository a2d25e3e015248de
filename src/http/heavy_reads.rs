//! The threads heavy reads run on: few, and at the lowest CPU priority, so that whatever else
//! the server has to do (other tenants' requests, writing responses) is scheduled first when
//! the cores are busy, and the heavy reads get the time that is left.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::jsonapi::error::ApiError;

type Job = Box<dyn FnOnce() + Send>;

pub struct HeavyReads {
    jobs: Mutex<Sender<Job>>,
    /// Reads handed to the threads so far (for `/metrics`).
    runs: AtomicU64,
}

impl HeavyReads {
    /// Starts `threads` threads (at least one).
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("confab-heavy-{n}"))
                .spawn(move || serve(&queue))?;
        }
        Ok(HeavyReads {
            jobs: Mutex::new(jobs),
            runs: AtomicU64::new(0),
        })
    }

    /// How many reads have been handed to the threads.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Runs `work` on one of the threads, in turn with the other heavy reads.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let (done, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .send(job)
            .map_err(|_| ApiError::Internal("the heavy read threads are gone".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("a heavy read failed (panicked)".into()))
    }
}

fn serve(queue: &Mutex<Receiver<Job>>) {
    lowest_priority();
    loop {
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.recv()
        };
        let Ok(job) = job else {
            return;
        };
        // A panic is reported to the request (its answer channel is dropped); the thread stays.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

/// Nice 19 for the calling thread (on Linux, a thread's own nice value).
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    unsafe {
        if libc::setpriority(libc::PRIO_PROCESS, 0, 19) != 0 {
            log::warn!("heavy reads run at normal priority: setpriority failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_a_low_priority_thread_and_a_panic_is_an_error() {
        actix_web::rt::System::new().block_on(async {
            let pool = HeavyReads::start(1).expect("threads");
            let name = pool
                .run(|| std::thread::current().name().map(str::to_string))
                .await;
            assert_eq!(name.ok().flatten().as_deref(), Some("confab-heavy-0"));
            #[cfg(target_os = "linux")]
            {
                // SAFETY: as above.
                let nice = pool.run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) });
                assert_eq!(nice.await.ok(), Some(19));
            }
            let failed = pool.run(|| -> u8 { panic!("boom") }).await;
            assert!(matches!(failed, Err(ApiError::Internal(_))));
            assert_eq!(pool.run(|| 7).await.ok(), Some(7), "the thread survives");
        });
    }
}
