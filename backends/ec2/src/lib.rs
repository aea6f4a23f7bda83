//! The ec2 backend: Amazon EC2 and EC2-compatible clouds (Eucalyptus, moto) through the EC2
//! Query API (`drivers.md` §5.2, §5.3).
//!
//! * Two drivers share one implementation: `ec2` (provider = region, endpoint host or endpoint
//!   URL) and `eucalyptus` (provider = `ec2=HOST[:PORT];s3=…` or an endpoint URL); see
//!   [`endpoint`].
//! * Calls are SigV4-signed POSTs made with reqwest and parsed with quick-xml serde structs
//!   ([`client`], [`wire`]). The caller's credentials (HTTP Basic user = access key id,
//!   password = secret access key; on `/ec2` the credential store's backend identity) sign each
//!   call; the driver itself holds no credentials.
//! * Buckets and blobs go to S3 (path-style, streamed both ways, multipart uploads for large
//!   blobs), see [`s3`]; load balancers to classic ELB ([`elb`]); metrics to CloudWatch
//!   ([`cloudwatch`]). An endpoint-URL provider (an emulator) serves every service at that URL.
//! * Provider faults are classified once, in [`client`]: timeouts 504, refused connections, 5xx
//!   and garbage 502, `AuthFailure` 401, `*.NotFound` 404, throttling (`RequestLimitExceeded`,
//!   `Throttling`) 503 with the provider's message.
//!
//! Deviations from the original, on purpose:
//! * `shutting-down` maps to `SHUTTING_DOWN` (the original said `STOPPED`, which made a
//!   terminating instance look restartable), and the state machine has a `destroy` action
//!   (TerminateInstances) from pending, running and stopped, so EBS instances can be deleted
//!   through every frontend.
//! * Images default to the caller's own (`Owner=self`), snapshots likewise; `owner_id=all`
//!   asks for the full public list (hundreds of thousands of entries on real EC2).
//! * HTTPS endpoints (every real region) use rustls (the default `tls` feature); plain-HTTP
//!   endpoints (moto, a local Eucalyptus) also work in a build without it.

pub mod client;
mod cloudwatch;
mod compute;
mod elb;
pub mod endpoint;
mod network;
mod s3;
mod storage;
pub mod wire;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use client::{Call, Params, QueryClient};
use deltacloud_core::driver::Networks;
use deltacloud_core::{
    Capability, CapabilitySet, Credentials, Driver, DriverFactory, DriverFeature, DriverInfo,
    DriverSettings, Error, ErrorKind, FeatureName, HardwareProfile, HardwareProperty,
    InstanceAction, InstanceState, PropertyName, Provider, RequestContext, Result, StateMachine,
};
use endpoint::{Endpoint, Flavor};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// The Amazon driver's id.
pub const EC2_DRIVER_ID: &str = "ec2";
/// The Eucalyptus driver's id.
pub const EUCALYPTUS_DRIVER_ID: &str = "eucalyptus";

/// The `ec2` factory the server registers.
#[must_use]
pub fn factory() -> Box<dyn DriverFactory> {
    Box::new(Ec2Factory {
        flavor: Flavor::Ec2,
    })
}

/// The `eucalyptus` factory the server registers.
#[must_use]
pub fn eucalyptus_factory() -> Box<dyn DriverFactory> {
    Box::new(Ec2Factory {
        flavor: Flavor::Eucalyptus,
    })
}

/// Builds [`Ec2Driver`]s of one flavor.
#[derive(Clone, Copy, Debug)]
pub struct Ec2Factory {
    flavor: Flavor,
}

impl DriverFactory for Ec2Factory {
    fn info(&self) -> DriverInfo {
        match self.flavor {
            Flavor::Ec2 => {
                let mut info = DriverInfo::new(EC2_DRIVER_ID, "EC2");
                let kind = |name: &str, table: &[(&str, &str)]| {
                    (
                        name.to_owned(),
                        table
                            .iter()
                            .map(|(r, h)| ((*r).to_owned(), (*h).to_owned()))
                            .collect(),
                    )
                };
                // Catalogue order: s3, elb, ec2, mon.
                let mut others = endpoint::OTHER_ENDPOINTS.iter();
                if let Some((k, t)) = others.next() {
                    info.entrypoints.push(kind(k, t));
                }
                if let Some((k, t)) = others.next() {
                    info.entrypoints.push(kind(k, t));
                }
                info.entrypoints.push(kind("ec2", endpoint::EC2_ENDPOINTS));
                for (k, t) in others {
                    info.entrypoints.push(kind(k, t));
                }
                info
            }
            Flavor::Eucalyptus => {
                let mut info = DriverInfo::new(EUCALYPTUS_DRIVER_ID, "Eucalyptus");
                info.entrypoints.push((
                    "default".to_owned(),
                    vec![(
                        "default".to_owned(),
                        "ec2=EUCALYPTUS_IP[:PORT];s3=WALRUS_IP[:PORT]".to_owned(),
                    )],
                ));
                info
            }
        }
    }

    /// Builds the HTTP client (one per driver, shared by all requests). Unknown options are
    /// ignored with a warning, as the server may pass options meant for other drivers.
    fn build(&self, settings: &DriverSettings) -> Result<Arc<dyn Driver>> {
        for k in settings.options.keys() {
            tracing::warn!(option = %k, "ignoring unknown ec2 driver option");
        }
        Ok(Arc::new(Ec2Driver::new(self.flavor, settings.timeout)?))
    }
}

/// The driver: stateless apart from its connection pool.
pub struct Ec2Driver {
    flavor: Flavor,
    client: QueryClient,
    /// S3 calls stream bodies of any size, so they get their own client without an overall
    /// deadline (connect and read timeouts instead); see [`s3`].
    s3: reqwest::Client,
    profiles: Vec<HardwareProfile>,
    capabilities: CapabilitySet,
    features: Vec<DriverFeature>,
    machine: StateMachine,
}

const CAPABILITIES: &[Capability] = {
    use Capability as C;
    &[
        C::Realms,
        C::HardwareProfiles,
        C::Images,
        C::CreateImage,
        C::DestroyImage,
        C::Instances,
        C::CreateInstance,
        C::StartInstance,
        C::StopInstance,
        C::RebootInstance,
        C::DestroyInstance,
        C::Keys,
        C::CreateKey,
        C::DestroyKey,
        C::StorageVolumes,
        C::CreateStorageVolume,
        C::DestroyStorageVolume,
        C::AttachStorageVolume,
        C::DetachStorageVolume,
        C::StorageSnapshots,
        C::CreateStorageSnapshot,
        C::DestroyStorageSnapshot,
        C::Addresses,
        C::CreateAddress,
        C::DestroyAddress,
        C::AssociateAddress,
        C::DisassociateAddress,
        C::Firewalls,
        C::CreateFirewall,
        C::DeleteFirewall,
        C::CreateFirewallRule,
        C::DeleteFirewallRule,
        C::Providers,
    ]
};

/// The EC2 state machine (see the crate docs for where it departs from the original).
#[must_use]
pub fn ec2_state_machine() -> StateMachine {
    use InstanceAction as A;
    use InstanceState as S;
    StateMachine::from_table(&[
        (S::Start, S::Pending, Some(A::Create)),
        (S::Pending, S::Running, None),
        (S::Pending, S::ShuttingDown, Some(A::Destroy)),
        (S::Running, S::Running, Some(A::Reboot)),
        (S::Running, S::Stopping, Some(A::Stop)),
        (S::Running, S::ShuttingDown, Some(A::Destroy)),
        (S::Stopping, S::Stopped, None),
        (S::Stopped, S::Running, Some(A::Start)),
        (S::Stopped, S::ShuttingDown, Some(A::Destroy)),
        (S::ShuttingDown, S::Finish, None),
    ])
}

/// EC2's instance state names onto the core's states.
#[must_use]
pub fn map_state(ec2: &str) -> InstanceState {
    match ec2 {
        "pending" => InstanceState::Pending,
        "running" => InstanceState::Running,
        "stopping" => InstanceState::Stopping,
        "stopped" => InstanceState::Stopped,
        "shutting-down" => InstanceState::ShuttingDown,
        "terminated" => InstanceState::Finish,
        _ => InstanceState::Unknown,
    }
}

/// The original's static EC2 sizes (`drivers.md` §5.2): fixed except the architecture of the
/// sizes that ran both.
fn ec2_profiles() -> Vec<HardwareProfile> {
    use PropertyName as P;
    let both = || {
        HardwareProperty::enumeration(P::Architecture, vec!["i386".into(), "x86_64".into()], None)
    };
    let x64 = || HardwareProperty::fixed(P::Architecture, "x86_64");
    let p = |id: &str, cpu: f64, mem: f64, disk: i64, arch: HardwareProperty| {
        let cpu = if cpu.fract() == 0.0 {
            // Whole counts print without a fraction (`4`, not `4.0`).
            #[allow(clippy::cast_possible_truncation)]
            HardwareProperty::fixed(P::Cpu, cpu as i64)
        } else {
            HardwareProperty::fixed(P::Cpu, cpu)
        };
        let mem = if mem.fract() == 0.0 {
            #[allow(clippy::cast_possible_truncation)]
            HardwareProperty::fixed(P::Memory, mem as i64)
        } else {
            HardwareProperty::fixed(P::Memory, mem)
        };
        HardwareProfile::new(
            id,
            vec![cpu, mem, HardwareProperty::fixed(P::Storage, disk), arch],
        )
    };
    let mut micro = p("t1.micro", 1.0, 613.0, 160, both());
    micro
        .properties
        .push(HardwareProperty::fixed(P::RootType, "persistent"));
    vec![
        micro,
        p("m1.small", 1.0, 1740.8, 160, both()),
        p("m1.medium", 2.0, 3840.0, 410, both()),
        p("m1.large", 4.0, 7680.0, 850, x64()),
        p("m1.xlarge", 8.0, 15360.0, 1690, x64()),
        p("c1.medium", 5.0, 1740.8, 350, both()),
        p("c1.xlarge", 20.0, 7168.0, 1690, x64()),
        p("m2.xlarge", 6.5, 17510.4, 420, x64()),
        p("m2.2xlarge", 13.0, 35020.8, 850, x64()),
        p("m2.4xlarge", 26.0, 70041.6, 1690, x64()),
    ]
}

/// Eucalyptus' default sizes (`drivers.md` §5.3).
fn eucalyptus_profiles() -> Vec<HardwareProfile> {
    use PropertyName as P;
    let p = |id: &str, cpu: i64, mem: i64, disk: i64| {
        HardwareProfile::new(
            id,
            vec![
                HardwareProperty::fixed(P::Cpu, cpu),
                HardwareProperty::fixed(P::Memory, mem),
                HardwareProperty::fixed(P::Storage, disk),
                HardwareProperty::fixed(P::Architecture, "x86_64"),
            ],
        )
    };
    vec![
        p("m1.small", 1, 128, 2),
        p("c1.medium", 1, 256, 5),
        p("m1.large", 2, 512, 10),
        p("m1.xlarge", 2, 1024, 20),
        p("c1.xlarge", 4, 2048, 20),
    ]
}

impl Ec2Driver {
    /// A driver of `flavor` whose provider calls end within `timeout`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(flavor: Flavor, timeout: std::time::Duration) -> Result<Self> {
        use FeatureName as F;
        let (profiles, features) = match flavor {
            Flavor::Ec2 => (
                ec2_profiles(),
                [
                    F::UserData,
                    F::AuthenticationKey,
                    F::Firewalls,
                    F::InstanceCount,
                    F::Metrics,
                    F::AttachSnapshot,
                    F::OwnerId,
                    F::ImageName,
                    F::ImageDescription,
                ]
                .as_slice(),
            ),
            Flavor::Eucalyptus => (
                eucalyptus_profiles(),
                [
                    F::UserData,
                    F::AuthenticationKey,
                    F::Firewalls,
                    F::InstanceCount,
                    F::OwnerId,
                ]
                .as_slice(),
            ),
        };
        Ok(Self {
            flavor,
            client: QueryClient::new(timeout)?,
            s3: s3::http_client(timeout)?,
            profiles,
            capabilities: CapabilitySet::new(
                &[
                    CAPABILITIES,
                    s3::CAPABILITIES,
                    elb::CAPABILITIES,
                    cloudwatch::CAPABILITIES,
                ]
                .concat(),
            ),
            features: features.iter().copied().map(DriverFeature::new).collect(),
            machine: ec2_state_machine(),
        })
    }

    /// Which cloud this driver speaks to.
    #[must_use]
    pub const fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The endpoint for this request's provider.
    fn endpoint(&self, ctx: &RequestContext) -> Result<Endpoint> {
        endpoint::resolve(self.flavor, ctx.provider.as_deref())
    }

    /// One call with the caller's credentials and provider.
    async fn call<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        action: &str,
        params: Params,
        kind: Call,
    ) -> Result<T> {
        let creds: &Credentials = ctx.credentials()?;
        let ep = self.endpoint(ctx)?;
        self.client.call(&ep, creds, action, params, kind).await
    }

    /// A call that only acknowledges. Moto leaves `<return>` out of some answers (reboot), so a
    /// missing one counts as success; an explicit `false` does not.
    async fn call_ack(
        &self,
        ctx: &RequestContext,
        action: &str,
        params: Params,
        kind: Call,
    ) -> Result<()> {
        let r: wire::ReturnResponse = self.call(ctx, action, params, kind).await?;
        match r.ret.as_deref().map(str::trim) {
            Some("false") => Err(Error::provider(format!(
                "The provider refused {action} without saying why"
            ))),
            _ => Ok(()),
        }
    }
}

/// Run a list call filtered by ids: EC2 answers an unknown or malformed id with an error
/// (`InvalidInstanceID.NotFound`, `InvalidAMIID.Malformed`, "Invalid availability zone"), which
/// for a *filter* means "nothing matches". Without ids, errors pass through.
fn empty_if_not_found<T>(by_id: bool, r: Result<Vec<T>>) -> Result<Vec<T>> {
    match r {
        Err(e) if by_id && matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Validation) => {
            Ok(Vec::new())
        }
        other => other,
    }
}

#[async_trait]
impl deltacloud_core::driver::HardwareProfiles for Ec2Driver {
    /// Static: listing them needs no credentials.
    fn static_hardware_profiles(&self) -> &[HardwareProfile] {
        &self.profiles
    }
}

/// VPCs are listed only as realms (`zone:subnet`).
impl Networks for Ec2Driver {}

#[async_trait]
impl Driver for Ec2Driver {
    fn name(&self) -> &str {
        match self.flavor {
            Flavor::Ec2 => EC2_DRIVER_ID,
            Flavor::Eucalyptus => EUCALYPTUS_DRIVER_ID,
        }
    }

    fn capabilities(&self) -> &CapabilitySet {
        &self.capabilities
    }

    fn features(&self) -> &[DriverFeature] {
        &self.features
    }

    fn state_machine(&self) -> Option<&StateMachine> {
        Some(&self.machine)
    }

    /// The realms call succeeds: yes; `AuthFailure`: no; anything else is an error (a provider
    /// that cannot be reached does not say the credentials are wrong).
    async fn valid_credentials(&self, ctx: &RequestContext) -> Result<bool> {
        let r: Result<wire::DescribeAvailabilityZones> = self
            .call(ctx, "DescribeAvailabilityZones", Params::new(), Call::Read)
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AuthFailed => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `DescribeRegions`.
    async fn providers(&self, ctx: &RequestContext) -> Result<Vec<Provider>> {
        let r: wire::DescribeRegions = self
            .call(ctx, "DescribeRegions", Params::new(), Call::Read)
            .await?;
        Ok(r.region_info
            .item
            .into_iter()
            .map(|r| Provider {
                id: r.region_name.clone(),
                name: r.region_name,
                url: None,
            })
            .collect())
    }
}
