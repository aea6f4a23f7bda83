//! Results of recent reads, kept until the next write.
//!
//! Deltacloud clients poll: `GET /api/instances` every few seconds is the typical client loop,
//! and the answer changes only when someone writes. Without this memo every poll costs a
//! `spawn_blocking` hand-off and a SQLite read transaction, which measured at a few percent of
//! what the HTTP stack alone can serve (`bench/run.sh`). SQLite stays the store of record; this
//! is only a read-through memo in front of it.
//!
//! Soundness rests on two rules:
//! * every write goes through `MockDriver::write`, which calls [`ReadMemo::invalidate`] once
//!   the transaction has finished (committed or not), before the caller sees the result: a client
//!   that got an acknowledgement never reads the state from before its write;
//! * a read that missed stores its result only if no invalidation happened since it started
//!   (a generation counter), so a result read from a snapshot older than a concurrent write can
//!   never outlive that write.
//!
//! A result may also carry a deadline (epoch milliseconds): with a transition delay, an
//! instance's observed state changes with the clock alone, so a list showing `PENDING` is only
//! good until the earliest transition ends.
//!
//! The memo is per driver instance (no global state). A second process writing the same
//! database file (for example the offline [`crate::reset`]) is not seen until this process
//! writes; the mock's database belongs to one server at a time.

use crate::util::now_ms;
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Past this many keys the memo starts over, which bounds its memory whatever the key space
/// (keys include user names and ids from the request).
const MAX_ENTRIES: usize = 256;

/// See the module documentation.
#[derive(Default)]
pub struct ReadMemo {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    entries: HashMap<String, Entry>,
}

struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    valid_until: Option<i64>,
}

/// What a lookup that missed must hand back to [`ReadMemo::store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

impl ReadMemo {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The critical sections below cannot panic half-way through an update that matters:
        // a poisoned memo is still a consistent map.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The memoized value for `key`, or a ticket to store one read from the database.
    pub fn get<T: Clone + Send + Sync + 'static>(&self, key: &str) -> Result<T, Ticket> {
        let inner = self.lock();
        if let Some(e) = inner.entries.get(key)
            && e.valid_until.is_none_or(|until| now_ms() < until)
            && let Some(v) = e.value.downcast_ref::<T>()
        {
            return Ok(v.clone());
        }
        Err(Ticket(inner.generation))
    }

    /// Keep `value` for `key` unless a write happened since `ticket` was issued.
    pub fn store<T: Send + Sync + 'static>(
        &self,
        ticket: Ticket,
        key: String,
        value: T,
        valid_until: Option<i64>,
    ) {
        let mut inner = self.lock();
        if inner.generation != ticket.0 {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(
            key,
            Entry {
                value: Arc::new(value),
                valid_until,
            },
        );
    }

    /// Forget everything: called after every write.
    pub fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_after_store_and_miss_after_invalidate() {
        let m = ReadMemo::default();
        let t = m.get::<Vec<u8>>("k").unwrap_err();
        m.store(t, "k".into(), vec![1u8, 2], None);
        assert_eq!(m.get::<Vec<u8>>("k"), Ok(vec![1, 2]));
        // A different type under the same key is a miss, never a wrong value.
        assert!(m.get::<String>("k").is_err());
        m.invalidate();
        assert!(m.get::<Vec<u8>>("k").is_err());
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let m = ReadMemo::default();
        let t = m.get::<u32>("k").unwrap_err();
        m.invalidate(); // a write committed while the read was running
        m.store(t, "k".into(), 1u32, None);
        assert!(m.get::<u32>("k").is_err());
    }

    #[test]
    fn expired_entries_are_misses() {
        let m = ReadMemo::default();
        let t = m.get::<u32>("k").unwrap_err();
        m.store(t, "k".into(), 1u32, Some(now_ms() - 1));
        assert!(m.get::<u32>("k").is_err());
        let t = m.get::<u32>("k").unwrap_err();
        m.store(t, "k".into(), 2u32, Some(now_ms() + 60_000));
        assert_eq!(m.get::<u32>("k"), Ok(2));
    }

    #[test]
    fn the_memo_is_bounded() {
        let m = ReadMemo::default();
        for i in 0..(MAX_ENTRIES * 2) {
            let t = m.get::<usize>(&i.to_string()).unwrap_err();
            m.store(t, i.to_string(), i, None);
        }
        assert!(m.lock().entries.len() <= MAX_ENTRIES);
    }
}
