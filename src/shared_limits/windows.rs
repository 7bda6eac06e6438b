//! Fixed-window counters: how many times a key was counted in the current window of a
//! door's period, and when last. In process (a map, forgotten once its window ends) or in
//! the database (one row per door, key and window).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

use super::{Door, store};
use crate::db::Pool;

/// One key's count in the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub hits: u32,
    /// When it was last counted (`None`: not yet in this window).
    pub last_at: Option<OffsetDateTime>,
    pub window_ends: OffsetDateTime,
}

pub struct Windows {
    door: Door,
    period_secs: i64,
    place: Place,
}

enum Place {
    Process(Mutex<HashMap<String, Count>>),
    Database(Pool),
}

#[derive(Debug, Clone, Copy)]
struct Count {
    window_no: i64,
    hits: u32,
    last_at: OffsetDateTime,
}

/// The window `now` falls in: its number and its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub no: i64,
    pub ends: OffsetDateTime,
}

impl Windows {
    pub fn in_process(door: Door, period: Duration) -> Self {
        Self::at(door, period, Place::Process(Mutex::default()))
    }

    pub fn in_database(door: Door, period: Duration, pool: Pool) -> Self {
        Self::at(door, period, Place::Database(pool))
    }

    fn at(door: Door, period: Duration, place: Place) -> Self {
        let period_secs = i64::try_from(period.as_secs()).unwrap_or(i64::MAX).max(1);
        Windows {
            door,
            period_secs,
            place,
        }
    }

    fn window(&self, now: OffsetDateTime) -> Window {
        let no = now.unix_timestamp().div_euclid(self.period_secs);
        let ends = OffsetDateTime::from_unix_timestamp((no + 1).saturating_mul(self.period_secs))
            .unwrap_or(now);
        Window { no, ends }
    }

    /// The key's count in the window `now` falls in, without counting.
    pub async fn read(&self, key: &str, now: OffsetDateTime) -> Tally {
        let window = self.window(now);
        let found = match &self.place {
            Place::Process(counts) => lock(counts)
                .get(key)
                .filter(|c| c.window_no == window.no)
                .map(|c| (c.hits, c.last_at)),
            Place::Database(pool) => self
                .logged(
                    "reading",
                    store::read(pool, self.door, key, window.no).await,
                )
                .flatten(),
        };
        tally(found, window)
    }

    /// Counts one for the key in the window `now` falls in; returns the new count.
    pub async fn add(&self, key: &str, now: OffsetDateTime) -> Tally {
        let window = self.window(now);
        let counted = match &self.place {
            Place::Process(counts) => {
                let mut counts = lock(counts);
                let count = counts.entry(key.to_owned()).or_insert(Count {
                    window_no: window.no,
                    hits: 0,
                    last_at: now,
                });
                if count.window_no != window.no {
                    count.window_no = window.no;
                    count.hits = 0;
                }
                count.hits = count.hits.saturating_add(1);
                count.last_at = now;
                Some((count.hits, now))
            }
            Place::Database(pool) => self.logged(
                "counting",
                store::add(pool, self.door, key, window.no, now, window.ends).await,
            ),
        };
        tally(counted, window)
    }

    /// Forgets the key's count in the current window.
    pub async fn clear(&self, key: &str, now: OffsetDateTime) {
        let window = self.window(now);
        match &self.place {
            Place::Process(counts) => {
                lock(counts).remove(key);
            }
            Place::Database(pool) => {
                self.logged(
                    "clearing",
                    store::clear(pool, self.door, key, window.no).await,
                );
            }
        }
    }

    /// Takes one back from the key's count in the current window (a try counted before it
    /// proved not to be a failure).
    pub async fn refund(&self, key: &str, now: OffsetDateTime) {
        let window = self.window(now);
        match &self.place {
            Place::Process(counts) => {
                if let Some(count) = lock(counts).get_mut(key)
                    && count.window_no == window.no
                {
                    count.hits = count.hits.saturating_sub(1);
                }
            }
            Place::Database(pool) => {
                self.logged(
                    "refunding",
                    store::refund(pool, self.door, key, window.no).await,
                );
            }
        }
    }

    /// Drops in-process counts of ended windows, so memory follows recent traffic.
    pub fn forget_ended(&self, now: OffsetDateTime) {
        if let Place::Process(counts) = &self.place {
            let current = self.window(now).no;
            let mut counts = lock(counts);
            counts.retain(|_, c| c.window_no >= current);
            counts.shrink_to_fit();
        }
    }

    fn logged<T>(&self, doing: &str, result: Result<T, sqlx::Error>) -> Option<T> {
        result
            .map_err(|error| {
                tracing::error!(
                    door = self.door.as_str(),
                    %error,
                    "{doing} a shared limit failed; the request goes on"
                );
            })
            .ok()
    }
}

fn tally(found: Option<(u32, OffsetDateTime)>, window: Window) -> Tally {
    Tally {
        hits: found.map_or(0, |(hits, _)| hits),
        last_at: found.map(|(_, at)| at),
        window_ends: window.ends,
    }
}

/// A poisoned map only means another request panicked mid-count: its counts still serve.
fn lock(
    counts: &Mutex<HashMap<String, Count>>,
) -> std::sync::MutexGuard<'_, HashMap<String, Count>> {
    counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[tokio::test]
    async fn counts_per_key_within_a_window_and_start_again_in_the_next() {
        let windows = Windows::in_process(Door::ApiPerKey, Duration::from_secs(60));
        assert_eq!(windows.read("a", at(600)).await.hits, 0);
        windows.add("a", at(600)).await;
        let second = windows.add("a", at(659)).await;
        assert_eq!(second.hits, 2);
        assert_eq!(second.last_at, Some(at(659)));
        assert_eq!(second.window_ends, at(660));
        assert_eq!(windows.read("b", at(630)).await.hits, 0);
        assert_eq!(windows.read("a", at(660)).await.hits, 0);
        assert_eq!(windows.add("a", at(661)).await.hits, 1);
        windows.refund("a", at(662)).await;
        assert_eq!(windows.read("a", at(662)).await.hits, 0);
        windows.add("a", at(662)).await;
        windows.clear("a", at(662)).await;
        assert_eq!(windows.read("a", at(662)).await.hits, 0);
    }

    #[tokio::test]
    async fn ended_windows_are_forgotten() {
        let windows = Windows::in_process(Door::ApiPerKey, Duration::from_secs(60));
        windows.add("old", at(0)).await;
        windows.add("new", at(61)).await;
        windows.forget_ended(at(62));
        let Place::Process(counts) = &windows.place else {
            unreachable!()
        };
        assert_eq!(lock(counts).keys().collect::<Vec<_>>(), ["new"]);
    }
}
