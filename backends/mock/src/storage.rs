//! Storage volumes and snapshots (`mock-driver.md` §2.6, §2.7, §4, §5.4).

use crate::MockDriver;
use crate::db::DbResult;
use crate::util::{epoch_id, exists, ruby_time_now};
use async_trait::async_trait;
use deltacloud_core::driver::{StorageSnapshots, StorageVolumes};
use deltacloud_core::{
    CreateStorageSnapshot, CreateStorageVolume, Error, Filter, InstanceId, RealmId, RequestContext,
    Result, StorageSnapshot, StorageSnapshotId, StorageVolume, StorageVolumeId,
};
use rusqlite::{OptionalExtension, Row, Transaction, params};

const VOLUME_COLS: &str =
    "id, name, description, created, state, capacity, instance_id, device, realm_id";

fn volume_from_row(r: &Row<'_>) -> rusqlite::Result<StorageVolume> {
    Ok(StorageVolume {
        id: StorageVolumeId::new(r.get::<_, String>(0)?),
        name: r.get(1)?,
        description: r.get(2)?,
        created: r.get(3)?,
        state: r.get(4)?,
        capacity: r.get(5)?,
        instance_id: r.get::<_, Option<String>>(6)?.map(InstanceId::new),
        device: r.get(7)?,
        realm_id: r.get::<_, Option<String>>(8)?.map(RealmId::new),
        kind: None,
        // The mock reports no volume actions (its XML has no <actions> element).
        actions: None,
    })
}

fn load_volume(tx: &Transaction<'_>, id: &str) -> DbResult<Option<StorageVolume>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {VOLUME_COLS} FROM storage_volumes WHERE id = ?1"
        ))?
        .query_row([id], volume_from_row)
        .optional()?)
}

/// An instance's `storage_volumes`: `(volume, device)` pairs, or `None` when it has no list.
type VolumeList = Option<Vec<(String, String)>>;

/// Read an instance's `storage_volumes` list; the outer `None` means there is no such instance.
fn instance_volumes(tx: &Transaction<'_>, instance: &str) -> DbResult<Option<VolumeList>> {
    let raw: Option<Option<String>> = tx
        .prepare_cached("SELECT storage_volumes FROM instances WHERE id = ?1")?
        .query_row([instance], |r| r.get(0))
        .optional()?;
    Ok(match raw {
        None => None,
        Some(None) => Some(None),
        Some(Some(json)) => Some(Some(serde_json::from_str(&json)?)),
    })
}

fn store_instance_volumes(
    tx: &Transaction<'_>,
    instance: &str,
    list: &[(String, String)],
) -> DbResult<()> {
    tx.execute(
        "UPDATE instances SET storage_volumes = ?2 WHERE id = ?1",
        params![instance, serde_json::to_string(list)?],
    )?;
    Ok(())
}

#[async_trait]
impl StorageVolumes for MockDriver {
    async fn storage_volumes(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<StorageVolume>> {
        self.authenticate(ctx)?;
        let all = self
            .read(|tx| {
                let mut st = tx.prepare_cached(&format!(
                    "SELECT {VOLUME_COLS} FROM storage_volumes ORDER BY id"
                ))?;
                Ok(st
                    .query_map([], volume_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        Ok(all.into_iter().filter(|v| f.pass_id(&v.id)).collect())
    }

    /// Id `volume_<epoch>` (bumped when taken), name = `name` or `Volume<id>`, capacity =
    /// `capacity` or 1 GB. As in the original, realm and description are not stored and the
    /// snapshot id is ignored.
    async fn create_storage_volume(
        &self,
        ctx: &RequestContext,
        req: &CreateStorageVolume,
    ) -> Result<StorageVolume> {
        self.authenticate(ctx)?;
        let capacity = req.capacity.clone().unwrap_or_else(|| "1".to_owned());
        if !capacity
            .parse::<f64>()
            .is_ok_and(|c| c.is_finite() && c > 0.0)
        {
            return Err(Error::validation(format!(
                "Invalid capacity '{capacity}': expected a positive number of GB"
            )));
        }
        let name = req.name.clone().filter(|n| !n.is_empty());
        self.write(move |tx| {
            let id = epoch_id(tx, "storage_volumes", "volume_")?;
            let name = name.unwrap_or_else(|| format!("Volume{id}"));
            tx.execute(
                "INSERT INTO storage_volumes (id, name, created, state, capacity) VALUES (?1, ?2, ?3, 'AVAILABLE', ?4)",
                params![id, name, ruby_time_now(), capacity],
            )?;
            load_volume(tx, &id)?.ok_or_else(|| Error::internal("Created volume not found").into())
        })
        .await
    }

    /// Deletes the record; a missing volume is not an error (the original answered 204).
    async fn destroy_storage_volume(
        &self,
        ctx: &RequestContext,
        id: &StorageVolumeId,
    ) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM storage_volumes WHERE id = ?1", [&id])?;
            Ok(())
        })
        .await
    }

    /// Volume ⇒ `IN-USE` on `instance` at `device`, and `{volume: device}` appended to the
    /// instance's `storage_volumes`. Unknown volume or instance ⇒ 404; a volume that is already
    /// attached ⇒ 403 (the original silently re-pointed it).
    async fn attach_storage_volume(
        &self,
        ctx: &RequestContext,
        id: &StorageVolumeId,
        instance: &InstanceId,
        device: &str,
    ) -> Result<StorageVolume> {
        let user = self.authenticate(ctx)?.to_owned();
        if device.is_empty() {
            return Err(Error::validation("A device is required to attach a volume"));
        }
        let (id, instance, device) = (id.to_string(), instance.to_string(), device.to_owned());
        self.write(move |tx| {
            let vol = load_volume(tx, &id)?.ok_or_else(|| Error::not_found(format!("Volume '{id}' not found")))?;
            if !crate::compute::instance_visible(tx, &user, &instance)? {
                return Err(Error::not_found(format!("Instance '{instance}' not found")).into());
            }
            if let Some(other) = &vol.instance_id {
                return Err(Error::forbidden(format!("Volume '{id}' is already attached to '{other}'")).into());
            }
            tx.execute(
                "UPDATE storage_volumes SET instance_id = ?2, device = ?3, state = 'IN-USE' WHERE id = ?1",
                params![id, instance, device],
            )?;
            let mut list = instance_volumes(tx, &instance)?.flatten().unwrap_or_default();
            list.push((id.clone(), device));
            store_instance_volumes(tx, &instance, &list)?;
            load_volume(tx, &id)?.ok_or_else(|| Error::internal("Attached volume not found").into())
        })
        .await
    }

    /// Clears the attachment, state ⇒ `AVAILABLE`, and removes the mapping from the instance.
    /// Unknown volume ⇒ 404; a volume that is not attached ⇒ 403.
    async fn detach_storage_volume(
        &self,
        ctx: &RequestContext,
        id: &StorageVolumeId,
    ) -> Result<StorageVolume> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            let vol = load_volume(tx, &id)?.ok_or_else(|| Error::not_found(format!("Volume '{id}' not found")))?;
            let Some(instance) = vol.instance_id else {
                return Err(Error::forbidden(format!("Volume '{id}' is not attached")).into());
            };
            tx.execute(
                "UPDATE storage_volumes SET instance_id = NULL, device = NULL, state = 'AVAILABLE' WHERE id = ?1",
                [&id],
            )?;
            if let Some(Some(mut list)) = instance_volumes(tx, &instance)? {
                let device = vol.device.unwrap_or_default();
                list.retain(|(v, d)| !(v == &id && d == &device));
                store_instance_volumes(tx, &instance, &list)?;
            }
            load_volume(tx, &id)?.ok_or_else(|| Error::internal("Detached volume not found").into())
        })
        .await
    }
}

const SNAPSHOT_COLS: &str = "id, name, description, state, storage_volume_id, created";

fn snapshot_from_row(r: &Row<'_>) -> rusqlite::Result<StorageSnapshot> {
    Ok(StorageSnapshot {
        id: StorageSnapshotId::new(r.get::<_, String>(0)?),
        name: r.get(1)?,
        description: r.get(2)?,
        state: r.get(3)?,
        storage_volume_id: r.get::<_, Option<String>>(4)?.map(StorageVolumeId::new),
        created: r.get(5)?,
    })
}

#[async_trait]
impl StorageSnapshots for MockDriver {
    async fn storage_snapshots(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<StorageSnapshot>> {
        self.authenticate(ctx)?;
        let all = self
            .read(|tx| {
                let mut st = tx.prepare_cached(&format!(
                    "SELECT {SNAPSHOT_COLS} FROM storage_snapshots ORDER BY id"
                ))?;
                Ok(st
                    .query_map([], snapshot_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        Ok(all.into_iter().filter(|s| f.pass_id(&s.id)).collect())
    }

    /// Id `store_snapshot_<epoch>` (bumped when taken), state `COMPLETED`. Unlike the original we
    /// check that the volume exists (404 otherwise).
    async fn create_storage_snapshot(
        &self,
        ctx: &RequestContext,
        req: &CreateStorageSnapshot,
    ) -> Result<StorageSnapshot> {
        self.authenticate(ctx)?;
        let volume = req.volume_id.to_string();
        let (name, description) = (req.name.clone(), req.description.clone());
        self.write(move |tx| {
            if !exists(tx, "storage_volumes", &volume)? {
                return Err(Error::not_found(format!("Volume '{volume}' not found")).into());
            }
            let id = epoch_id(tx, "storage_snapshots", "store_snapshot_")?;
            tx.execute(
                "INSERT INTO storage_snapshots (id, name, description, state, storage_volume_id, created)
                 VALUES (?1, ?2, ?3, 'COMPLETED', ?4, ?5)",
                params![id, name, description, volume, ruby_time_now()],
            )?;
            Ok(tx
                .prepare_cached(&format!("SELECT {SNAPSHOT_COLS} FROM storage_snapshots WHERE id = ?1"))?
                .query_row([&id], snapshot_from_row)?)
        })
        .await
    }

    /// Deletes the record; a missing snapshot is not an error (the original answered 204).
    async fn destroy_storage_snapshot(
        &self,
        ctx: &RequestContext,
        id: &StorageSnapshotId,
    ) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM storage_snapshots WHERE id = ?1", [&id])?;
            Ok(())
        })
        .await
    }
}
