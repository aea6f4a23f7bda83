//! EBS volumes and snapshots.

use crate::client::{Call, Params};
use crate::wire::{self, nonempty};
use crate::{Ec2Driver, empty_if_not_found};
use async_trait::async_trait;
use deltacloud_core::driver::{StorageSnapshots, StorageVolumes};
use deltacloud_core::{
    CreateStorageSnapshot, CreateStorageVolume, Error, Filter, InstanceId, RealmId, RequestContext,
    Result, StorageSnapshot, StorageSnapshotId, StorageVolume, StorageVolumeId,
};

fn convert_volume(v: wire::VolumeItem) -> StorageVolume {
    let status = nonempty(v.status.as_ref());
    let attachment = v.attachment_set.item.first();
    let actions = match status.as_deref() {
        Some("available") => vec!["attach".to_owned(), "destroy".to_owned()],
        Some("in-use") => vec!["detach".to_owned()],
        _ => Vec::new(),
    };
    StorageVolume {
        name: v
            .tag_set
            .item
            .iter()
            .find(|t| t.key == "Name")
            .and_then(|t| nonempty(t.value.as_ref()))
            .or_else(|| Some(v.volume_id.clone())),
        description: None,
        created: nonempty(v.create_time.as_ref()),
        state: status.map(|s| s.to_uppercase()),
        capacity: nonempty(v.size.as_ref()),
        instance_id: attachment
            .and_then(|a| nonempty(a.instance_id.as_ref()))
            .map(InstanceId::new),
        device: attachment.and_then(|a| nonempty(a.device.as_ref())),
        realm_id: nonempty(v.availability_zone.as_ref()).map(RealmId::new),
        kind: nonempty(v.volume_type.as_ref()),
        actions: Some(actions),
        id: StorageVolumeId::new(v.volume_id),
    }
}

fn convert_snapshot(s: wire::SnapshotItem) -> StorageSnapshot {
    StorageSnapshot {
        name: Some(s.snapshot_id.clone()),
        description: nonempty(s.description.as_ref()),
        state: nonempty(s.status.as_ref()).map(|st| st.to_uppercase()),
        storage_volume_id: nonempty(s.volume_id.as_ref()).map(StorageVolumeId::new),
        created: nonempty(s.start_time.as_ref()),
        id: StorageSnapshotId::new(s.snapshot_id),
    }
}

impl Ec2Driver {
    async fn describe_volumes(
        &self,
        ctx: &RequestContext,
        ids: &[&str],
    ) -> Result<Vec<StorageVolume>> {
        let r: wire::DescribeVolumes = self
            .call(
                ctx,
                "DescribeVolumes",
                Params::new().list("VolumeId", ids),
                Call::Read,
            )
            .await?;
        Ok(r.volume_set.item.into_iter().map(convert_volume).collect())
    }

    async fn volume(&self, ctx: &RequestContext, id: &StorageVolumeId) -> Result<StorageVolume> {
        self.describe_volumes(ctx, &[id.as_str()])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(format!("The volume '{id}' does not exist")))
    }
}

#[async_trait]
impl StorageVolumes for Ec2Driver {
    async fn storage_volumes(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<StorageVolume>> {
        let ids: Vec<&str> = f.id.iter().flatten().map(String::as_str).collect();
        let mut out = empty_if_not_found(f.id.is_some(), self.describe_volumes(ctx, &ids).await)?;
        out.retain(|v| {
            f.pass_id(&v.id)
                && Filter::pass(f.state.as_ref(), v.state.as_deref())
                && Filter::pass(f.realm_id.as_ref(), v.realm_id.as_deref())
        });
        Ok(out)
    }

    /// `CreateVolume`: capacity in GB (default 1), in the realm's zone (default the first zone),
    /// optionally from a snapshot.
    async fn create_storage_volume(
        &self,
        ctx: &RequestContext,
        req: &CreateStorageVolume,
    ) -> Result<StorageVolume> {
        let size = match req.capacity.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(
                c.parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        Error::validation(format!(
                            "Invalid capacity '{c}': expected a positive number of GB"
                        ))
                    })?
                    .to_string(),
            ),
        };
        let size = if size.is_none() && req.snapshot_id.is_none() {
            Some("1".to_owned())
        } else {
            size
        };
        let zone = match &req.realm_id {
            Some(r) => r.split(':').next().unwrap_or_default().to_owned(),
            None => self.default_zone(ctx).await?,
        };
        let v: wire::VolumeItem = self
            .call(
                ctx,
                "CreateVolume",
                Params::new()
                    .opt("Size", size)
                    .set("AvailabilityZone", zone)
                    .opt("SnapshotId", req.snapshot_id.as_ref().map(|s| s.0.clone())),
                Call::Write,
            )
            .await?;
        Ok(convert_volume(v))
    }

    async fn destroy_storage_volume(
        &self,
        ctx: &RequestContext,
        id: &StorageVolumeId,
    ) -> Result<()> {
        self.call_ack(
            ctx,
            "DeleteVolume",
            Params::new().set("VolumeId", id.as_str()),
            Call::Write,
        )
        .await
    }

    async fn attach_storage_volume(
        &self,
        ctx: &RequestContext,
        id: &StorageVolumeId,
        instance: &InstanceId,
        device: &str,
    ) -> Result<StorageVolume> {
        if device.trim().is_empty() {
            return Err(Error::validation(
                "A device name is required (e.g. /dev/sdh)",
            ));
        }
        let _: wire::Attachment = self
            .call(
                ctx,
                "AttachVolume",
                Params::new()
                    .set("VolumeId", id.as_str())
                    .set("InstanceId", instance.as_str())
                    .set("Device", device.trim()),
                Call::Write,
            )
            .await?;
        self.volume(ctx, id).await
    }

    /// `DetachVolume` naming the instance and device it is attached to. EC2 needs only the
    /// volume id, but moto fails with a 500 when `InstanceId` is missing, so the attachment is
    /// read first (one extra `DescribeVolumes`) and sent along, which EC2 accepts as well.
    async fn detach_storage_volume(
        &self,
        ctx: &RequestContext,
        id: &StorageVolumeId,
    ) -> Result<StorageVolume> {
        let current = self.volume(ctx, id).await?;
        let _: wire::Attachment = self
            .call(
                ctx,
                "DetachVolume",
                Params::new()
                    .set("VolumeId", id.as_str())
                    .opt("InstanceId", current.instance_id.map(|i| i.0))
                    .opt("Device", current.device),
                Call::Write,
            )
            .await?;
        self.volume(ctx, id).await
    }
}

#[async_trait]
impl StorageSnapshots for Ec2Driver {
    /// By id: those snapshots. Otherwise the caller's own (`owner_id` filter, `all` for every
    /// public snapshot, which on real EC2 is a multi-megabyte answer).
    async fn storage_snapshots(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<StorageSnapshot>> {
        let mut params = Params::new();
        if let Some(ids) = &f.id {
            params = params.list("SnapshotId", ids);
        } else {
            let owners: Vec<String> = f.owner_id.clone().unwrap_or_else(|| vec!["self".into()]);
            if !owners.iter().any(|o| o == "all") {
                params = params.list("Owner", &owners);
            }
        }
        let r: Result<wire::DescribeSnapshots> = self
            .call(ctx, "DescribeSnapshots", params, Call::Read)
            .await;
        let mut out = empty_if_not_found(
            f.id.is_some(),
            r.map(|r| {
                r.snapshot_set
                    .item
                    .into_iter()
                    .map(convert_snapshot)
                    .collect()
            }),
        )?;
        out.retain(|s| Filter::pass(f.state.as_ref(), s.state.as_deref()));
        Ok(out)
    }

    async fn create_storage_snapshot(
        &self,
        ctx: &RequestContext,
        req: &CreateStorageSnapshot,
    ) -> Result<StorageSnapshot> {
        let s: wire::SnapshotItem = self
            .call(
                ctx,
                "CreateSnapshot",
                Params::new()
                    .set("VolumeId", req.volume_id.as_str())
                    .opt("Description", req.description.clone()),
                Call::Write,
            )
            .await?;
        Ok(convert_snapshot(s))
    }

    async fn destroy_storage_snapshot(
        &self,
        ctx: &RequestContext,
        id: &StorageSnapshotId,
    ) -> Result<()> {
        self.call_ack(
            ctx,
            "DeleteSnapshot",
            Params::new().set("SnapshotId", id.as_str()),
            Call::Write,
        )
        .await
    }
}
