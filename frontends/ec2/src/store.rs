//! The EC2 frontend's own state, in `<data_dir>/ec2.db` (SQLite, WAL, `synchronous=FULL`):
//!
//! * **Credentials**: access key id ⇒ secret key + the backend identity it acts as (driver,
//!   provider, backend user and password). Verifying a signature needs the secret server-side
//!   (stack.md §3 pitfall 11), which the original never had. Secrets and backend passwords are
//!   encrypted with XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`, a vetted AEAD with a
//!   192-bit random nonce per value, so random nonces never collide in practice); the access key
//!   is the associated data, so a ciphertext copied to another row does not decrypt.
//! * **Tags** (`ec2-frontend.md` B6 "ours"): Deltacloud has no tags, so the frontend keeps them,
//!   keyed by (driver/provider scope, resource id, key).
//!
//! The encryption key comes from configuration or from `<data_dir>/ec2.key`, created with mode
//! 0600 at first start. Every call that touches SQLite is blocking; async callers go through
//! [`Store::run`], which uses `spawn_blocking`.
//!
//! **Read cache.** Every signed request needs its access key's secret, and every
//! `Describe*` its scope's tags. Asking SQLite each time costs two thread hand-offs to the
//! blocking pool plus two decryptions per request, which capped the SigV4 benchmark at about
//! an eighth of the HTTP stack's throughput. [`Store::lookup_cached`] and [`Store::tags_cached`]
//! therefore answer from memory when they can:
//! * every write through this `Store` (any clone) empties the cache and bumps a generation
//!   counter, and a read that raced with a write does not store its (possibly old) result, so
//!   this process always sees its own writes at once;
//! * an entry is trusted for at most [`CACHE_TTL`], so writes by *another* process
//!   (`deltacloudd credentials add/remove` against a running server) take effect within that
//!   time;
//! * at most [`CACHE_MAX_ENTRIES`] entries per kind are kept, so requests naming random access
//!   keys cannot grow memory; when full, results are simply not cached.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use deltacloud_core::Secret;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Database file name inside the data directory.
pub const DB_FILE: &str = "ec2.db";
/// Key file name inside the data directory.
pub const KEY_FILE: &str = "ec2.key";
const NONCE_LEN: usize = 24;
/// How long a cached credential or tag list is trusted without asking SQLite again; the bound
/// on how late a change made by another process (the `credentials` subcommand) is seen.
pub const CACHE_TTL: Duration = Duration::from_secs(1);
/// Most cached entries per kind (credentials, tag scopes).
pub const CACHE_MAX_ENTRIES: usize = 1024;

/// Errors of the store. Messages name files and keys, never secrets.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("EC2 credential database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("EC2 credential key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid EC2 credential encryption key: {0}")]
    BadKey(String),
    #[error(
        "cannot decrypt the stored secret of access key '{0}': the encryption key differs from the one it was stored with"
    )]
    Decrypt(String),
    #[error("invalid credential: {0}")]
    Invalid(String),
    #[error("EC2 store task failed: {0}")]
    Task(String),
}

/// The backend identity an access key acts as. `None` driver/provider mean the server defaults.
#[derive(Clone, Debug)]
pub struct Identity {
    pub driver: Option<String>,
    pub provider: Option<String>,
    pub user: String,
    pub password: Secret,
}

/// One access key with its secret and identity.
#[derive(Clone, Debug)]
pub struct CredentialRecord {
    pub access_key: String,
    pub secret: Secret,
    pub identity: Identity,
}

/// What `credentials list` shows: no secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialSummary {
    pub access_key: String,
    pub driver: Option<String>,
    pub provider: Option<String>,
    pub user: String,
}

/// A stored tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagRow {
    pub resource_id: String,
    pub resource_type: String,
    pub key: String,
    pub value: String,
}

/// The encryption key: 32 bytes, wiped on drop.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey([REDACTED])")
    }
}

impl StoreKey {
    /// Parse a configured key: 64 hex digits or base64 of 32 bytes.
    ///
    /// # Errors
    /// `BadKey` for anything else.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        use base64::Engine as _;
        let t = text.trim();
        let bytes = Zeroizing::new(
            if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                hex::decode(t).map_err(|e| StoreError::BadKey(e.to_string()))?
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(t)
                    .map_err(|_| StoreError::BadKey("expected 64 hex digits or base64".into()))?
            },
        );
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::BadKey(format!("expected 32 bytes, got {}", bytes.len())))?;
        Ok(Self(Zeroizing::new(arr)))
    }

    /// A fresh random key.
    #[must_use]
    pub fn generate() -> Self {
        use rand::RngCore as _;
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(k.as_mut());
        Self(k)
    }

    /// Read `<dir>/ec2.key`, creating it (mode 0600, exclusive create) with a fresh key if it
    /// does not exist.
    ///
    /// # Errors
    /// `KeyFile` for I/O errors, `BadKey` for a corrupt file.
    pub fn load_or_create(dir: &Path) -> Result<Self, StoreError> {
        use base64::Engine as _;
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = dir.join(KEY_FILE);
        let io = |source| StoreError::KeyFile {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => return Self::parse(&text),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            Err(_) => {}
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        let key = Self::generate();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.0.as_ref()));
        f.write_all(text.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok(key)
    }
}

/// The store. Cheap to clone; all clones share one connection and one read cache.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    cipher: Arc<XChaCha20Poly1305>,
    cache: Arc<Mutex<ReadCache>>,
    ttl: Duration,
}

/// A cached read and when it was made.
struct Entry<T> {
    at: Instant,
    value: T,
}

/// Recent reads (see the module docs). `None` credentials are cached too: the backend's
/// built-in users (the mock's `mockuser`) are not stored, and each of their requests would
/// otherwise go to SQLite to learn that.
#[derive(Default)]
struct ReadCache {
    /// Bumped by every write; a read started under an older generation is not cached.
    generation: u64,
    credentials: HashMap<String, Entry<Option<Arc<CredentialRecord>>>>,
    tags: HashMap<String, Entry<Arc<Vec<TagRow>>>>,
}

impl ReadCache {
    fn invalidate(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.credentials.clear();
        self.tags.clear();
    }
}

/// The fresh value of `key` in `map`, if any.
fn fresh<T: Clone>(map: &HashMap<String, Entry<T>>, key: &str, ttl: Duration) -> Option<T> {
    map.get(key)
        .filter(|e| e.at.elapsed() < ttl)
        .map(|e| e.value.clone())
}

/// Store `value` unless the map is full even after dropping stale entries.
fn remember<T>(
    map: &mut HashMap<String, Entry<T>>,
    key: &str,
    value: T,
    at: Instant,
    ttl: Duration,
) {
    if map.len() >= CACHE_MAX_ENTRIES && !map.contains_key(key) {
        map.retain(|_, e| e.at.elapsed() < ttl);
        if map.len() >= CACHE_MAX_ENTRIES {
            return;
        }
    }
    map.insert(key.to_owned(), Entry { at, value });
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ec2::Store")
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS credentials (
    access_key TEXT PRIMARY KEY NOT NULL,
    secret BLOB NOT NULL,
    driver TEXT,
    provider TEXT,
    backend_user TEXT NOT NULL,
    backend_password BLOB NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS tags (
    scope TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, resource_id, key)
);
";

impl Store {
    /// Open (creating if needed) `<dir>/ec2.db` with this key.
    ///
    /// # Errors
    /// Database errors.
    pub fn open(dir: &Path, key: &StoreKey) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::KeyFile {
            path: dir.to_path_buf(),
            source,
        })?;
        let conn = Connection::open(dir.join(DB_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let cipher = XChaCha20Poly1305::new_from_slice(key.0.as_ref())
            .map_err(|_| StoreError::BadKey("wrong length".into()))?;
        Ok(Self::from_parts(conn, cipher))
    }

    fn from_parts(conn: Connection, cipher: XChaCha20Poly1305) -> Self {
        Self {
            conn: Arc::new(Mutex::new(conn)),
            cipher: Arc::new(cipher),
            cache: Arc::new(Mutex::new(ReadCache::default())),
            ttl: CACHE_TTL,
        }
    }

    /// The same store with another cache lifetime (tests; `Duration::ZERO` disables caching).
    #[must_use]
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// An in-memory store (tests).
    ///
    /// # Errors
    /// Database errors.
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        let key = StoreKey::generate();
        let cipher = XChaCha20Poly1305::new_from_slice(key.0.as_ref())
            .map_err(|_| StoreError::BadKey("wrong length".into()))?;
        Ok(Self::from_parts(conn, cipher))
    }

    fn cache(&self) -> Result<std::sync::MutexGuard<'_, ReadCache>, StoreError> {
        self.cache
            .lock()
            .map_err(|_| StoreError::Task("cache lock poisoned".into()))
    }

    /// Forget every cached read; called after each write, while the connection lock is still
    /// held, so no reader can fetch the old row and cache it after the write.
    fn invalidate(&self) -> Result<(), StoreError> {
        self.cache()?.invalidate();
        Ok(())
    }

    /// [`Store::lookup`] through the read cache; only a miss leaves the async runtime.
    ///
    /// # Errors
    /// As [`Store::lookup`], or `Task` if the blocking task died.
    /// The record is shared with the cache: a hit copies no strings.
    pub async fn lookup_cached(
        &self,
        access_key: &str,
    ) -> Result<Option<Arc<CredentialRecord>>, StoreError> {
        let generation = {
            let c = self.cache()?;
            if let Some(hit) = fresh(&c.credentials, access_key, self.ttl) {
                return Ok(hit);
            }
            c.generation
        };
        let ak = access_key.to_owned();
        let at = Instant::now();
        let rec = self.run(move |s| s.lookup(&ak)).await?.map(Arc::new);
        let mut c = self.cache()?;
        if c.generation == generation {
            remember(&mut c.credentials, access_key, rec.clone(), at, self.ttl);
        }
        Ok(rec)
    }

    /// [`Store::tags`] through the read cache; only a miss leaves the async runtime.
    ///
    /// # Errors
    /// As [`Store::tags`], or `Task` if the blocking task died.
    pub async fn tags_cached(&self, scope: &str) -> Result<Arc<Vec<TagRow>>, StoreError> {
        let generation = {
            let c = self.cache()?;
            if let Some(hit) = fresh(&c.tags, scope, self.ttl) {
                return Ok(hit);
            }
            c.generation
        };
        let sc = scope.to_owned();
        let at = Instant::now();
        let rows = Arc::new(self.run(move |s| s.tags(&sc)).await?);
        let mut c = self.cache()?;
        if c.generation == generation {
            remember(&mut c.tags, scope, Arc::clone(&rows), at, self.ttl);
        }
        Ok(rows)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| StoreError::Task("connection lock poisoned".into()))?;
        f(&mut guard)
    }

    /// [`Store::with`] for a write: the read cache is emptied afterwards (also when the write
    /// failed, which costs nothing but a few cache misses), still under the connection lock.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| StoreError::Task("connection lock poisoned".into()))?;
        let out = f(&mut guard);
        self.invalidate()?;
        out
    }

    /// Run a blocking store call off the async reactor.
    ///
    /// # Errors
    /// The call's error, or `Task` if the blocking task died.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    fn seal(&self, aad: &str, plain: &str) -> Result<Vec<u8>, StoreError> {
        use rand::RngCore as _;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let n = chacha20poly1305::XNonce::try_from(&nonce[..])
            .map_err(|_| StoreError::Task("nonce length".into()))?;
        let ct = self
            .cipher
            .encrypt(
                &n,
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Task("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(out)
    }

    fn open_sealed(&self, aad: &str, blob: &[u8]) -> Result<Secret, StoreError> {
        if blob.len() < NONCE_LEN {
            return Err(StoreError::Decrypt(aad.to_owned()));
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        let n = chacha20poly1305::XNonce::try_from(nonce)
            .map_err(|_| StoreError::Decrypt(aad.to_owned()))?;
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(
                    &n,
                    Payload {
                        msg: ct,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| StoreError::Decrypt(aad.to_owned()))?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| StoreError::Decrypt(aad.to_owned()))?;
        Ok(Secret::new(text))
    }

    /// Add or replace a credential.
    ///
    /// # Errors
    /// `Invalid` for an empty access key or secret; database errors.
    pub fn add(&self, rec: &CredentialRecord) -> Result<(), StoreError> {
        if rec.access_key.trim().is_empty() || rec.access_key.contains('/') {
            return Err(StoreError::Invalid(
                "the access key id must be non-empty and must not contain '/'".into(),
            ));
        }
        if rec.secret.expose().is_empty() {
            return Err(StoreError::Invalid(
                "the secret key must not be empty".into(),
            ));
        }
        let secret = self.seal(&rec.access_key, rec.secret.expose())?;
        let password = self.seal(&rec.access_key, rec.identity.password.expose())?;
        self.write(|c| {
            c.execute(
                "INSERT INTO credentials (access_key, secret, driver, provider, backend_user, backend_password)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(access_key) DO UPDATE SET secret = ?2, driver = ?3, provider = ?4,
                     backend_user = ?5, backend_password = ?6",
                params![
                    rec.access_key,
                    secret,
                    rec.identity.driver,
                    rec.identity.provider,
                    rec.identity.user,
                    password
                ],
            )?;
            Ok(())
        })
    }

    /// Remove a credential; `false` if there was none.
    ///
    /// # Errors
    /// Database errors.
    pub fn remove(&self, access_key: &str) -> Result<bool, StoreError> {
        self.write(|c| {
            Ok(c.execute(
                "DELETE FROM credentials WHERE access_key = ?1",
                [access_key],
            )? > 0)
        })
    }

    /// All credentials, without secrets, by access key.
    ///
    /// # Errors
    /// Database errors.
    pub fn list(&self) -> Result<Vec<CredentialSummary>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT access_key, driver, provider, backend_user FROM credentials ORDER BY access_key",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok(CredentialSummary {
                        access_key: r.get(0)?,
                        driver: r.get(1)?,
                        provider: r.get(2)?,
                        user: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The credential of `access_key`, decrypted.
    ///
    /// # Errors
    /// Database errors; `Decrypt` when the key differs from the one used to store it.
    pub fn lookup(&self, access_key: &str) -> Result<Option<CredentialRecord>, StoreError> {
        type Row = (Vec<u8>, Option<String>, Option<String>, String, Vec<u8>);
        let row: Option<Row> = self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT secret, driver, provider, backend_user, backend_password FROM credentials WHERE access_key = ?1",
            )?
            .query_row([access_key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?)
        })?;
        let Some((secret, driver, provider, user, password)) = row else {
            return Ok(None);
        };
        Ok(Some(CredentialRecord {
            access_key: access_key.to_owned(),
            secret: self.open_sealed(access_key, &secret)?,
            identity: Identity {
                driver,
                provider,
                user,
                password: self.open_sealed(access_key, &password)?,
            },
        }))
    }

    /// Set tags on a resource (replacing values of existing keys).
    ///
    /// # Errors
    /// Database errors.
    pub fn put_tags(
        &self,
        scope: &str,
        resource_id: &str,
        resource_type: &str,
        tags: &[(String, String)],
    ) -> Result<(), StoreError> {
        self.write(|c| {
            let tx = c.transaction()?;
            for (k, v) in tags {
                tx.execute(
                    "INSERT INTO tags (scope, resource_id, resource_type, key, value) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(scope, resource_id, key) DO UPDATE SET value = ?5, resource_type = ?3",
                    params![scope, resource_id, resource_type, k, v],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Delete tags: each `(key, None)` removes the key, `(key, Some(v))` only if the value is
    /// `v`; an empty list removes all tags of the resource.
    ///
    /// # Errors
    /// Database errors.
    pub fn delete_tags(
        &self,
        scope: &str,
        resource_id: &str,
        tags: &[(String, Option<String>)],
    ) -> Result<(), StoreError> {
        self.write(|c| {
            let tx = c.transaction()?;
            if tags.is_empty() {
                tx.execute(
                    "DELETE FROM tags WHERE scope = ?1 AND resource_id = ?2",
                    params![scope, resource_id],
                )?;
            }
            for (k, v) in tags {
                match v {
                    None => tx.execute(
                        "DELETE FROM tags WHERE scope = ?1 AND resource_id = ?2 AND key = ?3",
                        params![scope, resource_id, k],
                    )?,
                    Some(v) => tx.execute(
                        "DELETE FROM tags WHERE scope = ?1 AND resource_id = ?2 AND key = ?3 AND value = ?4",
                        params![scope, resource_id, k, v],
                    )?,
                };
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// All tags in a scope, by resource then key.
    ///
    /// # Errors
    /// Database errors.
    pub fn tags(&self, scope: &str) -> Result<Vec<TagRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT resource_id, resource_type, key, value FROM tags WHERE scope = ?1 ORDER BY resource_id, key",
            )?;
            let rows = st
                .query_map([scope], |r| {
                    Ok(TagRow {
                        resource_id: r.get(0)?,
                        resource_type: r.get(1)?,
                        key: r.get(2)?,
                        value: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ak: &str, secret: &str) -> CredentialRecord {
        CredentialRecord {
            access_key: ak.into(),
            secret: Secret::new(secret),
            identity: Identity {
                driver: Some("mock".into()),
                provider: None,
                user: "mockuser".into(),
                password: Secret::new("mockpassword"),
            },
        }
    }

    #[test]
    fn credentials_round_trip_encrypted_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::load_or_create(dir.path()).unwrap();
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let s = Store::open(dir.path(), &key).unwrap();
        s.add(&rec("AKIDTEST", "very-secret-value")).unwrap();
        let got = s.lookup("AKIDTEST").unwrap().unwrap();
        assert_eq!(got.secret.expose(), "very-secret-value");
        assert_eq!(got.identity.password.expose(), "mockpassword");
        assert_eq!(got.identity.driver.as_deref(), Some("mock"));
        assert!(s.lookup("nope").unwrap().is_none());
        drop(s);

        // Nothing secret is stored in clear text.
        let raw = std::fs::read(dir.path().join(DB_FILE)).unwrap();
        let wal = std::fs::read(dir.path().join("ec2.db-wal")).unwrap_or_default();
        for bytes in [raw, wal] {
            let hay = String::from_utf8_lossy(&bytes);
            assert!(!hay.contains("very-secret-value"));
            assert!(!hay.contains("mockpassword"));
        }

        // The same key file opens the same secrets; another key does not.
        let again = StoreKey::load_or_create(dir.path()).unwrap();
        let s = Store::open(dir.path(), &again).unwrap();
        assert_eq!(
            s.lookup("AKIDTEST").unwrap().unwrap().secret.expose(),
            "very-secret-value"
        );
        assert_eq!(s.list().unwrap().len(), 1);
        drop(s);
        let other = Store::open(dir.path(), &StoreKey::generate()).unwrap();
        assert!(matches!(
            other.lookup("AKIDTEST"),
            Err(StoreError::Decrypt(_))
        ));
        assert!(other.remove("AKIDTEST").unwrap());
        assert!(!other.remove("AKIDTEST").unwrap());
        assert!(other.list().unwrap().is_empty());
    }

    #[tokio::test]
    async fn cached_reads_see_this_process_writes_at_once() {
        let s = Store::in_memory()
            .unwrap()
            .with_cache_ttl(Duration::from_secs(3600));
        assert!(s.lookup_cached("AKC").await.unwrap().is_none());
        s.add(&rec("AKC", "first")).unwrap();
        let got = s.lookup_cached("AKC").await.unwrap().unwrap();
        assert_eq!(got.secret.expose(), "first");
        // A clone shares the cache: a write through it invalidates for everybody.
        s.clone().add(&rec("AKC", "second")).unwrap();
        let got = s.lookup_cached("AKC").await.unwrap().unwrap();
        assert_eq!(got.secret.expose(), "second");
        assert!(s.remove("AKC").unwrap());
        assert!(s.lookup_cached("AKC").await.unwrap().is_none());

        assert!(s.tags_cached("mock/").await.unwrap().is_empty());
        s.put_tags("mock/", "i1", "instance", &[("k".into(), "v".into())])
            .unwrap();
        let t = s.tags_cached("mock/").await.unwrap();
        assert_eq!((t.len(), t[0].value.as_str()), (1, "v"));
        s.delete_tags("mock/", "i1", &[]).unwrap();
        assert!(s.tags_cached("mock/").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn another_process_writes_are_seen_within_the_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::load_or_create(dir.path()).unwrap();
        let server = Store::open(dir.path(), &key)
            .unwrap()
            .with_cache_ttl(Duration::from_millis(200));
        // Stands in for `deltacloudd credentials add/remove` run while the server is up.
        let cli = Store::open(dir.path(), &key).unwrap();
        assert!(server.lookup_cached("AKX").await.unwrap().is_none());
        cli.add(&rec("AKX", "s3cret")).unwrap();
        assert!(
            server.lookup_cached("AKX").await.unwrap().is_none(),
            "within the TTL the cached answer stands"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(server.lookup_cached("AKX").await.unwrap().is_some());
        assert!(cli.remove("AKX").unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            server.lookup_cached("AKX").await.unwrap().is_none(),
            "a revoked key stops working after the TTL"
        );
        // With a zero TTL nothing is served from memory.
        let uncached = server.with_cache_ttl(Duration::ZERO);
        cli.add(&rec("AKX", "again")).unwrap();
        assert!(uncached.lookup_cached("AKX").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn cache_does_not_grow_with_unknown_keys() {
        let s = Store::in_memory()
            .unwrap()
            .with_cache_ttl(Duration::from_secs(3600));
        for i in 0..CACHE_MAX_ENTRIES + 50 {
            assert!(s.lookup_cached(&format!("AK{i}")).await.unwrap().is_none());
        }
        assert_eq!(s.cache().unwrap().credentials.len(), CACHE_MAX_ENTRIES);
        // Still correct for keys that did not fit.
        s.add(&rec("AK9999", "x")).unwrap();
        assert!(s.lookup_cached("AK9999").await.unwrap().is_some());
    }

    #[test]
    fn invalid_credentials_and_keys() {
        let s = Store::in_memory().unwrap();
        assert!(matches!(s.add(&rec("", "x")), Err(StoreError::Invalid(_))));
        assert!(matches!(
            s.add(&rec("a/b", "x")),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(s.add(&rec("a", "")), Err(StoreError::Invalid(_))));
        assert!(StoreKey::parse(&"ab".repeat(32)).is_ok());
        assert!(StoreKey::parse("AAAA").is_err());
        assert!(StoreKey::parse("not base64!").is_err());
        assert_eq!(
            format!("{:?}", StoreKey::generate()),
            "StoreKey([REDACTED])"
        );
    }

    #[test]
    fn tags() {
        let s = Store::in_memory().unwrap();
        s.put_tags(
            "mock/",
            "inst0",
            "instance",
            &[("Name".into(), "web".into()), ("env".into(), "prod".into())],
        )
        .unwrap();
        s.put_tags(
            "mock/",
            "inst0",
            "instance",
            &[("env".into(), "dev".into())],
        )
        .unwrap();
        s.put_tags("other/", "inst0", "instance", &[("x".into(), "y".into())])
            .unwrap();
        let t = s.tags("mock/").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].value, "dev");
        s.delete_tags("mock/", "inst0", &[("env".into(), Some("prod".into()))])
            .unwrap();
        assert_eq!(
            s.tags("mock/").unwrap().len(),
            2,
            "value mismatch keeps the tag"
        );
        s.delete_tags("mock/", "inst0", &[("env".into(), None)])
            .unwrap();
        assert_eq!(s.tags("mock/").unwrap().len(), 1);
        s.delete_tags("mock/", "inst0", &[]).unwrap();
        assert!(s.tags("mock/").unwrap().is_empty());
        assert_eq!(s.tags("other/").unwrap().len(), 1);
    }
}
