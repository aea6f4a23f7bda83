//! Where log lines go: a few in-memory buffers that one thread empties to stderr every
//! [`FLUSH_EVERY`].
//!
//! Every request logs a line. Writing it from the worker that served the request costs a
//! `write` under the contended stderr lock per request; handing each line to a writer thread
//! through a channel (what `tracing_appender::non_blocking` does) costs a thread wake-up per
//! line whenever the writer has gone idle, which under load is most lines: on two cores the
//! writer thread's wake-ups and context switches were a few percent of the server's CPU
//! (`bench/run.sh`, perf). Here a worker appends its line to a buffer it shares with few other
//! threads (chosen by thread id) under an uncontended lock, and the flusher wakes on a timer,
//! never per line: at most 20 writes a second, whatever the request rate.
//!
//! Lines are never dropped: when a buffer holds [`MAX_PENDING`] bytes (stderr blocked, say),
//! workers wait for the flusher instead of growing memory. Lines from one thread keep their
//! order; lines from different threads may reach stderr up to one flush interval apart from
//! their timestamps' order. Dropping the [`FlushGuard`] flushes everything and stops the
//! flusher, so the last lines before exit are not lost.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in memory before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Bytes one buffer may hold before writers wait for the flusher.
pub const MAX_PENDING: usize = 4 * 1024 * 1024;

struct Shard {
    buf: Mutex<Vec<u8>>,
    /// Signalled when the flusher has emptied the buffer.
    drained: Condvar,
}

struct Shared {
    shards: Vec<Shard>,
    /// Set (under its lock) when the guard is dropped; the flusher then does a last round.
    stop: Mutex<bool>,
    wake: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while appending bytes leaves a buffer that is still a valid byte vector.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The shard of the calling thread: threads keep theirs, so their lines stay in order.
    fn shard(&self) -> &Shard {
        #[allow(clippy::cast_possible_truncation)]
        let i = (thread_number() as usize) % self.shards.len();
        &self.shards[i]
    }

    /// Write out every buffer; returns whether anything was written.
    fn flush_all(&self, out: &mut impl Write) -> bool {
        let mut wrote = false;
        for shard in &self.shards {
            let taken = std::mem::take(&mut *lock(&shard.buf));
            shard.drained.notify_all();
            if !taken.is_empty() {
                // Nothing sensible can be done when stderr fails; the lines are lost then.
                let _ = out.write_all(&taken);
                wrote = true;
            }
        }
        if wrote {
            let _ = out.flush();
        }
        wrote
    }
}

/// The calling thread's id as a number (`ThreadId::as_u64` is unstable): a hash of it with a
/// fixed-key hasher, so the same thread always gets the same number.
fn thread_number() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::thread::current().id().hash(&mut h);
    h.finish()
}

/// The `MakeWriter` handed to `tracing_subscriber`.
#[derive(Clone)]
pub struct BatchedStderr {
    shared: Arc<Shared>,
}

/// Keeps the flusher running; dropping it flushes what is pending and stops it.
pub struct FlushGuard {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

impl BatchedStderr {
    /// Start the flusher thread writing to stderr.
    ///
    /// # Errors
    /// If the thread cannot be spawned.
    pub fn start() -> io::Result<(Self, FlushGuard)> {
        Self::start_with(io::stderr(), FLUSH_EVERY)
    }

    /// [`BatchedStderr::start`] writing to `out` every `every` (tests use a shared buffer).
    ///
    /// # Errors
    /// If the thread cannot be spawned.
    pub fn start_with<W: Write + Send + 'static>(
        mut out: W,
        every: Duration,
    ) -> io::Result<(Self, FlushGuard)> {
        let shards = std::thread::available_parallelism()
            .map_or(4, std::num::NonZero::get)
            .saturating_mul(2)
            .max(4);
        let shared = Arc::new(Shared {
            shards: (0..shards)
                .map(|_| Shard {
                    buf: Mutex::new(Vec::with_capacity(64 * 1024)),
                    drained: Condvar::new(),
                })
                .collect(),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let flusher = std::thread::Builder::new()
            .name("deltacloudd-log".into())
            .spawn(move || {
                loop {
                    let stop = {
                        let guard = lock(&s.stop);
                        let (guard, _) = s
                            .wake
                            .wait_timeout_while(guard, every, |stop| !*stop)
                            .unwrap_or_else(PoisonError::into_inner);
                        *guard
                    };
                    s.flush_all(&mut out);
                    if stop {
                        break;
                    }
                }
            })?;
        Ok((
            Self {
                shared: Arc::clone(&shared),
            },
            FlushGuard {
                shared,
                flusher: Some(flusher),
            },
        ))
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        *lock(&self.shared.stop) = true;
        self.shared.wake.notify_all();
        if let Some(f) = self.flusher.take() {
            let _ = f.join();
        }
    }
}

/// One event's writer: appends to the calling thread's buffer. It holds the buffer's lock from
/// its first write until it is dropped, so an event written in several pieces stays one line
/// even when another thread shares the buffer.
pub struct ShardWriter<'a> {
    shard: &'a Shard,
    held: Option<MutexGuard<'a, Vec<u8>>>,
}

impl ShardWriter<'_> {
    fn buffer(&mut self) -> &mut Vec<u8> {
        let shard = self.shard;
        self.held.get_or_insert_with(|| {
            let mut buf = lock(&shard.buf);
            while buf.len() >= MAX_PENDING {
                // Back-pressure, not loss: wait for the flusher (which takes this lock only to
                // swap the buffer out, never while writing) to empty it.
                buf = shard
                    .drained
                    .wait_timeout(buf, FLUSH_EVERY)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            buf
        })
    }
}

impl Write for ShardWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = ShardWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        ShardWriter {
            shard: self.shared.shard(),
            held: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` the test can read back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_per_thread_order_and_drop_flushes() {
        let sink = Sink::default();
        // A long interval: only the guard's drop can have written the lines below.
        let (w, guard) =
            BatchedStderr::start_with(sink.clone(), Duration::from_secs(3600)).unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let w = &w;
                s.spawn(move || {
                    for i in 0..500 {
                        writeln!(w.make_writer(), "t{t} line {i}").unwrap();
                    }
                });
            }
        });
        assert!(lock(&sink.0).is_empty(), "nothing written before a flush");
        drop(guard);
        let text = String::from_utf8(lock(&sink.0).clone()).unwrap();
        assert_eq!(text.lines().count(), 2000);
        for t in 0..4 {
            let mine: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("t{t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..500).collect::<Vec<_>>(), "thread {t}");
        }
    }

    #[test]
    fn the_timer_flushes_without_the_guard() {
        let sink = Sink::default();
        let (w, _guard) =
            BatchedStderr::start_with(sink.clone(), Duration::from_millis(10)).unwrap();
        writeln!(w.make_writer(), "hello").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while lock(&sink.0).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&*lock(&sink.0), b"hello\n");
    }

    #[test]
    fn a_full_buffer_waits_for_the_flusher_instead_of_dropping() {
        let sink = Sink::default();
        let (w, guard) = BatchedStderr::start_with(sink.clone(), Duration::from_millis(5)).unwrap();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..12 {
            w.make_writer().write_all(&chunk).unwrap();
        }
        drop(guard);
        assert_eq!(lock(&sink.0).len(), 12 * 1024 * 1024);
    }
}
