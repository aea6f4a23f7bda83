//! Realms (availability zones and VPC subnets), images, instances and key pairs.

use crate::client::{Call, Params};
use crate::endpoint::Flavor;
use crate::wire::{self, nonempty};
use crate::{Ec2Driver, empty_if_not_found, map_state};
use async_trait::async_trait;
use base64::Engine as _;
use deltacloud_core::driver::{HardwareProfiles as _, Images, Instances, Keys, Realms};
use deltacloud_core::{
    CreateImage, CreateInstance, CreateKey, CredentialType, Error, FirewallId, HardwareProfileId,
    Image, ImageId, Instance, InstanceAction, InstanceAddress, InstanceId, InstanceProfile,
    InstanceState, Key, KeyId, PropertyName, Realm, RealmId, RequestContext, Result,
    StorageVolumeId,
};
use deltacloud_core::{Filter, HardwareProfile};
use std::collections::BTreeMap;

/// Realm ids: a zone (`us-east-1a`) or, in a VPC, `zone:subnet-id`.
fn split_realm(id: &str) -> (&str, Option<&str>) {
    match id.split_once(':') {
        Some((z, s)) => (z, Some(s)),
        None => (id, None),
    }
}

fn zone_realm(z: wire::Zone) -> Realm {
    let available = z.zone_state == "available";
    Realm {
        id: RealmId::new(z.zone_name.clone()),
        name: z.zone_name,
        state: if z.zone_state.is_empty() {
            "unknown".to_owned()
        } else {
            z.zone_state
        },
        limit: if available {
            None
        } else {
            Some("0".to_owned())
        },
    }
}

fn subnet_realm(s: wire::SubnetItem) -> Realm {
    let id = format!("{}:{}", s.availability_zone, s.subnet_id);
    Realm {
        id: RealmId::new(id.clone()),
        name: id,
        state: s.state,
        limit: None,
    }
}

impl Ec2Driver {
    async fn zones(&self, ctx: &RequestContext, names: &[&str]) -> Result<Vec<Realm>> {
        let r: wire::DescribeAvailabilityZones = self
            .call(
                ctx,
                "DescribeAvailabilityZones",
                Params::new().list("ZoneName", names),
                Call::Read,
            )
            .await?;
        Ok(r.availability_zone_info
            .item
            .into_iter()
            .map(zone_realm)
            .collect())
    }

    async fn subnet_realms(&self, ctx: &RequestContext, ids: &[&str]) -> Result<Vec<Realm>> {
        let r: wire::DescribeSubnets = self
            .call(
                ctx,
                "DescribeSubnets",
                Params::new().list("SubnetId", ids),
                Call::Read,
            )
            .await?;
        Ok(r.subnet_set.item.into_iter().map(subnet_realm).collect())
    }

    /// The first availability zone, for creations that need one.
    pub(crate) async fn default_zone(&self, ctx: &RequestContext) -> Result<String> {
        self.zones(ctx, &[])
            .await?
            .into_iter()
            .next()
            .map(|r| r.id.0)
            .ok_or_else(|| Error::provider("The provider lists no availability zone"))
    }

    fn convert_image(&self, i: wire::ImageItem) -> Image {
        let arch = nonempty(i.architecture.as_ref()).unwrap_or_else(|| "x86_64".to_owned());
        let ebs = i.root_device_type.as_deref() == Some("ebs");
        let profiles: Vec<HardwareProfileId> = self
            .static_hardware_profiles()
            .iter()
            .filter(|p| p.matches_architecture(&arch))
            // t1.micro runs only from EBS (its root type is fixed to persistent).
            .filter(|p| ebs || !is_ebs_only(p))
            .map(|p| p.id.clone())
            .collect();
        Image {
            name: nonempty(i.name.as_ref()).unwrap_or_else(|| i.image_id.clone()),
            description: nonempty(i.description.as_ref())
                .or_else(|| nonempty(i.image_location.as_ref()))
                .unwrap_or_default(),
            owner_id: nonempty(i.image_owner_id.as_ref()).unwrap_or_default(),
            architecture: arch,
            state: nonempty(i.image_state.as_ref()),
            creation_time: nonempty(i.creation_date.as_ref()),
            root_type: Some(if ebs { "persistent" } else { "transient" }.to_owned()),
            hardware_profiles: Some(profiles),
            id: ImageId::new(i.image_id),
        }
    }

    fn convert_instance(
        &self,
        i: wire::InstanceItem,
        owner: Option<&String>,
        groups: &[wire::GroupRef],
    ) -> Instance {
        let state = map_state(&i.instance_state.name);
        let instance_store = i.root_device_type.as_deref() == Some("instance-store");
        let mut actions = self.machine.actions_for(state);
        if instance_store {
            // An instance-store machine cannot be stopped and restarted: stop terminates it.
            actions.retain(|a| *a != InstanceAction::Start);
            if let Some(pos) = actions.iter().position(|a| *a == InstanceAction::Stop) {
                actions[pos] = InstanceAction::Destroy;
            }
            let mut seen = Vec::new();
            actions.retain(|a| {
                let new = !seen.contains(a);
                seen.push(*a);
                new
            });
        }
        let zone = i
            .placement
            .as_ref()
            .and_then(|p| nonempty(p.availability_zone.as_ref()));
        let realm = match (zone, nonempty(i.subnet_id.as_ref())) {
            (Some(z), Some(s)) => Some(RealmId::new(format!("{z}:{s}"))),
            (Some(z), None) => Some(RealmId::new(z)),
            (None, _) => None,
        };
        let mut public = Vec::new();
        if let Some(dns) = nonempty(i.dns_name.as_ref()) {
            public.push(InstanceAddress::hostname(dns));
        }
        if let Some(ip) = nonempty(i.ip_address.as_ref()) {
            public.push(InstanceAddress::ipv4(ip));
        }
        let mut private = Vec::new();
        if let Some(dns) = nonempty(i.private_dns_name.as_ref()) {
            private.push(InstanceAddress::hostname(dns));
        }
        if let Some(ip) = nonempty(i.private_ip_address.as_ref()) {
            private.push(InstanceAddress::ipv4(ip));
        }
        let group_list = if i.group_set.item.is_empty() {
            groups
        } else {
            &i.group_set.item
        };
        let firewalls: Vec<FirewallId> = group_list
            .iter()
            .filter_map(|g| {
                nonempty(g.group_name.as_ref()).or_else(|| nonempty(g.group_id.as_ref()))
            })
            .map(FirewallId::new)
            .collect();
        let volumes: Vec<(StorageVolumeId, String)> = i
            .block_device_mapping
            .item
            .iter()
            .filter_map(|b| {
                let v = b
                    .ebs
                    .as_ref()
                    .and_then(|e| nonempty(e.volume_id.as_ref()))?;
                Some((
                    StorageVolumeId::new(v),
                    nonempty(b.device_name.as_ref()).unwrap_or_default(),
                ))
            })
            .collect();
        let tag_name = i
            .tag_set
            .item
            .iter()
            .find(|t| t.key == "Name")
            .and_then(|t| nonempty(t.value.as_ref()));
        let windows = i.platform.as_deref() == Some("windows");
        Instance {
            // EC2 instances have no names: the Name tag when set, else the image id, as the
            // original showed.
            name: tag_name.or_else(|| nonempty(i.image_id.as_ref())),
            owner_id: owner.cloned(),
            image_id: nonempty(i.image_id.as_ref()).map(ImageId::new),
            realm_id: realm,
            state,
            actions,
            public_addresses: public,
            private_addresses: private,
            profile: nonempty(i.instance_type.as_ref()).map(|t| InstanceProfile {
                id: HardwareProfileId::new(t),
                overrides: BTreeMap::new(),
            }),
            launch_time: nonempty(i.launch_time.as_ref()),
            keyname: nonempty(i.key_name.as_ref()),
            username: windows.then(|| "Administrator".to_owned()),
            password: None,
            authn_error: None,
            create_image: i.root_device_type.as_deref() == Some("ebs")
                && state == InstanceState::Running,
            firewalls: Some(firewalls),
            storage_volumes: Some(volumes),
            network_interfaces: None,
            id: InstanceId::new(i.instance_id),
        }
    }

    pub(crate) fn convert_reservation(&self, r: wire::Reservation) -> Vec<Instance> {
        let owner = nonempty(r.owner_id.as_ref());
        r.instances_set
            .item
            .into_iter()
            .map(|i| self.convert_instance(i, owner.as_ref(), &r.group_set.item))
            .collect()
    }

    async fn describe_instances(
        &self,
        ctx: &RequestContext,
        ids: &[&str],
    ) -> Result<Vec<Instance>> {
        let r: wire::DescribeInstances = self
            .call(
                ctx,
                "DescribeInstances",
                Params::new().list("InstanceId", ids),
                Call::Read,
            )
            .await?;
        Ok(r.reservation_set
            .item
            .into_iter()
            .flat_map(|r| self.convert_reservation(r))
            .collect())
    }

    /// The instance after an action, or a provider error if it vanished meanwhile.
    async fn reread(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.describe_instances(ctx, &[id.as_str()])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(format!("The instance ID '{id}' does not exist")))
    }

    fn convert_key(k: wire::KeyItem) -> Key {
        Key {
            id: KeyId::new(k.key_name.clone()),
            name: k.key_name,
            credential_type: CredentialType::Key,
            fingerprint: nonempty(k.key_fingerprint.as_ref()),
            pem_rsa_key: nonempty(k.key_material.as_ref()),
            username: None,
            password: None,
            state: Some("AVAILABLE".to_owned()),
        }
    }
}

fn is_ebs_only(p: &HardwareProfile) -> bool {
    p.property(PropertyName::RootType).is_some()
}

#[async_trait]
impl Realms for Ec2Driver {
    /// Availability zones, plus (ec2 only) every VPC subnet as `zone:subnet`. An id filter asks
    /// for that zone or subnet only.
    async fn realms(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Realm>> {
        let Some(ids) = &f.id else {
            let mut out = self.zones(ctx, &[]).await?;
            if self.flavor == Flavor::Ec2 {
                out.extend(self.subnet_realms(ctx, &[]).await?);
            }
            return Ok(out);
        };
        let mut zones = Vec::new();
        let mut subnets = Vec::new();
        for id in ids {
            match split_realm(id) {
                (z, None) => zones.push(z),
                (_, Some(s)) => subnets.push(s),
            }
        }
        let mut out = Vec::new();
        if !zones.is_empty() {
            out.extend(empty_if_not_found(true, self.zones(ctx, &zones).await)?);
        }
        if !subnets.is_empty() && self.flavor == Flavor::Ec2 {
            out.extend(empty_if_not_found(
                true,
                self.subnet_realms(ctx, &subnets).await,
            )?);
        }
        out.retain(|r| f.pass_id(&r.id));
        Ok(out)
    }
}

#[async_trait]
impl Images for Ec2Driver {
    /// By id: exactly those images, whoever owns them. Otherwise the images of `owner_id`
    /// (`self` by default; `all` for every image the caller may launch), machine images only on
    /// EC2. Architecture filters apply afterwards.
    async fn images(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Image>> {
        let by_id = f.id.is_some();
        let mut params = Params::new();
        if let Some(ids) = &f.id {
            params = params.list("ImageId", ids);
        } else {
            if self.flavor == Flavor::Ec2 {
                params = params
                    .set("Filter.1.Name", "image-type")
                    .set("Filter.1.Value.1", "machine");
            }
            let owners: Vec<String> = f.owner_id.clone().unwrap_or_else(|| vec!["self".into()]);
            if !owners.iter().any(|o| o == "all") {
                params = params.list("Owner", &owners);
            }
        }
        let r: Result<wire::DescribeImages> =
            self.call(ctx, "DescribeImages", params, Call::Read).await;
        let mut out: Vec<Image> = empty_if_not_found(
            by_id,
            r.map(|r| {
                r.images_set
                    .item
                    .into_iter()
                    .map(|i| self.convert_image(i))
                    .collect()
            }),
        )?;
        out.retain(|i| Filter::pass(f.architecture.as_ref(), Some(&i.architecture)));
        if by_id && let Some(owners) = &f.owner_id {
            out.retain(|i| owners.iter().any(|o| o == "all" || *o == i.owner_id));
        }
        Ok(out)
    }

    /// `CreateImage` from an EBS-backed instance. EC2 requires a unique name: without one the
    /// instance id plus the current time is used.
    async fn create_image(&self, ctx: &RequestContext, req: &CreateImage) -> Result<Image> {
        let name = req.name.clone().unwrap_or_else(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            format!("{}-{secs}", req.instance_id)
        });
        let r: wire::CreateImageResponse = self
            .call(
                ctx,
                "CreateImage",
                Params::new()
                    .set("InstanceId", req.instance_id.as_str())
                    .set("Name", name)
                    .opt("Description", req.description.clone()),
                Call::Write,
            )
            .await?;
        let id = ImageId::new(r.image_id);
        self.images(ctx, &Filter::by_id(&id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::provider(format!("The new image {id} is not listed")))
    }

    async fn destroy_image(&self, ctx: &RequestContext, id: &ImageId) -> Result<()> {
        self.call_ack(
            ctx,
            "DeregisterImage",
            Params::new().set("ImageId", id.as_str()),
            Call::Write,
        )
        .await
    }
}

#[async_trait]
impl Instances for Ec2Driver {
    async fn instances(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Instance>> {
        let ids: Vec<&str> = f.id.iter().flatten().map(String::as_str).collect();
        let mut out = empty_if_not_found(f.id.is_some(), self.describe_instances(ctx, &ids).await)?;
        out.retain(|i| {
            f.pass_id(&i.id)
                && Filter::pass(f.state.as_ref(), Some(i.state.as_str()))
                && Filter::pass(f.realm_id.as_ref(), i.realm_id.as_deref())
                && Filter::pass(f.owner_id.as_ref(), i.owner_id.as_deref())
        });
        Ok(out)
    }

    /// `RunInstances` with MinCount = MaxCount = `instance_count` (default 1).
    async fn create_instance(
        &self,
        ctx: &RequestContext,
        req: &CreateInstance,
    ) -> Result<Vec<Instance>> {
        let count = req.instance_count.unwrap_or(1);
        if count == 0 {
            return Err(Error::validation("instance_count must be at least 1"));
        }
        if let Some(hwp) = &req.hwp_id
            && !self.profiles.iter().any(|p| p.id == *hwp)
        {
            return Err(Error::validation(format!(
                "Unknown hardware profile '{hwp}'"
            )));
        }
        let (zone, realm_subnet) = match &req.realm_id {
            Some(r) => {
                let (z, s) = split_realm(r);
                (Some(z.to_owned()), s.map(str::to_owned))
            }
            None => (None, None),
        };
        let subnet = req.subnet_id.as_ref().map(|s| s.0.clone()).or(realm_subnet);
        let mut params = Params::new()
            .set("ImageId", req.image_id.as_str())
            .set("MinCount", count.to_string())
            .set("MaxCount", count.to_string())
            .set(
                "InstanceType",
                req.hwp_id.as_ref().map_or("m1.small", |h| h.as_str()),
            )
            .opt("Placement.AvailabilityZone", zone)
            .opt("SubnetId", subnet)
            .opt("KeyName", req.keyname.clone())
            .opt(
                "UserData",
                req.user_data
                    .as_ref()
                    .map(|d| base64::engine::general_purpose::STANDARD.encode(d)),
            );
        // Group ids (`sg-…`) and names cannot be mixed in one parameter.
        let (by_id, by_name): (Vec<&str>, Vec<&str>) = req
            .firewalls
            .iter()
            .map(FirewallId::as_str)
            .partition(|f| f.starts_with("sg-"));
        params = params
            .list("SecurityGroupId", &by_id)
            .list("SecurityGroup", &by_name);
        if req.metrics {
            params = params.set("Monitoring.Enabled", "true");
        }
        if let Some(snap) = &req.snapshot_id {
            params = params
                .set(
                    "BlockDeviceMapping.1.DeviceName",
                    req.device_name.clone().unwrap_or_else(|| "/dev/sdh".into()),
                )
                .set("BlockDeviceMapping.1.Ebs.SnapshotId", snap.as_str());
        }
        let r: wire::Reservation = self.call(ctx, "RunInstances", params, Call::Write).await?;
        Ok(self.convert_reservation(r))
    }

    async fn start_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        let _: wire::StateChangeResponse = self
            .call(
                ctx,
                "StartInstances",
                Params::new().list("InstanceId", &[id.as_str()]),
                Call::Write,
            )
            .await?;
        self.reread(ctx, id).await
    }

    /// `StopInstances`; an instance-store instance cannot stop, so (as in the original) it is
    /// terminated instead.
    async fn stop_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        let r: Result<wire::StateChangeResponse> = self
            .call(
                ctx,
                "StopInstances",
                Params::new().list("InstanceId", &[id.as_str()]),
                Call::Write,
            )
            .await;
        match r {
            Ok(_) => {}
            Err(e) if e.message().contains("UnsupportedOperation") => {
                self.terminate(ctx, id).await?;
            }
            Err(e) => return Err(e),
        }
        self.reread(ctx, id).await
    }

    async fn reboot_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.call_ack(
            ctx,
            "RebootInstances",
            Params::new().list("InstanceId", &[id.as_str()]),
            Call::Write,
        )
        .await?;
        self.reread(ctx, id).await
    }

    async fn destroy_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<()> {
        self.terminate(ctx, id).await
    }
}

impl Ec2Driver {
    async fn terminate(&self, ctx: &RequestContext, id: &InstanceId) -> Result<()> {
        let _: wire::StateChangeResponse = self
            .call(
                ctx,
                "TerminateInstances",
                Params::new().list("InstanceId", &[id.as_str()]),
                Call::Write,
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Keys for Ec2Driver {
    async fn keys(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Key>> {
        let ids: Vec<&str> = f.id.iter().flatten().map(String::as_str).collect();
        let r: Result<wire::DescribeKeyPairs> = self
            .call(
                ctx,
                "DescribeKeyPairs",
                Params::new().list("KeyName", &ids),
                Call::Read,
            )
            .await;
        empty_if_not_found(
            f.id.is_some(),
            r.map(|r| r.key_set.item.into_iter().map(Self::convert_key).collect()),
        )
    }

    /// `CreateKeyPair` (the answer carries the private key, shown once), or `ImportKeyPair`
    /// when a public key is given.
    async fn create_key(&self, ctx: &RequestContext, req: &CreateKey) -> Result<Key> {
        if req.name.trim().is_empty() {
            return Err(Error::validation("A key name is required"));
        }
        let r: wire::KeyItem = match &req.public_key {
            Some(pk) => {
                self.call(
                    ctx,
                    "ImportKeyPair",
                    Params::new().set("KeyName", req.name.as_str()).set(
                        "PublicKeyMaterial",
                        base64::engine::general_purpose::STANDARD.encode(pk.trim()),
                    ),
                    Call::Write,
                )
                .await?
            }
            None => {
                self.call(
                    ctx,
                    "CreateKeyPair",
                    Params::new().set("KeyName", req.name.as_str()),
                    Call::Write,
                )
                .await?
            }
        };
        Ok(Self::convert_key(r))
    }

    async fn destroy_key(&self, ctx: &RequestContext, id: &KeyId) -> Result<()> {
        self.call_ack(
            ctx,
            "DeleteKeyPair",
            Params::new().set("KeyName", id.as_str()),
            Call::Write,
        )
        .await
    }
}
