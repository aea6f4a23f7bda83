//! The mock's store: one SQLite file, `<data_dir>/mock.db`.
//!
//! Why SQLite and this shape (see `shared/stack.md` §7):
//! * WAL with `synchronous=FULL`: a transaction is durable once `commit` returns, so an operation
//!   acknowledged to a client survives `kill -9` and even a machine crash. The mock's write rate
//!   is tiny, so the fsync per commit costs nothing that matters.
//! * One writer [`Connection`] behind a [`Mutex`]: SQLite has a single writer anyway; serialising
//!   in-process avoids `SQLITE_BUSY` storms. Every mutating operation is one `BEGIN IMMEDIATE`
//!   transaction, so it reads and writes a consistent state (id allocation cannot race).
//! * A small pool of read connections: WAL lets readers run concurrently with the writer, so the
//!   hot `GET /api/instances` and `/api/images` never queue behind a write.
//! * Callers run all of this inside `tokio::task::spawn_blocking` (see `MockDriver::read` and
//!   `MockDriver::write`); nothing here is async.
//!
//! The schema version lives in `PRAGMA user_version`. A database with version 0 is fresh: the
//! schema is created and the seed inserted in the same transaction, so a crash during the first
//! start leaves either nothing or a complete catalogue.

use crate::seed;
use deltacloud_core::Error;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The file name inside the data directory.
pub const DB_FILE: &str = "mock.db";

/// Bumped whenever [`SCHEMA`] changes incompatibly.
const SCHEMA_VERSION: i64 = 1;

/// How many idle read connections are kept for reuse.
const MAX_IDLE_READERS: usize = 32;

/// Instance rows keep the *stable* state they are heading to (`state`) plus, while a transition
/// delay runs, the transitional state shown until `transition_until` (epoch milliseconds). The
/// observed state is derived from these on every read, so list, show and actions always agree.
/// JSON columns hold small lists whose order and "absent vs empty" distinction the seed
/// preserves (an instance's `network_interfaces` may be missing, `[]` or a list).
const SCHEMA: &str = "
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    architecture TEXT NOT NULL,
    state TEXT,
    creation_time TEXT
);
CREATE INDEX images_order ON images (owner_id, description, id);

CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    owner_id TEXT NOT NULL,
    name TEXT,
    image_id TEXT,
    realm_id TEXT,
    profile_id TEXT,
    profile_overrides TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    transitional TEXT,
    transition_until INTEGER,
    keyname TEXT,
    create_image INTEGER NOT NULL,
    public_addresses TEXT NOT NULL DEFAULT '[]',
    private_addresses TEXT NOT NULL DEFAULT '[]',
    storage_volumes TEXT,
    network_interfaces TEXT,
    user_data BLOB
);
CREATE INDEX instances_owner ON instances (owner_id, seq);

CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    credential_type TEXT NOT NULL,
    fingerprint TEXT,
    pem_rsa_key TEXT,
    username TEXT,
    password TEXT,
    state TEXT
);

CREATE TABLE storage_volumes (
    id TEXT PRIMARY KEY,
    name TEXT,
    description TEXT,
    created TEXT,
    state TEXT,
    capacity TEXT,
    instance_id TEXT,
    device TEXT,
    realm_id TEXT
);

CREATE TABLE storage_snapshots (
    id TEXT PRIMARY KEY,
    name TEXT,
    description TEXT,
    state TEXT,
    storage_volume_id TEXT,
    created TEXT
);

CREATE TABLE buckets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE blob_contents (
    id INTEGER PRIMARY KEY AUTOINCREMENT
);

CREATE TABLE blob_chunks (
    content_id INTEGER NOT NULL REFERENCES blob_contents (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (content_id, seq)
);

CREATE TABLE blobs (
    id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES buckets (id),
    content_type TEXT,
    content_length INTEGER NOT NULL,
    last_modified TEXT,
    user_metadata TEXT,
    content_id INTEGER NOT NULL REFERENCES blob_contents (id)
);
CREATE INDEX blobs_bucket ON blobs (bucket, id);

CREATE TABLE addresses (
    id TEXT PRIMARY KEY,
    ip INTEGER NOT NULL UNIQUE,
    instance_id TEXT
);

CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT,
    address_blocks TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE subnets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    network TEXT REFERENCES networks (id) ON DELETE CASCADE,
    address_block TEXT,
    state TEXT,
    type TEXT
);
CREATE INDEX subnets_network ON subnets (network);

CREATE TABLE network_interfaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    instance TEXT,
    network TEXT,
    subnet TEXT,
    ip_address TEXT
);
";

/// Tables in an order that respects foreign keys when deleting everything.
const TABLES: &[&str] = &[
    "blobs",
    "blob_chunks",
    "blob_contents",
    "buckets",
    "network_interfaces",
    "subnets",
    "networks",
    "addresses",
    "storage_snapshots",
    "storage_volumes",
    "keys",
    "instances",
    "images",
];

/// Errors inside a database closure: SQL failures (a gateway fault) or a client-facing
/// [`Error`] decided by the operation. `?` works on both; the boundary turns SQL errors into
/// [`Error::internal`] with the cause kept for logs.
#[derive(Debug)]
pub enum DbError {
    Sql(rusqlite::Error),
    Api(Error),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<Error> for DbError {
    fn from(e: Error) -> Self {
        Self::Api(e)
    }
}

impl From<serde_json::Error> for DbError {
    fn from(e: serde_json::Error) -> Self {
        Self::Api(Error::internal("The mock database holds a malformed value").with_cause(e))
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Api(e) => e,
            DbError::Sql(e) => Error::internal("Mock database error").with_cause(e),
        }
    }
}

pub type DbResult<T> = std::result::Result<T, DbError>;

/// The open store: the writer and the pool of readers.
pub struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the connection mid-transaction (the
    // `Transaction` guard rolls back on unwind), so the connection is still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_millis(5000))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl Db {
    /// Open (creating and seeding if needed) the database at `path`.
    pub fn open(path: &Path) -> DbResult<Self> {
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::internal(format!(
                "The mock database could not switch to WAL mode (got '{mode}')"
            ))
            .into());
        }
        init(&mut conn)?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Run `f` in one `BEGIN IMMEDIATE` transaction on the writer; commit iff it succeeds.
    /// Blocking: call from `spawn_blocking`.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> DbResult<T>) -> DbResult<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Run `f` in a read transaction (one consistent snapshot) on a pooled read connection.
    /// Blocking: call from `spawn_blocking`.
    pub fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> DbResult<T>) -> DbResult<T> {
        let pooled = lock(&self.readers).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.open_reader()?,
        };
        let out = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx);
            // A read transaction has nothing to commit; finishing it releases the snapshot.
            tx.finish()?;
            out
        };
        let mut idle = lock(&self.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }

    fn open_reader(&self) -> DbResult<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        // Belt and braces: this connection must never write.
        conn.pragma_update(None, "query_only", "ON")?;
        Ok(conn)
    }
}

/// Create the schema and seed a fresh database, or check the version of an existing one. Also
/// drops blob content left behind by uploads that never completed (a crash mid-upload).
fn init(conn: &mut Connection) -> DbResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        tx.execute_batch(SCHEMA)?;
        seed::insert(&tx)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    } else if version != SCHEMA_VERSION {
        return Err(Error::internal(format!(
            "The mock database has schema version {version}, this build understands {SCHEMA_VERSION}; \
             delete it (or move it away) to start from the seed"
        ))
        .into());
    }
    tx.execute(
        "DELETE FROM blob_contents WHERE id NOT IN (SELECT content_id FROM blobs)",
        [],
    )?;
    tx.commit()?;
    Ok(())
}

/// Empty every table and insert the seed again, in one transaction.
pub fn reseed(tx: &Transaction<'_>) -> DbResult<()> {
    for t in TABLES {
        tx.execute(&format!("DELETE FROM {t}"), [])?;
    }
    seed::insert(tx)
}
