//! Storage volumes: the engine's virtual disks (`GET disks`), attached to VMs and detached.
//!
//! | volume | disk |
//! |---|---|
//! | id, name, description | id, `name` (v4) or `alias` (v3), description |
//! | capacity (GB) | `provisioned_size` (bytes; v3 may only have `size`) |
//! | state | `locked` ⇒ `CREATING`, `illegal` ⇒ `ERROR`, `ok` ⇒ `IN-USE` when attached, else `AVAILABLE` |
//! | instance id, device | the VM it is attached to, and the guest's device name when the engine knows it |
//!
//! Which VM a disk is attached to is told differently by the two API versions: a v3 disk lists
//! its VMs (`<vms><vm id/></vms>`); v4 moved that to each VM's `diskattachments`, so a v4 list
//! asks every VM of the provider's data center for its attachments (concurrently, a few at a
//! time). Disks the engine keeps for itself (`OVF_STORE`, memory dumps: any `content_type` but
//! `data`) are not volumes.
//!
//! New disks are thin-provisioned (`cow`, sparse) on the first `data` storage domain of the
//! provider's data center. Attaching uses the `virtio` interface, not bootable; the engine
//! chooses the guest device name, so the device the caller asks for is not passed on (the
//! engine API has no way to ask for one). Creating a disk from a snapshot is not offered.

use crate::RhevmDriver;
use crate::client::Engine;
use crate::compute::{check_id, datacenter, generated_name, is_safe_id, single_id};
use crate::xml::{
    AttachDiskV3, DetachV3, Disk, DiskAttachments, Disks, IdRef, NewDisk, NewDiskAttachment,
    StorageDomainRefs, StorageDomains,
};
use async_trait::async_trait;
use deltacloud_core::driver::StorageVolumes;
use deltacloud_core::{
    CreateStorageVolume, Error, ErrorKind, Filter, InstanceId, RequestContext, Result,
    StorageVolume, StorageVolumeId,
};
use futures_util::{StreamExt as _, TryStreamExt as _};
use std::collections::HashMap;

const GIB: u64 = 1024 * 1024 * 1024;
/// Largest disk a caller may ask for, in GB (64 TiB, oVirt's own limit for a thin disk is far
/// above what any test engine has; this only refuses absurd input before the engine sees it).
const MAX_CAPACITY_GB: f64 = 65536.0;
/// VMs asked for their disk attachments at once (v4 lists).
const ATTACHMENT_FETCHES: usize = 8;

/// Where a disk is attached: the VM and, when the engine knows it, the guest device.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Attachment {
    vm: String,
    device: Option<String>,
}

/// Bytes as the GB figure Deltacloud volumes carry: whole numbers without a fraction,
/// otherwise two decimals.
fn gigabytes(bytes: u64) -> String {
    if bytes.is_multiple_of(GIB) {
        (bytes / GIB).to_string()
    } else {
        #[allow(clippy::cast_precision_loss)]
        let gb = bytes as f64 / GIB as f64;
        format!("{gb:.2}")
    }
}

/// A requested capacity (GB, possibly fractional) in bytes.
fn capacity_bytes(capacity: Option<&str>) -> Result<u64> {
    let raw = capacity
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::validation("A capacity (in GB) is required to create a disk"))?;
    let gb: f64 = raw
        .parse()
        .ok()
        .filter(|g: &f64| g.is_finite() && *g > 0.0 && *g <= MAX_CAPACITY_GB)
        .ok_or_else(|| {
            Error::validation(format!(
                "Invalid capacity '{raw}': expected a number of GB between 0 and {MAX_CAPACITY_GB}"
            ))
        })?;
    // Round up to whole MiB, which every storage type accepts.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let mib = (gb * 1024.0).ceil() as u64;
    Ok(mib * 1024 * 1024)
}

fn is_data_disk(d: &Disk) -> bool {
    d.content_type.as_deref().is_none_or(|c| c == "data")
}

fn volume_from(d: Disk, at: Option<&Attachment>) -> StorageVolume {
    let status = d
        .status
        .as_ref()
        .and_then(|s| s.value())
        .map(str::to_ascii_lowercase);
    let state = match status.as_deref() {
        Some("locked") => "CREATING".to_owned(),
        Some("illegal") => "ERROR".to_owned(),
        Some("ok") | None if at.is_some() => "IN-USE".to_owned(),
        Some("ok") | None => "AVAILABLE".to_owned(),
        Some(other) => other.to_ascii_uppercase(),
    };
    let actions = match state.as_str() {
        "IN-USE" => vec!["detach".to_owned()],
        "AVAILABLE" => vec!["attach".to_owned(), "destroy".to_owned()],
        _ => Vec::new(),
    };
    StorageVolume {
        name: d.name.or(d.alias),
        description: d.description.filter(|s| !s.is_empty()),
        created: None,
        state: Some(state),
        capacity: d.provisioned_size.or(d.size).map(gigabytes),
        instance_id: at.map(|a| InstanceId::new(a.vm.clone())),
        device: at.and_then(|a| a.device.clone()),
        realm_id: None,
        kind: None,
        actions: Some(actions),
        id: StorageVolumeId::new(d.id),
    }
}

impl RhevmDriver {
    /// Disk id ⇒ attachment, for `disks`.
    async fn attachments(
        &self,
        eng: &Engine<'_>,
        disks: &[Disk],
    ) -> Result<HashMap<String, Attachment>> {
        if eng.is_v3() {
            return Ok(disks
                .iter()
                .filter_map(|d| {
                    let vm = d.vms.as_ref()?.items.first()?.id.clone()?;
                    Some((d.id.clone(), Attachment { vm, device: None }))
                })
                .collect());
        }
        if disks.is_empty() {
            return Ok(HashMap::new());
        }
        let vms = self.vms(eng, &Filter::default()).await?;
        let lists: Vec<(String, DiskAttachments)> = futures_util::stream::iter(vms)
            .map(|vm| async move {
                let path = format!("vms/{}/diskattachments", check_id(&vm.id)?);
                // A VM deleted since the list was read has no attachments.
                let list = eng.get_opt::<DiskAttachments>(&path).await?;
                Ok::<_, Error>((vm.id, list.unwrap_or_default()))
            })
            .buffer_unordered(ATTACHMENT_FETCHES)
            .try_collect()
            .await?;
        let mut out = HashMap::new();
        for (vm, list) in lists {
            for a in list.items {
                let disk = a.disk.and_then(|d| d.id).unwrap_or(a.id);
                out.insert(
                    disk,
                    Attachment {
                        vm: vm.clone(),
                        device: a.logical_name.filter(|n| !n.is_empty()),
                    },
                );
            }
        }
        Ok(out)
    }

    /// The disk `id` as a volume now, or 404.
    async fn volume(&self, eng: &Engine<'_>, id: &str) -> Result<StorageVolume> {
        let disk = eng
            .get_opt::<Disk>(&format!("disks/{}", check_id(id)?))
            .await?
            .filter(is_data_disk)
            .ok_or_else(|| Error::not_found(format!("Storage volume '{id}' does not exist")))?;
        let at = self.attachments(eng, std::slice::from_ref(&disk)).await?;
        let a = at.get(&disk.id).cloned();
        Ok(volume_from(disk, a.as_ref()))
    }

    /// The storage domain new disks go to: the first `data` domain of the provider's data
    /// center (a domain that lists no data centers counts as belonging to it).
    async fn data_domain(&self, eng: &Engine<'_>) -> Result<String> {
        let dc = datacenter(eng).await?;
        let domains: StorageDomains = eng.get("storagedomains", &[]).await?;
        domains
            .items
            .into_iter()
            .filter(|s| s.kind.as_deref() == Some("data"))
            .find(|s| {
                s.data_centers.as_ref().is_none_or(|l| {
                    l.items.is_empty() || l.items.iter().any(|r| r.id.as_deref() == Some(&dc.id))
                })
            })
            .map(|s| s.id)
            .ok_or_else(|| {
                Error::validation(format!(
                    "Data center '{}' has no data storage domain to create the disk on",
                    dc.name
                ))
            })
    }
}

#[async_trait]
impl StorageVolumes for RhevmDriver {
    async fn storage_volumes(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<StorageVolume>> {
        let eng = self.engine(ctx)?;
        let disks: Vec<Disk> = match single_id(f) {
            Some(id) if !is_safe_id(id) => Vec::new(),
            Some(id) => eng
                .get_opt::<Disk>(&format!("disks/{id}"))
                .await?
                .into_iter()
                .collect(),
            None => eng.get::<Disks>("disks", &[]).await?.items,
        };
        let disks: Vec<Disk> = disks
            .into_iter()
            .filter(is_data_disk)
            .filter(|d| f.pass_id(&d.id))
            .collect();
        let at = self.attachments(&eng, &disks).await?;
        Ok(disks
            .into_iter()
            .map(|d| {
                let a = at.get(&d.id).cloned();
                volume_from(d, a.as_ref())
            })
            .collect())
    }

    async fn create_storage_volume(
        &self,
        ctx: &RequestContext,
        req: &CreateStorageVolume,
    ) -> Result<StorageVolume> {
        if req.snapshot_id.is_some() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "The rhevm driver cannot create a volume from a snapshot",
            ));
        }
        let bytes = capacity_bytes(req.capacity.as_deref())?;
        let eng = self.engine(ctx)?;
        let domain = self.data_domain(&eng).await?;
        let name = req
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| generated_name("vol"));
        let v3 = eng.is_v3();
        let body = NewDisk {
            alias: name.clone(),
            name,
            description: req.description.clone().filter(|d| !d.is_empty()),
            provisioned_size: bytes,
            size: v3.then_some(bytes),
            format: "cow".to_owned(),
            sparse: true,
            // v3 wants the interface on the disk; v4 puts it on the attachment.
            interface: v3.then(|| "virtio".to_owned()),
            storage_domains: StorageDomainRefs {
                items: vec![IdRef::new(&domain)],
            },
        };
        let disk: Disk = eng.post("disks", &body).await?;
        Ok(volume_from(disk, None))
    }

    async fn destroy_storage_volume(
        &self,
        ctx: &RequestContext,
        id: &StorageVolumeId,
    ) -> Result<()> {
        let eng = self.engine(ctx)?;
        eng.delete(&format!("disks/{}", check_id(id)?)).await
    }

    async fn attach_storage_volume(
        &self,
        ctx: &RequestContext,
        id: &StorageVolumeId,
        instance: &InstanceId,
        _device: &str,
    ) -> Result<StorageVolume> {
        let eng = self.engine(ctx)?;
        let (disk, vm) = (check_id(id)?, check_id(instance)?);
        if eng.is_v3() {
            let body = AttachDiskV3 {
                id: disk.to_owned(),
                active: true,
            };
            eng.post::<_, Disk>(&format!("vms/{vm}/disks"), &body)
                .await?;
        } else {
            let body = NewDiskAttachment {
                disk: IdRef::new(disk),
                interface: "virtio".to_owned(),
                bootable: false,
                active: true,
            };
            eng.post::<_, crate::xml::DiskAttachment>(&format!("vms/{vm}/diskattachments"), &body)
                .await?;
        }
        self.volume(&eng, disk).await
    }

    async fn detach_storage_volume(
        &self,
        ctx: &RequestContext,
        id: &StorageVolumeId,
    ) -> Result<StorageVolume> {
        let eng = self.engine(ctx)?;
        let disk = check_id(id)?;
        let current = self.volume(&eng, disk).await?;
        let Some(vm) = current.instance_id else {
            return Err(Error::invalid_state(format!(
                "Storage volume '{disk}' is not attached"
            )));
        };
        let vm = check_id(&vm)?;
        if eng.is_v3() {
            eng.delete_with(
                &format!("vms/{vm}/disks/{disk}"),
                &DetachV3 { detach: true },
            )
            .await?;
        } else {
            eng.delete(&format!("vms/{vm}/diskattachments/{disk}"))
                .await?;
        }
        self.volume(&eng, disk).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Status, VmRefs, from_xml};

    #[test]
    fn sizes() {
        assert_eq!(gigabytes(GIB), "1");
        assert_eq!(gigabytes(41_126_400), "0.04");
        assert_eq!(gigabytes(10 * GIB), "10");
        assert_eq!(capacity_bytes(Some("1")).unwrap(), GIB);
        assert_eq!(capacity_bytes(Some(" 0.5 ")).unwrap(), GIB / 2);
        for bad in [
            None,
            Some(""),
            Some("0"),
            Some("-1"),
            Some("x"),
            Some("NaN"),
            Some("1e9"),
        ] {
            assert_eq!(
                capacity_bytes(bad).unwrap_err().kind(),
                ErrorKind::Validation,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn states_and_actions() {
        let disk = |status: &str| Disk {
            id: "d".into(),
            name: Some("n".into()),
            provisioned_size: Some(GIB),
            status: Some(Status::new(status)),
            ..Disk::default()
        };
        let at = Attachment {
            vm: "vm1".into(),
            device: Some("/dev/vdb".into()),
        };
        let v = volume_from(disk("ok"), None);
        assert_eq!(
            (v.state.as_deref(), v.capacity.as_deref(), v.actions.clone()),
            (
                Some("AVAILABLE"),
                Some("1"),
                Some(vec!["attach".to_owned(), "destroy".to_owned()])
            )
        );
        let v = volume_from(disk("ok"), Some(&at));
        assert_eq!(v.state.as_deref(), Some("IN-USE"));
        assert_eq!(v.instance_id.as_deref(), Some("vm1"));
        assert_eq!(v.device.as_deref(), Some("/dev/vdb"));
        assert_eq!(v.actions, Some(vec!["detach".to_owned()]));
        assert_eq!(
            volume_from(disk("locked"), None).state.as_deref(),
            Some("CREATING")
        );
        assert_eq!(
            volume_from(disk("illegal"), None).state.as_deref(),
            Some("ERROR")
        );
        assert_eq!(volume_from(disk("locked"), None).actions, Some(Vec::new()));
    }

    /// The v3 disk recorded from a real engine (`ovirt-v4/vm_fetch_disks.yml`, asked with
    /// `Version: 3`): status as `<state>`, the VM in `<vms>`, `alias` and `name` both present.
    #[test]
    fn recorded_v3_disk() {
        let xml = r#"<disk href="/ovirt-engine/api/storagedomains/ee745353-c069-4de8-8d76-ec2e155e2ca0/disks/da123bb9-095a-4933-95f2-8032dfa332e1" id="da123bb9-095a-4933-95f2-8032dfa332e1">
            <name>GlanceDisk-73786f4</name>
            <description>CirrOS 0.3.1 (73786f4)</description>
            <vms><vm id="4f6dd4c3-5241-494f-8afc-f1c67254bf77"/></vms>
            <alias>GlanceDisk-73786f4</alias>
            <storage_domains><storage_domain id="ee745353-c069-4de8-8d76-ec2e155e2ca0"/></storage_domains>
            <size>41126400</size><provisioned_size>41126400</provisioned_size>
            <status><state>ok</state></status>
            <interface>virtio</interface><format>cow</format>
        </disk>"#;
        let d: Disk = from_xml(xml).unwrap();
        assert_eq!(
            d.vms,
            Some(VmRefs {
                items: vec![IdRef::new("4f6dd4c3-5241-494f-8afc-f1c67254bf77")]
            })
        );
        let v = volume_from(
            d,
            Some(&Attachment {
                vm: "4f6dd4c3-5241-494f-8afc-f1c67254bf77".into(),
                device: None,
            }),
        );
        assert_eq!(v.id.as_str(), "da123bb9-095a-4933-95f2-8032dfa332e1");
        assert_eq!(v.name.as_deref(), Some("GlanceDisk-73786f4"));
        assert_eq!(v.capacity.as_deref(), Some("0.04"));
        assert_eq!(v.state.as_deref(), Some("IN-USE"));
    }
}
