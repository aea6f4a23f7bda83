//! The gateway's own CIMI database (`cimi.md` §10): attributes a backend cannot hold (names,
//! descriptions and properties given at CIMI create), the database-only resources (machine,
//! volume and address templates, volume configurations) and Jobs.
//!
//! Every row is scoped by (driver, provider), so two clouds behind one gateway never see each
//! other's templates or overlays. SQLite in WAL mode with `synchronous=FULL`: a 201 or 202 the
//! client saw must survive a crash of the machine, and the write rate is tiny (stack.md §7).
//! All calls leave the async runtime through `spawn_blocking`; one connection behind a mutex is
//! plenty for this load.

use deltacloud_core::{Error, Result};
use rusqlite::{Connection, params};
use serde_json::{Map, Value};
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// The file name inside the server's data directory.
pub const DB_FILE: &str = "cimi.db";

/// Schema version kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS overlays (
    driver TEXT NOT NULL,
    provider TEXT NOT NULL,
    kind TEXT NOT NULL,
    be_id TEXT NOT NULL,
    name TEXT,
    description TEXT,
    properties TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    PRIMARY KEY (driver, provider, kind, be_id)
);
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    driver TEXT NOT NULL,
    provider TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT,
    description TEXT,
    properties TEXT NOT NULL DEFAULT '{}',
    data TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_scope ON entities (driver, provider, kind);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    driver TEXT NOT NULL,
    provider TEXT NOT NULL,
    target TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL,
    return_code INTEGER,
    status_message TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_scope ON jobs (driver, provider);
";

/// Which cloud a row belongs to: the driver id and the provider (`default` when none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub driver: String,
    pub provider: String,
}

/// Client-given attributes of a driver-backed resource.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overlay {
    pub name: Option<String>,
    pub description: Option<String>,
    pub properties: BTreeMap<String, String>,
    pub created: String,
}

/// A database-only resource (template or configuration). `data` holds the type-specific
/// attributes in their JSON (lowerCamelCase) form.
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub id: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    pub properties: BTreeMap<String, String>,
    pub data: Map<String, Value>,
    pub created: String,
}

/// A Job row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    pub id: i64,
    pub target: String,
    pub action: String,
    pub status: String,
    pub progress: i64,
    pub return_code: Option<i64>,
    pub status_message: Option<String>,
    pub created: String,
    pub updated: String,
}

/// The CIMI database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// Recent read results, forgotten at every write (see [`ReadMemo`]).
    memo: Arc<ReadMemo>,
}

/// Past this many keys the memo starts over (keys include driver and provider names from
/// requests, so the key space is the client's to choose).
const MEMO_MAX_ENTRIES: usize = 256;

/// Results of recent reads, kept until the next write to this database.
///
/// Every CIMI list of a driver resource reads that resource kind's overlays, so without this a
/// `GET /cimi/machines` poll costs a `spawn_blocking` hand-off and a SQLite query even though
/// the answer changes only when a CIMI create or delete writes. SQLite stays the store of
/// record. The soundness rules are the mock driver's (`backends/mock/src/memo.rs`):
/// * every write goes through [`Store::write`], which invalidates once the blocking task has
///   finished (committed or not) and before the caller sees the outcome, so a client never
///   reads the state from before its own acknowledged write;
/// * a read that missed keeps its result only if no invalidation happened since it started
///   (a generation counter), so a result read before a concurrent write never outlives it.
///
/// The database belongs to one server process; another process writing the file is not seen
/// until this one writes.
#[derive(Default)]
struct ReadMemo {
    inner: Mutex<MemoInner>,
}

#[derive(Default)]
struct MemoInner {
    generation: u64,
    entries: HashMap<String, Arc<dyn Any + Send + Sync>>,
}

impl ReadMemo {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoInner> {
        // No critical section below can leave the map half-updated.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The memoized value for `key`, or the generation a fresh read must be stored under.
    fn get<T: Clone + Send + Sync + 'static>(&self, key: &str) -> Result<T, u64> {
        let inner = self.lock();
        match inner.entries.get(key).and_then(|v| v.downcast_ref::<T>()) {
            Some(v) => Ok(v.clone()),
            None => Err(inner.generation),
        }
    }

    fn store<T: Send + Sync + 'static>(&self, generation: u64, key: String, value: T) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MEMO_MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(key, Arc::new(value));
    }

    fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.clear();
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn db_err(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::internal("CIMI database error").with_cause(e)
}

fn props_to_json(p: &BTreeMap<String, String>) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "{}".to_owned())
}

fn props_from_json(s: &str) -> BTreeMap<String, String> {
    serde_json::from_str(s).unwrap_or_default()
}

impl Store {
    /// Open (creating if needed) `<dir>/cimi.db`. Blocking: call it before the runtime starts or
    /// inside `spawn_blocking`.
    ///
    /// # Errors
    /// When the file cannot be opened or the schema cannot be created.
    pub fn open_in(dir: &Path) -> Result<Self> {
        Self::open(&dir.join(DB_FILE))
    }

    /// Open (creating if needed) the database file at `path`.
    ///
    /// # Errors
    /// When the file cannot be opened or the schema cannot be created.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| {
            Error::internal(format!("Cannot open the CIMI database {}", path.display()))
                .with_cause(e)
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        conn.pragma_update(None, "busy_timeout", 5000)
            .map_err(db_err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db_err)?;
        if version > SCHEMA_VERSION {
            return Err(Error::internal(format!(
                "The CIMI database {} has schema version {version}, newer than this server's {SCHEMA_VERSION}",
                path.display()
            )));
        }
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(db_err)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            memo: Arc::default(),
        })
    }

    /// Run `f` on the connection, off the async runtime.
    async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        actix_web::rt::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| Error::internal("CIMI database lock poisoned"))?;
            f(&guard).map_err(db_err)
        })
        .await
        .map_err(db_err)?
    }

    /// [`Self::call`] for statements that change the database: the read memo is invalidated
    /// once the statement has run (or failed), before the caller sees the outcome.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let out = self.call(f).await;
        self.memo.invalidate();
        out
    }

    /// [`Self::call`] through the read memo. `key` must name everything the result depends on
    /// besides the database contents.
    async fn read_memo<T, F>(&self, key: String, f: F) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let generation = match self.memo.get::<T>(&key) {
            Ok(hit) => return Ok(hit),
            Err(g) => g,
        };
        let value = self.call(f).await?;
        self.memo.store(generation, key, value.clone());
        Ok(value)
    }

    // ---- overlays -------------------------------------------------------------------------

    /// Record the client's name/description/properties for a driver-backed resource.
    pub async fn put_overlay(
        &self,
        scope: &Scope,
        kind: &'static str,
        be_id: &str,
        overlay: Overlay,
    ) -> Result<()> {
        let (d, p, id) = (
            scope.driver.clone(),
            scope.provider.clone(),
            be_id.to_owned(),
        );
        self.write(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO overlays (driver, provider, kind, be_id, name, description, properties, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![d, p, kind, id, overlay.name, overlay.description, props_to_json(&overlay.properties), overlay.created],
            )
            .map(|_| ())
        })
        .await
    }

    /// All overlays of one kind in this scope, by backend id.
    pub async fn overlays(
        &self,
        scope: &Scope,
        kind: &'static str,
    ) -> Result<Arc<BTreeMap<String, Overlay>>> {
        let (d, p) = (scope.driver.clone(), scope.provider.clone());
        self.read_memo(format!("overlays\0{d}\0{p}\0{kind}"), move |c| {
            let mut st = c.prepare_cached(
                "SELECT be_id, name, description, properties, created FROM overlays
                 WHERE driver = ?1 AND provider = ?2 AND kind = ?3",
            )?;
            let rows = st.query_map(params![d, p, kind], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Overlay {
                        name: r.get(1)?,
                        description: r.get(2)?,
                        properties: props_from_json(&r.get::<_, String>(3)?),
                        created: r.get(4)?,
                    },
                ))
            })?;
            rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()
                .map(Arc::new)
        })
        .await
    }

    /// Forget the overlays of resources that no longer exist (deleted behind our back, e.g.
    /// through `/api`), so a recycled backend id never inherits a stale name.
    pub async fn prune_overlays(
        &self,
        scope: &Scope,
        kind: &'static str,
        gone: Vec<String>,
    ) -> Result<()> {
        if gone.is_empty() {
            return Ok(());
        }
        let (d, p) = (scope.driver.clone(), scope.provider.clone());
        self.write(move |c| {
            for id in gone {
                c.execute(
                    "DELETE FROM overlays WHERE driver = ?1 AND provider = ?2 AND kind = ?3 AND be_id = ?4",
                    params![d, p, kind, id],
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Remove one overlay (the resource was deleted).
    pub async fn delete_overlay(
        &self,
        scope: &Scope,
        kind: &'static str,
        be_id: &str,
    ) -> Result<()> {
        self.prune_overlays(scope, kind, vec![be_id.to_owned()])
            .await
    }

    // ---- database-only entities -----------------------------------------------------------

    /// Insert a new entity; returns its id.
    pub async fn insert_entity(&self, scope: &Scope, kind: &'static str, e: Entity) -> Result<i64> {
        let (d, p) = (scope.driver.clone(), scope.provider.clone());
        self.write(move |c| {
            c.execute(
                "INSERT INTO entities (driver, provider, kind, name, description, properties, data, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    d,
                    p,
                    kind,
                    e.name,
                    e.description,
                    props_to_json(&e.properties),
                    Value::Object(e.data).to_string(),
                    e.created
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    /// Entities of one kind in this scope, by id; `only` restricts to one id.
    pub async fn entities(
        &self,
        scope: &Scope,
        kind: &'static str,
        only: Option<i64>,
    ) -> Result<Vec<Entity>> {
        let (d, p) = (scope.driver.clone(), scope.provider.clone());
        self.read_memo(format!("entities\0{d}\0{p}\0{kind}\0{only:?}"), move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, name, description, properties, data, created FROM entities
                 WHERE driver = ?1 AND provider = ?2 AND kind = ?3 AND (?4 IS NULL OR id = ?4)
                 ORDER BY id",
            )?;
            let rows = st.query_map(params![d, p, kind, only], |r| {
                let data: String = r.get(4)?;
                Ok(Entity {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    description: r.get(2)?,
                    properties: props_from_json(&r.get::<_, String>(3)?),
                    data: match serde_json::from_str(&data) {
                        Ok(Value::Object(m)) => m,
                        _ => Map::new(),
                    },
                    created: r.get(5)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Delete one entity; `false` if it did not exist.
    pub async fn delete_entity(&self, scope: &Scope, kind: &'static str, id: i64) -> Result<bool> {
        let (d, p) = (scope.driver.clone(), scope.provider.clone());
        self.write(move |c| {
            c.execute(
                "DELETE FROM entities WHERE driver = ?1 AND provider = ?2 AND kind = ?3 AND id = ?4",
                params![d, p, kind, id],
            )
            .map(|n| n > 0)
        })
        .await
    }

    // ---- jobs -------------------------------------------------------------------------------

    /// Record a new running job; returns its id.
    pub async fn insert_job(
        &self,
        scope: &Scope,
        target: String,
        action: String,
        now: String,
    ) -> Result<i64> {
        let (d, p) = (scope.driver.clone(), scope.provider.clone());
        self.write(move |c| {
            c.execute(
                "INSERT INTO jobs (driver, provider, target, action, status, progress, created, updated)
                 VALUES (?1, ?2, ?3, ?4, 'RUNNING', 0, ?5, ?5)",
                params![d, p, target, action, now],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    /// Update a job's progress or outcome.
    pub async fn update_job(
        &self,
        id: i64,
        status: &'static str,
        progress: i64,
        return_code: Option<i64>,
        message: Option<String>,
        now: String,
    ) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "UPDATE jobs SET status = ?2, progress = ?3, return_code = ?4, status_message = ?5, updated = ?6
                 WHERE id = ?1",
                params![id, status, progress, return_code, message, now],
            )
            .map(|_| ())
        })
        .await
    }

    /// Jobs in this scope; `only` restricts to one id.
    pub async fn jobs(&self, scope: &Scope, only: Option<i64>) -> Result<Vec<JobRow>> {
        let (d, p) = (scope.driver.clone(), scope.provider.clone());
        self.read_memo(format!("jobs\0{d}\0{p}\0{only:?}"), move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, target, action, status, progress, return_code, status_message, created, updated
                 FROM jobs WHERE driver = ?1 AND provider = ?2 AND (?3 IS NULL OR id = ?3) ORDER BY id",
            )?;
            let rows = st.query_map(params![d, p, only], |r| {
                Ok(JobRow {
                    id: r.get(0)?,
                    target: r.get(1)?,
                    action: r.get(2)?,
                    status: r.get(3)?,
                    progress: r.get(4)?,
                    return_code: r.get(5)?,
                    status_message: r.get(6)?,
                    created: r.get(7)?,
                    updated: r.get(8)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// One job, if it exists in this scope.
    pub async fn job(&self, scope: &Scope, id: i64) -> Result<Option<JobRow>> {
        Ok(self.jobs(scope, Some(id)).await?.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            driver: "mock".into(),
            provider: "default".into(),
        }
    }

    #[test]
    fn the_memo_keeps_reads_until_a_write_and_drops_reads_that_raced_one() {
        let m = ReadMemo::default();
        let g = m.get::<u32>("k").unwrap_err();
        m.store(g, "k".into(), 7u32);
        assert_eq!(m.get::<u32>("k"), Ok(7));
        assert!(m.get::<String>("k").is_err(), "another type is a miss");
        m.invalidate();
        assert!(m.get::<u32>("k").is_err());
        let g = m.get::<u32>("k").unwrap_err();
        m.invalidate(); // a write finished while the read ran
        m.store(g, "k".into(), 8u32);
        assert!(m.get::<u32>("k").is_err());
        for i in 0..(MEMO_MAX_ENTRIES * 2) {
            let g = m.get::<usize>(&i.to_string()).unwrap_err();
            m.store(g, i.to_string(), i);
        }
        assert!(m.lock().entries.len() <= MEMO_MAX_ENTRIES);
    }

    #[actix_web::test]
    async fn reads_see_every_write_through_the_memo() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Store::open_in(tmp.path()).unwrap();
        assert!(s.overlays(&scope(), "machine").await.unwrap().is_empty());
        let ov = |n: &str| Overlay {
            name: Some(n.into()),
            ..Overlay::default()
        };
        s.put_overlay(&scope(), "machine", "i1", ov("a"))
            .await
            .unwrap();
        assert_eq!(
            s.overlays(&scope(), "machine").await.unwrap()["i1"]
                .name
                .as_deref(),
            Some("a")
        );
        // A hit now, and still right after an overwrite.
        assert_eq!(s.overlays(&scope(), "machine").await.unwrap().len(), 1);
        s.put_overlay(&scope(), "machine", "i1", ov("b"))
            .await
            .unwrap();
        assert_eq!(
            s.overlays(&scope(), "machine").await.unwrap()["i1"]
                .name
                .as_deref(),
            Some("b")
        );
        s.delete_overlay(&scope(), "machine", "i1").await.unwrap();
        assert!(s.overlays(&scope(), "machine").await.unwrap().is_empty());
        let j = s
            .insert_job(&scope(), "t".into(), "a".into(), "now".into())
            .await
            .unwrap();
        assert_eq!(s.job(&scope(), j).await.unwrap().unwrap().status, "RUNNING");
        s.update_job(j, "SUCCESS", 100, Some(200), None, "later".into())
            .await
            .unwrap();
        assert_eq!(s.job(&scope(), j).await.unwrap().unwrap().status, "SUCCESS");
    }

    #[actix_web::test]
    async fn entities_overlays_and_jobs_round_trip_and_survive_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Store::open_in(tmp.path()).unwrap();
        let mut data = Map::new();
        data.insert("machineConfig".into(), serde_json::json!({"href": "x"}));
        let id = s
            .insert_entity(
                &scope(),
                "machine_template",
                Entity {
                    id: 0,
                    name: Some("t".into()),
                    description: None,
                    properties: BTreeMap::from([("a".into(), "b".into())]),
                    data,
                    created: "now".into(),
                },
            )
            .await
            .unwrap();
        s.put_overlay(
            &scope(),
            "machine",
            "inst9",
            Overlay {
                name: Some("n".into()),
                ..Overlay::default()
            },
        )
        .await
        .unwrap();
        let j = s
            .insert_job(&scope(), "t".into(), "start".into(), "now".into())
            .await
            .unwrap();
        s.update_job(j, "SUCCESS", 100, Some(200), None, "later".into())
            .await
            .unwrap();
        drop(s);
        let s = Store::open_in(tmp.path()).unwrap();
        let es = s
            .entities(&scope(), "machine_template", None)
            .await
            .unwrap();
        assert_eq!(es.len(), 1);
        assert_eq!(es[0].id, id);
        assert_eq!(es[0].properties.get("a").map(String::as_str), Some("b"));
        let other = Scope {
            driver: "ec2".into(),
            provider: "default".into(),
        };
        assert!(
            s.entities(&other, "machine_template", None)
                .await
                .unwrap()
                .is_empty()
        );
        let ov = s.overlays(&scope(), "machine").await.unwrap();
        assert_eq!(ov["inst9"].name.as_deref(), Some("n"));
        s.prune_overlays(&scope(), "machine", vec!["inst9".into()])
            .await
            .unwrap();
        assert!(s.overlays(&scope(), "machine").await.unwrap().is_empty());
        let job = s.job(&scope(), j).await.unwrap().unwrap();
        assert_eq!(
            (job.status.as_str(), job.progress, job.return_code),
            ("SUCCESS", 100, Some(200))
        );
        assert!(
            s.delete_entity(&scope(), "machine_template", id)
                .await
                .unwrap()
        );
        assert!(
            !s.delete_entity(&scope(), "machine_template", id)
                .await
                .unwrap()
        );
    }
}
