//! Where the scheduler reads the time: the system's clock in the server, a
//! clock the test sets by hand everywhere else.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that shows what it was last set to. Clones share the same time,
/// so a test keeps one and hands the other to the code under test.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Sets the time, forward or back.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.lock() = at;
    }

    /// Moves the time by `by` (back when negative), stopping at the ends of
    /// the calendar chrono can represent.
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.lock();
        *now = now
            .checked_add_signed(by)
            .unwrap_or(if by < TimeDelta::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            });
    }

    // A panic elsewhere while the lock was held leaves a valid instant behind,
    // so a poisoned lock is used as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A clone sees what the original is set to and advanced by, through the
    /// trait object the server would hold.
    #[test]
    fn clones_share_the_time() {
        let clock = ManualClock::new(utc("2026-01-01T00:00:00Z"));
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        clock.advance(TimeDelta::minutes(90));
        assert_eq!(shared.now(), utc("2026-01-01T01:30:00Z"));
        clock.set(utc("2025-12-31T23:00:00Z"));
        assert_eq!(shared.now(), utc("2025-12-31T23:00:00Z"));
        clock.advance(TimeDelta::minutes(-1));
        assert_eq!(shared.now(), utc("2025-12-31T22:59:00Z"));
    }

    /// Advancing past the end of the calendar stops at the end instead of
    /// panicking.
    #[test]
    fn advance_saturates() {
        let clock = ManualClock::new(DateTime::<Utc>::MAX_UTC);
        clock.advance(TimeDelta::days(1));
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
        clock.set(DateTime::<Utc>::MIN_UTC);
        clock.advance(TimeDelta::days(-1));
        assert_eq!(clock.now(), DateTime::<Utc>::MIN_UTC);
    }

    /// The system clock is past the day this module was written.
    #[test]
    fn system_clock_reads_the_present() {
        assert!(SystemClock.now() > utc("2025-01-01T00:00:00Z"));
    }
}
