//! Buckets and blobs (`mock-driver.md` §2.8, §5.5).
//!
//! Blob content lives in the database, split into chunks of [`CHUNK_SIZE`] bytes
//! (`blob_chunks`), under a content id (`blob_contents`). An upload is consumed from its stream
//! chunk by chunk and written under a *fresh* content id that no blob points to yet, each chunk
//! in its own short transaction, so the writer lock is never held while waiting for the client.
//! A final transaction points the blob at the new content and drops the old one: readers see the
//! old blob or the new one, never a mix. Content of an upload that failed or was cut short by a
//! crash is unreferenced and removed (at once, or when the database is next opened). Downloads
//! read one chunk at a time. Blob and bucket names are only ever keys in SQL, never paths.
//!
//! As in the original, blob ids form one namespace across buckets: metadata get/update, delete
//! and create key on the blob id alone, while [`Buckets::blob`] and [`Buckets::blob_data`]
//! also require the bucket to match.

use crate::MockDriver;
use crate::db::{Db, DbResult};
use crate::util::{check_name, exists, ruby_time_now};
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use deltacloud_core::driver::Buckets;
use deltacloud_core::{
    Blob, BlobId, Bucket, BucketId, ByteStream, Error, Filter, RequestContext, Result,
};
use futures_util::StreamExt as _;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Size of one stored content chunk (and of the pieces a download yields).
pub const CHUNK_SIZE: usize = 256 * 1024;

const BLOB_COLS: &str = "id, bucket, content_type, content_length, last_modified, user_metadata";

fn blob_from_row(r: &Row<'_>) -> rusqlite::Result<(Blob, Option<String>)> {
    let len: i64 = r.get(3)?;
    Ok((
        Blob {
            id: BlobId::new(r.get::<_, String>(0)?),
            bucket: BucketId::new(r.get::<_, String>(1)?),
            content_length: u64::try_from(len).unwrap_or(0),
            content_type: r.get(2)?,
            last_modified: r.get(4)?,
            user_metadata: None,
        },
        r.get(5)?,
    ))
}

/// Stored metadata JSON ⇒ map; `NULL` is the seed's "empty string" metadata (blob3, blob5).
fn with_metadata((mut blob, meta): (Blob, Option<String>)) -> DbResult<Blob> {
    blob.user_metadata = meta.as_deref().map(serde_json::from_str).transpose()?;
    Ok(blob)
}

fn load_blob(tx: &Transaction<'_>, id: &str) -> DbResult<Option<Blob>> {
    tx.prepare_cached(&format!("SELECT {BLOB_COLS} FROM blobs WHERE id = ?1"))?
        .query_row([id], blob_from_row)
        .optional()?
        .map(with_metadata)
        .transpose()
}

/// Metadata keys are stored lower-cased, as the original's header renaming did.
fn normalise_metadata(meta: BTreeMap<String, String>) -> BTreeMap<String, String> {
    meta.into_iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect()
}

fn bucket_not_found() -> Error {
    Error::not_found("BucketNotExist")
}

/// One chunk of a content, or `None` past its end. Blocking.
fn read_chunk(db: &Db, content_id: i64, seq: i64) -> DbResult<Option<Vec<u8>>> {
    db.read(|tx| {
        Ok(tx
            .prepare_cached("SELECT data FROM blob_chunks WHERE content_id = ?1 AND seq = ?2")?
            .query_row([content_id, seq], |r| r.get(0))
            .optional()?)
    })
}

impl MockDriver {
    /// Write one chunk of an upload in its own transaction.
    async fn store_chunk(&self, content_id: i64, seq: i64, data: Bytes) -> Result<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO blob_chunks (content_id, seq, data) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![content_id, seq, data.as_ref()])?;
            Ok(())
        })
        .await
    }

    /// Consume `data` into chunks of `content_id`; returns the total length.
    async fn upload(&self, content_id: i64, mut data: ByteStream) -> Result<u64> {
        let mut buf = BytesMut::new();
        let mut seq = 0i64;
        let mut total = 0u64;
        while let Some(piece) = data.next().await {
            let piece = piece?;
            total += piece.len() as u64;
            buf.extend_from_slice(&piece);
            while buf.len() >= CHUNK_SIZE {
                let chunk = buf.split_to(CHUNK_SIZE).freeze();
                self.store_chunk(content_id, seq, chunk).await?;
                seq += 1;
            }
        }
        if !buf.is_empty() {
            self.store_chunk(content_id, seq, buf.freeze()).await?;
        }
        Ok(total)
    }

    /// Drop the content of an upload that will not be used (best effort: if this fails too, the
    /// next open of the database removes it).
    async fn discard_content(&self, content_id: i64) {
        let res = self
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM blob_contents WHERE id = ?1 AND id NOT IN (SELECT content_id FROM blobs)",
                    [content_id],
                )?;
                Ok(())
            })
            .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "could not discard the content of a failed blob upload");
        }
    }
}

#[async_trait]
impl Buckets for MockDriver {
    /// Buckets with their blob lists (computed from the blobs' `bucket`) and size = number of
    /// blobs. The original kept `size` as a separate counter that drifted on overwrites; the
    /// seed's counters equal the counts, so deriving it changes nothing a client could rely on.
    async fn buckets(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Bucket>> {
        self.authenticate(ctx)?;
        let all = self
            .read(|tx| {
                let buckets: Vec<(String, String)> = tx
                    .prepare_cached("SELECT id, name FROM buckets ORDER BY id")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let mut blobs: BTreeMap<String, Vec<BlobId>> = BTreeMap::new();
                let mut st =
                    tx.prepare_cached("SELECT bucket, id FROM blobs ORDER BY bucket, id")?;
                let rows =
                    st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
                for row in rows {
                    let (bucket, id) = row?;
                    blobs.entry(bucket).or_default().push(BlobId::new(id));
                }
                Ok(buckets
                    .into_iter()
                    .map(|(id, name)| {
                        let blob_list = blobs.remove(&id).unwrap_or_default();
                        Bucket {
                            id: BucketId::new(id),
                            name,
                            size: Some(blob_list.len() as u64),
                            blob_list,
                        }
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
        Ok(all.into_iter().filter(|b| f.pass_id(&b.id)).collect())
    }

    /// A new empty bucket; the location is ignored (no `bucket_location` feature). An existing
    /// name ⇒ 409 (the original silently emptied the bucket's record).
    async fn create_bucket(
        &self,
        ctx: &RequestContext,
        name: &str,
        _location: Option<&str>,
    ) -> Result<Bucket> {
        self.authenticate(ctx)?;
        check_name("bucket", name)?;
        let name = name.to_owned();
        self.write(move |tx| {
            if exists(tx, "buckets", &name)? {
                return Err(Error::conflict(format!("Bucket '{name}' already exists")).into());
            }
            tx.execute("INSERT INTO buckets (id, name) VALUES (?1, ?1)", [&name])?;
            Ok(Bucket {
                id: BucketId::new(name.clone()),
                name,
                size: Some(0),
                blob_list: Vec::new(),
            })
        })
        .await
    }

    /// Missing ⇒ 404 `BucketNotExist`; not empty ⇒ 403 (the intended codes; the original leaked
    /// 500s).
    async fn delete_bucket(&self, ctx: &RequestContext, id: &BucketId) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            if !exists(tx, "buckets", &id)? {
                return Err(bucket_not_found().into());
            }
            let has_blobs = tx
                .prepare_cached("SELECT 1 FROM blobs WHERE bucket = ?1 LIMIT 1")?
                .query_row([&id], |_| Ok(()))
                .optional()?
                .is_some();
            if has_blobs {
                return Err(
                    Error::forbidden("Delete operation not valid for non-empty bucket").into(),
                );
            }
            tx.execute("DELETE FROM buckets WHERE id = ?1", [&id])?;
            Ok(())
        })
        .await
    }

    async fn blob(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
    ) -> Result<Option<Blob>> {
        self.authenticate(ctx)?;
        let (bucket, id) = (bucket.to_string(), id.to_string());
        self.read(move |tx| Ok(load_blob(tx, &id)?.filter(|b| b.bucket == bucket.as_str())))
            .await
    }

    /// The content, one stored chunk at a time; a blob overwritten or deleted mid-download ends
    /// the stream with an error rather than mixing two versions.
    async fn blob_data(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
    ) -> Result<ByteStream> {
        self.authenticate(ctx)?;
        let (bucket_s, id_s) = (bucket.to_string(), id.to_string());
        let found = self
            .read(move |tx| {
                Ok(tx
                    .prepare_cached(
                        "SELECT b.content_id, (SELECT COUNT(*) FROM blob_chunks c WHERE c.content_id = b.content_id)
                         FROM blobs b WHERE b.id = ?1 AND b.bucket = ?2",
                    )?
                    .query_row([&id_s, &bucket_s], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
                    .optional()?)
            })
            .await?;
        let Some((content_id, chunks)) = found else {
            return Err(Error::not_found(format!(
                "Blob '{id}' not found in bucket '{bucket}'"
            )));
        };
        let db = Arc::clone(&self.db);
        let stream = futures_util::stream::unfold(Some(0i64), move |next| {
            let db = Arc::clone(&db);
            async move {
                let seq = next.filter(|s| *s < chunks)?;
                let res =
                    tokio::task::spawn_blocking(move || read_chunk(&db, content_id, seq)).await;
                let item = match res {
                    Ok(Ok(Some(data))) => Ok(Bytes::from(data)),
                    Ok(Ok(None)) => {
                        Err(Error::internal("The blob changed while it was being read"))
                    }
                    Ok(Err(e)) => Err(Error::from(e)),
                    Err(e) => Err(Error::internal("A mock database task failed").with_cause(e)),
                };
                let next = if item.is_ok() { Some(seq + 1) } else { None };
                Some((item, next))
            }
        });
        Ok(stream.boxed())
    }

    /// Create or overwrite blob `id` (one namespace for all buckets) in `bucket`, streaming the
    /// content into the database. Missing bucket ⇒ 404 (the original's 500 was a defect).
    async fn create_blob(
        &self,
        ctx: &RequestContext,
        bucket: &BucketId,
        id: &BlobId,
        content_type: Option<&str>,
        user_metadata: BTreeMap<String, String>,
        data: ByteStream,
    ) -> Result<Blob> {
        self.authenticate(ctx)?;
        check_name("blob", id)?;
        let bucket = bucket.to_string();
        let b = bucket.clone();
        let content_id = self
            .write(move |tx| {
                if !exists(tx, "buckets", &b)? {
                    return Err(bucket_not_found().into());
                }
                tx.execute("INSERT INTO blob_contents DEFAULT VALUES", [])?;
                Ok(tx.last_insert_rowid())
            })
            .await?;
        let total = match self.upload(content_id, data).await {
            Ok(t) => t,
            Err(e) => {
                self.discard_content(content_id).await;
                return Err(e);
            }
        };
        let meta = serde_json::to_string(&normalise_metadata(user_metadata))
            .map_err(|e| Error::internal("Cannot encode blob metadata").with_cause(e))?;
        let (id, content_type) = (id.to_string(), content_type.map(str::to_owned));
        let len = i64::try_from(total).map_err(|_| Error::validation("The blob is too large"))?;
        let res = self
            .write(move |tx| {
                if !exists(tx, "buckets", &bucket)? {
                    return Err(bucket_not_found().into());
                }
                let old: Option<i64> = tx
                    .prepare_cached("SELECT content_id FROM blobs WHERE id = ?1")?
                    .query_row([&id], |r| r.get(0))
                    .optional()?;
                tx.prepare_cached(
                    "INSERT INTO blobs (id, bucket, content_type, content_length, last_modified, user_metadata, content_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (id) DO UPDATE SET bucket = excluded.bucket, content_type = excluded.content_type,
                         content_length = excluded.content_length, last_modified = excluded.last_modified,
                         user_metadata = excluded.user_metadata, content_id = excluded.content_id",
                )?
                .execute(params![id, bucket, content_type, len, ruby_time_now(), meta, content_id])?;
                if let Some(old) = old {
                    tx.execute("DELETE FROM blob_contents WHERE id = ?1", [old])?;
                }
                load_blob(tx, &id)?.ok_or_else(|| Error::internal("Created blob not found").into())
            })
            .await;
        if res.is_err() {
            self.discard_content(content_id).await;
        }
        res
    }

    /// Keys on the blob id alone. A missing blob is a 500 `Could not delete a non existent
    /// blob`: that is the mock's declared mapping (`mock-driver.md` §8), not a leak.
    async fn delete_blob(
        &self,
        ctx: &RequestContext,
        _bucket: &BucketId,
        id: &BlobId,
    ) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            let content: Option<i64> = tx
                .prepare_cached("SELECT content_id FROM blobs WHERE id = ?1")?
                .query_row([&id], |r| r.get(0))
                .optional()?;
            let Some(content) = content else {
                return Err(Error::internal("Could not delete a non existent blob").into());
            };
            tx.execute("DELETE FROM blobs WHERE id = ?1", [&id])?;
            tx.execute("DELETE FROM blob_contents WHERE id = ?1", [content])?;
            Ok(())
        })
        .await
    }

    /// Keys on the blob id alone; `None` if there is no such blob. The seed's "empty string"
    /// metadata reads as an empty map.
    async fn blob_metadata(
        &self,
        ctx: &RequestContext,
        _bucket: &BucketId,
        id: &BlobId,
    ) -> Result<Option<BTreeMap<String, String>>> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.read(move |tx| Ok(load_blob(tx, &id)?.map(|b| b.user_metadata.unwrap_or_default())))
            .await
    }

    /// Replaces the whole map (keys lower-cased); keys on the blob id alone; missing ⇒ 404.
    async fn update_blob_metadata(
        &self,
        ctx: &RequestContext,
        _bucket: &BucketId,
        id: &BlobId,
        meta: BTreeMap<String, String>,
    ) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        let meta = serde_json::to_string(&normalise_metadata(meta))
            .map_err(|e| Error::internal("Cannot encode blob metadata").with_cause(e))?;
        self.write(move |tx| {
            if tx.execute(
                "UPDATE blobs SET user_metadata = ?2 WHERE id = ?1",
                params![id, meta],
            )? == 0
            {
                return Err(Error::not_found(format!("Blob '{id}' not found")).into());
            }
            Ok(())
        })
        .await
    }
}
