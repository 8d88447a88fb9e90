//! A coarse hyper timer for the header-read timeout: one ticker per worker instead of a
//! timer-wheel entry per request.
//!
//! hyper arms the header-read timeout for every request on a keep-alive connection: with
//! hyper-util's `TokioTimer` that is two allocations, a clock read, and a timer-wheel insert and
//! removal per request — 0.45 µs of a 6 µs /healthz request in our profile. A timeout of tens of
//! seconds needs no such precision: [`CoarseTimer`] keeps a clock that its ticker advances every
//! [`TICK`], and a sleep is a slab entry checked on each tick. A sleep fires between its
//! deadline and one tick after it (hyper computes deadlines from [`Timer::now`], which lags by at
//! most a tick, so a timeout `t` fires after `t - TICK` to `t + TICK`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};
use slab::Slab;

/// How often the clock advances and expired sleeps are woken.
pub const TICK: Duration = Duration::from_secs(1);

/// See the module documentation. One per worker; clones share the clock and the sleeps.
#[derive(Clone, Debug)]
pub struct CoarseTimer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    base: tokio::time::Instant,
    /// Milliseconds since `base`, as of the last tick.
    now_ms: AtomicU64,
    sleepers: Mutex<Slab<Sleeper>>,
}

#[derive(Debug)]
struct Sleeper {
    deadline_ms: u64,
    waker: Option<Waker>,
}

impl Default for CoarseTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl CoarseTimer {
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                base: tokio::time::Instant::now(),
                now_ms: AtomicU64::new(0),
                sleepers: Mutex::new(Slab::new()),
            }),
        }
    }

    /// The ticker: spawn it on the runtime whose connections use this timer.
    pub async fn run(self) {
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.tick();
        }
    }

    fn tick(&self) {
        let now = self.shared.base.elapsed().as_millis() as u64;
        self.shared.now_ms.store(now, Ordering::Relaxed);
        for (_, sleeper) in self.shared.lock().iter_mut() {
            if sleeper.deadline_ms <= now {
                if let Some(waker) = sleeper.waker.take() {
                    waker.wake();
                }
            }
        }
    }

    fn ms_since_base(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.shared.base.into_std())
            .as_millis() as u64
    }

    /// Sleeps currently registered.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.shared.lock().len()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slab<Sleeper>> {
        self.sleepers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Relaxed)
    }
}

impl Timer for CoarseTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(CoarseSleep {
            shared: self.shared.clone(),
            deadline_ms: self.ms_since_base(deadline),
            key: None,
        })
    }

    /// The clock as of the last tick: no clock read per request.
    fn now(&self) -> Instant {
        self.shared.base.into_std() + Duration::from_millis(self.shared.now_ms())
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        let deadline_ms = self.ms_since_base(new_deadline);
        match sleep.as_mut().downcast_mut_pin::<CoarseSleep>() {
            Some(coarse) => {
                let coarse = coarse.get_mut();
                coarse.deadline_ms = deadline_ms;
                if let Some(key) = coarse.key {
                    if let Some(sleeper) = coarse.shared.lock().get_mut(key) {
                        sleeper.deadline_ms = deadline_ms;
                    }
                }
            }
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

struct CoarseSleep {
    shared: Arc<Shared>,
    deadline_ms: u64,
    /// The slab entry, once polled.
    key: Option<usize>,
}

impl Sleep for CoarseSleep {}

impl Future for CoarseSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.shared.now_ms() >= this.deadline_ms {
            return Poll::Ready(());
        }
        let mut sleepers = this.shared.lock();
        match this.key.and_then(|key| sleepers.get_mut(key)) {
            Some(sleeper) => match &sleeper.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => sleeper.waker = Some(cx.waker().clone()),
            },
            None => {
                this.key = Some(sleepers.insert(Sleeper {
                    deadline_ms: this.deadline_ms,
                    waker: Some(cx.waker().clone()),
                }));
            }
        }
        Poll::Pending
    }
}

impl Drop for CoarseSleep {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.shared.lock().try_remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_within_a_tick_after_its_deadline_and_never_before() {
        let timer = CoarseTimer::new();
        tokio::spawn(timer.clone().run());
        let start = tokio::time::Instant::now();
        timer.sleep(Duration::from_secs(30)).await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(30) && waited <= Duration::from_secs(30) + TICK,
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reset_moves_the_deadline() {
        let timer = CoarseTimer::new();
        tokio::spawn(timer.clone().run());
        let start = tokio::time::Instant::now();
        let mut sleep = timer.sleep(Duration::from_secs(5));
        // Registered, then pushed back (as a new request on the connection would).
        assert!(futures_poll_once(sleep.as_mut()).await.is_pending());
        timer.reset(&mut sleep, timer.now() + Duration::from_secs(20));
        sleep.as_mut().await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(19) && waited <= Duration::from_secs(20) + TICK,
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_sleep_leaves_nothing_behind() {
        let timer = CoarseTimer::new();
        let mut sleep = timer.sleep(Duration::from_secs(30));
        assert!(futures_poll_once(sleep.as_mut()).await.is_pending());
        assert_eq!(timer.pending(), 1);
        drop(sleep);
        assert_eq!(timer.pending(), 0);
    }

    async fn futures_poll_once(mut sleep: Pin<&mut (dyn Sleep + 'static)>) -> Poll<()> {
        std::future::poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx))).await
    }
}
