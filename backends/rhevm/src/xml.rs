//! The engine's XML, one serde struct per wire shape.
//!
//! The same structs read API v3 (`/api`, RHEV-M 3.x, the `shared/recordings/rhevm` cassettes) and
//! v4 (`/ovirt-engine/api`). The two versions differ in a handful of places, each absorbed here
//! rather than in the mapping code:
//!
//! | what | v3 | v4 |
//! |---|---|---|
//! | status | `<status><state>up</state></status>` | `<status>up</status>` |
//! | CPU topology | `<topology sockets="1" cores="2"/>` | `<topology><cores>2</cores>…` |
//! | MAC address | `<mac address="…"/>` | `<mac><address>…</address></mac>` |
//! | guest IPs | `<guest_info><ips><ip address="…"/>` on the VM | `<reported_devices>…<ip><address>` on each NIC |
//!
//! Unknown elements are ignored, so newer engines' additions do not break parsing. The
//! structs also serialize (in the v4 shape), which the fake engine uses to answer requests.

use serde::{Deserialize, Serialize};

/// `<x id="…"/>`: a link to another resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRef {
    #[serde(rename = "@id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl IdRef {
    #[must_use]
    pub fn new(id: &str) -> Self {
        Self {
            id: Some(id.to_owned()),
        }
    }
}

/// A status in either shape: v4 text content, or v3's `<state>` child.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    #[serde(rename = "$text", default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl Status {
    /// A v4-shaped status.
    #[must_use]
    pub fn new(s: &str) -> Self {
        Self {
            text: Some(s.to_owned()),
            state: None,
        }
    }

    /// The status value, whichever shape carried it.
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.state
            .as_deref()
            .or(self.text.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "data_center")]
pub struct DataCenter {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "data_centers")]
pub struct DataCenters {
    #[serde(rename = "data_center", default)]
    pub items: Vec<DataCenter>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterCpu {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "cluster")]
pub struct Cluster {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ClusterCpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_center: Option<IdRef>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "clusters")]
pub struct Clusters {
    #[serde(rename = "cluster", default)]
    pub items: Vec<Cluster>,
}

/// CPU topology: attributes in v3, child elements in v4 (both are read; which one is written
/// depends on the API version, see [`Topology::for_version`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    #[serde(rename = "@sockets", default, skip_serializing_if = "Option::is_none")]
    pub sockets_attr: Option<u32>,
    #[serde(rename = "@cores", default, skip_serializing_if = "Option::is_none")]
    pub cores_attr: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
}

impl Topology {
    /// `cores` cores on one socket, in the shape API `version` expects.
    #[must_use]
    pub const fn for_version(cores: u32, v3: bool) -> Self {
        if v3 {
            Self {
                sockets_attr: Some(1),
                cores_attr: Some(cores),
                cores: None,
                sockets: None,
                threads: None,
            }
        } else {
            Self {
                sockets_attr: None,
                cores_attr: None,
                cores: Some(cores),
                sockets: Some(1),
                threads: None,
            }
        }
    }

    /// Total virtual CPUs: cores × sockets (× threads in v4).
    #[must_use]
    pub fn vcpus(&self) -> Option<u32> {
        let cores = self.cores.or(self.cores_attr)?;
        let sockets = self.sockets.or(self.sockets_attr).unwrap_or(1).max(1);
        let threads = self.threads.unwrap_or(1).max(1);
        cores.checked_mul(sockets)?.checked_mul(threads)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpu {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<Topology>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "template")]
pub struct Template {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<IdRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "templates")]
pub struct Templates {
    #[serde(rename = "template", default)]
    pub items: Vec<Template>,
}

/// An IP address: `<ip address="…"/>` (v3) or `<ip><address>…</address><version>v4</version>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ip {
    #[serde(rename = "@address", default, skip_serializing_if = "Option::is_none")]
    pub address_attr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Ip {
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.address.as_deref().or(self.address_attr.as_deref())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ips {
    #[serde(rename = "ip", default)]
    pub items: Vec<Ip>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ips: Option<Ips>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Display {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "vm")]
pub struct Vm {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Display>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<IdRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<IdRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<IdRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_info: Option<GuestInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "vms")]
pub struct Vms {
    #[serde(rename = "vm", default)]
    pub items: Vec<Vm>,
}

/// `<mac address="…"/>` (v3) or `<mac><address>…</address></mac>` (v4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mac {
    #[serde(rename = "@address", default, skip_serializing_if = "Option::is_none")]
    pub address_attr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl Mac {
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.address.as_deref().or(self.address_attr.as_deref())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedDevice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ips: Option<Ips>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedDevices {
    #[serde(rename = "reported_device", default)]
    pub items: Vec<ReportedDevice>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "nic")]
pub struct Nic {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_devices: Option<ReportedDevices>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "nics")]
pub struct Nics {
    #[serde(rename = "nic", default)]
    pub items: Vec<Nic>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "instance_type")]
pub struct InstanceType {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "instance_types")]
pub struct InstanceTypes {
    #[serde(rename = "instance_type", default)]
    pub items: Vec<InstanceType>,
}

/// The engine's error body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "fault")]
pub struct Fault {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Fault {
    /// `detail` without the engine's `[…]` brackets, else `reason`.
    #[must_use]
    pub fn message(&self) -> Option<String> {
        let clean = |s: &str| {
            let t = s.trim();
            t.strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .unwrap_or(t)
                .trim()
                .to_owned()
        };
        self.detail
            .as_deref()
            .map(clean)
            .filter(|s| !s.is_empty())
            .or_else(|| self.reason.as_deref().map(clean))
            .filter(|s| !s.is_empty())
    }
}

/// `<vms><vm id/></vms>`: the VMs a v3 disk is attached to (v4 lists attachments per VM).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmRefs {
    #[serde(rename = "vm", default)]
    pub items: Vec<IdRef>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageDomainRefs {
    #[serde(rename = "storage_domain", default)]
    pub items: Vec<IdRef>,
}

/// A virtual disk (`GET disks`). Sizes are bytes; v3 has `<size>` where v4 has only
/// `<provisioned_size>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "disk")]
pub struct Disk {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// `data`, or the engine's own disks (`ovf_store`, `memory_dump_volume`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vms: Option<VmRefs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_domains: Option<StorageDomainRefs>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "disks")]
pub struct Disks {
    #[serde(rename = "disk", default)]
    pub items: Vec<Disk>,
}

/// v4: a disk attached to a VM (`GET vms/{id}/diskattachments`); its id is the disk's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "disk_attachment")]
pub struct DiskAttachment {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<IdRef>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "disk_attachments")]
pub struct DiskAttachments {
    #[serde(rename = "disk_attachment", default)]
    pub items: Vec<DiskAttachment>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "storage_domain")]
pub struct StorageDomain {
    #[serde(rename = "@id", default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `data`, `iso`, `export`, `image`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_centers: Option<DataCenterRefs>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataCenterRefs {
    #[serde(rename = "data_center", default)]
    pub items: Vec<IdRef>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "storage_domains")]
pub struct StorageDomains {
    #[serde(rename = "storage_domain", default)]
    pub items: Vec<StorageDomain>,
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/// `<file name="…"><content>…</content></file>` inside a v3 floppy payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadFile {
    #[serde(rename = "@name")]
    pub name: String,
    pub content: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    #[serde(rename = "@type")]
    pub kind: String,
    pub file: PayloadFile,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payloads {
    pub payload: Vec<Payload>,
}

/// v4 cloud-init: the user data as a custom script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initialization {
    pub custom_script: String,
}

/// `POST vms`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "vm")]
pub struct NewVm {
    pub name: String,
    pub template: IdRef,
    pub cluster: IdRef,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<IdRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payloads: Option<Payloads>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialization: Option<Initialization>,
}

/// `POST templates`: a template made from a VM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "template")]
pub struct NewTemplate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub vm: IdRef,
}

/// `POST vms/{id}/{start,shutdown,stop,reboot}`: an empty action (the engine requires a body).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "action")]
pub struct Action {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// `POST disks`: a new thin-provisioned (`cow`, sparse) data disk on one storage domain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "disk")]
pub struct NewDisk {
    /// v4 names a disk with `<name>`, v3 with `<alias>`; both are sent (each ignores the other).
    pub name: String,
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub provisioned_size: u64,
    /// v3 reads the size from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub format: String,
    pub sparse: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    pub storage_domains: StorageDomainRefs,
}

/// v4 `POST vms/{id}/diskattachments`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "disk_attachment")]
pub struct NewDiskAttachment {
    pub disk: IdRef,
    pub interface: String,
    pub bootable: bool,
    pub active: bool,
}

/// v3 `POST vms/{id}/disks`: attach an existing disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "disk")]
pub struct AttachDiskV3 {
    #[serde(rename = "@id")]
    pub id: String,
    pub active: bool,
}

/// v3 `DELETE vms/{id}/disks/{disk}` body: detach, keep the disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "action")]
pub struct DetachV3 {
    pub detach: bool,
}

/// Serialize a request body (the XML declaration is optional for the engine and left out).
pub fn to_xml<T: Serialize>(v: &T) -> Result<String, quick_xml::SeError> {
    quick_xml::se::to_string(v)
}

/// Parse a response body.
pub fn from_xml<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T, quick_xml::DeError> {
    quick_xml::de::from_str(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_in_both_shapes() {
        let v4: DataCenter =
            from_xml(r#"<data_center id="a"><name>n</name><status>up</status></data_center>"#)
                .unwrap();
        assert_eq!(v4.status.as_ref().and_then(Status::value), Some("up"));
        let v3: DataCenter = from_xml(
            "<data_center id=\"a\"><name>n</name><status>\n  <state>up</state>\n </status></data_center>",
        )
        .unwrap();
        assert_eq!(v3.status.as_ref().and_then(Status::value), Some("up"));
        assert_eq!(v3.id, "a");
    }

    #[test]
    fn topology_and_mac_in_both_shapes() {
        let v3: Vm = from_xml(
            r#"<vm id="x"><cpu><topology sockets="2" cores="2"/></cpu><guest_info><ips><ip address="10.0.0.1"/></ips></guest_info></vm>"#,
        )
        .unwrap();
        assert_eq!(
            v3.cpu.and_then(|c| c.topology).and_then(|t| t.vcpus()),
            Some(4)
        );
        let ip = v3.guest_info.and_then(|g| g.ips).unwrap();
        assert_eq!(ip.items[0].value(), Some("10.0.0.1"));
        let v4: Vm = from_xml(
            "<vm id=\"x\"><cpu><architecture>x86_64</architecture><topology><cores>3</cores><sockets>1</sockets><threads>1</threads></topology></cpu></vm>",
        )
        .unwrap();
        assert_eq!(
            v4.cpu.and_then(|c| c.topology).and_then(|t| t.vcpus()),
            Some(3)
        );
        let n: Nics = from_xml(
            r#"<nics><nic id="1"><mac address="aa"/></nic><nic id="2"><mac><address>bb</address></mac></nic></nics>"#,
        )
        .unwrap();
        let macs: Vec<_> = n
            .items
            .iter()
            .filter_map(|n| n.mac.as_ref().and_then(Mac::value))
            .collect();
        assert_eq!(macs, ["aa", "bb"]);
    }

    #[test]
    fn fault_message_strips_brackets() {
        let f: Fault = from_xml(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><fault><reason>Operation Failed</reason><detail>[Cannot delete Template. Template is being used by the following VMs: a,b.]</detail></fault>"#,
        )
        .unwrap();
        assert_eq!(
            f.message().as_deref(),
            Some("Cannot delete Template. Template is being used by the following VMs: a,b.")
        );
    }

    #[test]
    fn new_vm_shapes() {
        let v3 = NewVm {
            name: "i-1".into(),
            template: IdRef::new("t"),
            cluster: IdRef::new("c"),
            kind: Some("SERVER".into()),
            memory: Some(1024),
            cpu: Some(Cpu {
                architecture: None,
                topology: Some(Topology::for_version(2, true)),
            }),
            ..NewVm::default()
        };
        assert_eq!(
            to_xml(&v3).unwrap(),
            r#"<vm><name>i-1</name><template id="t"/><cluster id="c"/><type>SERVER</type><memory>1024</memory><cpu><topology sockets="1" cores="2"/></cpu></vm>"#
        );
        let v4 = NewVm {
            cpu: Some(Cpu {
                architecture: None,
                topology: Some(Topology::for_version(2, false)),
            }),
            initialization: Some(Initialization {
                custom_script: "a<b".into(),
            }),
            kind: None,
            memory: None,
            ..v3
        };
        assert_eq!(
            to_xml(&v4).unwrap(),
            r#"<vm><name>i-1</name><template id="t"/><cluster id="c"/><cpu><topology><cores>2</cores><sockets>1</sockets></topology></cpu><initialization><custom_script>a&lt;b</custom_script></initialization></vm>"#
        );
    }
}
