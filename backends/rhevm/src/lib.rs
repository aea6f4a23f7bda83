//! The rhevm backend: oVirt and RHEV-M engines through their REST API, v4
//! (`https://engine/ovirt-engine/api`) and v3 (`https://rhevm/api`, what RHEV-M 3.x and the
//! recordings in `shared/recordings/rhevm` speak). `drivers.md` §5.6 describes the original.
//!
//! * **Provider** `URL;DATACENTER_ID[;USER|ADMIN]` from `-P`/`API_PROVIDER` or per request
//!   (`X-Deltacloud-Provider`, `;provider=`). The data center is optional (the engine's first one
//!   is used); `USER` selects the filtered user API (`Filter: true`). The API version follows the
//!   URL (`…/ovirt-engine/api` is v4, anything else v3) unless the driver option
//!   `rhevm_api_version` (`3`, `4`, `auto`) fixes it.
//! * **Credentials** are the caller's (`admin@internal` / password). v4 engines are asked for
//!   an SSO token (`/ovirt-engine/sso/oauth/token`), sent as `Bearer` and kept per engine and
//!   user (see `sso.rs`; driver option `rhevm_auth`: `auto`, `sso`, `basic`). v3 engines, and
//!   v4 ones without an SSO service, get HTTP Basic with `Prefer: persistent-auth`; the
//!   engine's session cookie is then kept per engine and user (password checked) and used
//!   instead, so one server serves several users and engines without a login per call (see
//!   `client.rs`).
//! * **Mapping**: realms ← the data center's clusters; images ← its templates (create from a
//!   stopped VM, destroy); hardware profiles ← `SERVER`/`DESKTOP` ranges plus the engine's
//!   instance types (v4); instances ← its VMs, with the engine states mapped onto
//!   [`rhevm_state_machine`]. See `compute.rs`. Storage volumes ← its disks (create on a data
//!   storage domain, destroy, attach to and detach from VMs); see `storage.rs`.
//! * **HTTPS**: engines are normally HTTPS. That needs this crate's `tls` feature (rustls; the
//!   driver option `rhevm_ca_file` adds a private CA). Without it an `https://` provider answers
//!   501 with a message saying so.
//! * **Errors** are classified once, in `client.rs`: timeouts 504, transport/5xx/garbage 502,
//!   the engine's `<fault>` bodies mapped to 401/403/404/405/409/400 with the fault's message.
//!
//! Not implemented (yet): disk snapshots, networks and NICs, the config-server address lookup.

mod client;
mod compute;
pub mod provider;
mod sso;
mod storage;
pub mod xml;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use deltacloud_core::driver::{
    Addresses, Buckets, Firewalls, HardwareProfiles, Keys, LoadBalancers, Metrics, Networks,
    StorageSnapshots,
};
use deltacloud_core::{
    Capability, CapabilitySet, Driver, DriverFactory, DriverFeature, DriverInfo, DriverSettings,
    Error, ErrorKind, FeatureName, Filter, HardwareProfile, HardwareProperty, InstanceAction,
    InstanceState, PropertyName, Provider as CoreProvider, RequestContext, Result, StateMachine,
};
use provider::{Provider, VersionChoice};
use std::sync::Arc;
use std::time::Duration;

/// The driver id.
pub const DRIVER_ID: &str = "rhevm";
/// Driver option: API version, `3`, `4` or `auto` (default: from the URL).
pub const OPT_API_VERSION: &str = "rhevm_api_version";
/// Driver option: a PEM file of extra trusted CAs for HTTPS engines (needs the `tls` feature).
pub const OPT_CA_FILE: &str = "rhevm_ca_file";
/// Driver option: how to authenticate, `auto` (SSO token on v4 engines that offer it, else
/// Basic), `sso` or `basic`; see `sso.rs`.
pub use sso::{AuthMode, OPT_AUTH};

/// Longest VM name the original accepted.
pub const MAX_NAME_LEN: usize = 50;

/// The factory the server registers.
#[must_use]
pub fn factory() -> Box<dyn DriverFactory> {
    Box::new(RhevmFactory)
}

/// Builds [`RhevmDriver`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct RhevmFactory;

impl DriverFactory for RhevmFactory {
    fn info(&self) -> DriverInfo {
        DriverInfo::new(DRIVER_ID, "RHEVM")
    }

    /// Builds the HTTP client only; no engine is contacted (the engine comes with each
    /// request's provider string).
    fn build(&self, settings: &DriverSettings) -> Result<Arc<dyn Driver>> {
        Ok(Arc::new(RhevmDriver::new(settings)?))
    }
}

/// The driver: a connection pool plus the static descriptions.
pub struct RhevmDriver {
    http: reqwest::Client,
    /// Engine sessions kept between requests (see `client.rs`).
    sessions: client::Sessions,
    /// SSO tokens kept between requests (see `sso.rs`).
    tokens: sso::Tokens,
    auth: AuthMode,
    version: VersionChoice,
    capabilities: CapabilitySet,
    features: Vec<DriverFeature>,
    profiles: Vec<HardwareProfile>,
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
        C::StorageVolumes,
        C::CreateStorageVolume,
        C::DestroyStorageVolume,
        C::AttachStorageVolume,
        C::DetachStorageVolume,
        C::Providers,
    ]
};

/// The rhevm machine of `deltacloud-api.md` §9 plus `reboot` on running VMs (the engine has a
/// reboot action; the original driver lacked it). `stop` on a `STOPPING` VM is the force-stop:
/// the driver sends the engine's `stop` (power off) instead of `shutdown` there.
#[must_use]
pub fn rhevm_state_machine() -> StateMachine {
    use InstanceAction as A;
    use InstanceState as S;
    StateMachine::from_table(&[
        (S::Start, S::Pending, None),
        (S::Pending, S::Stopped, None),
        (S::Stopped, S::Running, Some(A::Start)),
        (S::Running, S::Stopping, Some(A::Stop)),
        (S::Running, S::Running, Some(A::Reboot)),
        (S::Stopping, S::Stopped, Some(A::Stop)),
        (S::Stopped, S::Finish, Some(A::Destroy)),
    ])
}

/// `SERVER` and `DESKTOP`, the original's static profiles (the VM types of the engine).
fn static_profiles() -> Vec<HardwareProfile> {
    use PropertyName as P;
    ["SERVER", "DESKTOP"]
        .into_iter()
        .map(|id| {
            HardwareProfile::new(
                id,
                vec![
                    HardwareProperty::range(P::Cpu, 1, 16, None),
                    HardwareProperty::range(P::Memory, 512, 32768, Some(1024.into())),
                    HardwareProperty::range(P::Storage, 1, 102_400, None),
                    HardwareProperty::fixed(P::Architecture, "x86_64"),
                ],
            )
        })
        .collect()
}

impl RhevmDriver {
    /// Build from the server's settings. Options other than `rhevm_*` belong to other drivers
    /// and are ignored.
    pub fn new(settings: &DriverSettings) -> Result<Self> {
        let version = option(
            settings,
            OPT_API_VERSION,
            "3, 4 or auto",
            VersionChoice::parse,
        )?;
        let auth = option(settings, OPT_AUTH, "auto, sso or basic", AuthMode::parse)?;
        let timeout = if settings.timeout.is_zero() {
            Duration::from_secs(60)
        } else {
            settings.timeout
        };
        let builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(8)
            .user_agent(concat!("deltacloud-rs/", env!("CARGO_PKG_VERSION")));
        let builder = with_ca_file(builder, settings.options.get(OPT_CA_FILE))?;
        let http = builder
            .build()
            .map_err(|e| Error::internal("Cannot build the rhevm HTTP client").with_cause(e))?;
        Ok(Self {
            http,
            sessions: client::Sessions::default(),
            tokens: sso::Tokens::default(),
            auth,
            version,
            capabilities: CapabilitySet::new(CAPABILITIES),
            features: vec![
                DriverFeature::new(FeatureName::UserData),
                DriverFeature::new(FeatureName::UserName)
                    .with_constraint("max_length", &MAX_NAME_LEN.to_string()),
            ],
            profiles: static_profiles(),
            machine: rhevm_state_machine(),
        })
    }

    /// The request's engine client: its provider string and credentials.
    fn engine<'a>(&'a self, ctx: &'a RequestContext) -> Result<client::Engine<'a>> {
        let creds = ctx.credentials()?;
        let provider = Provider::parse(ctx.provider.as_deref(), self.version)?;
        client::Engine::new(
            &client::Shared {
                http: &self.http,
                sessions: &self.sessions,
                tokens: &self.tokens,
                auth: self.auth,
            },
            provider,
            &creds.user,
            &creds.password,
        )
    }
}

/// The driver option `key` parsed by `parse`, its default when absent; an unknown value is a
/// validation error naming the option and the values it takes.
fn option<T: Default>(
    settings: &DriverSettings,
    key: &str,
    expected: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T> {
    settings.options.get(key).map_or_else(
        || Ok(T::default()),
        |v| {
            parse(v).ok_or_else(|| {
                Error::validation(format!(
                    "Invalid value '{v}' for rhevm driver option '{key}': expected {expected}"
                ))
            })
        },
    )
}

#[cfg(feature = "tls")]
fn with_ca_file(
    builder: reqwest::ClientBuilder,
    path: Option<&String>,
) -> Result<reqwest::ClientBuilder> {
    let Some(path) = path else {
        return Ok(builder);
    };
    let pem = std::fs::read(path).map_err(|e| {
        Error::validation(format!("Cannot read the rhevm CA file '{path}'")).with_cause(e)
    })?;
    // `from_pem_bundle` parses now; `from_pem` (with rustls) only keeps the bytes, so a file
    // that is not PEM would pass here and fail every handshake later, far from the cause.
    let not_pem = || {
        Error::validation(format!(
            "The rhevm CA file '{path}' holds no PEM certificate"
        ))
    };
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| not_pem().with_cause(e))?;
    if certs.is_empty() {
        return Err(not_pem());
    }
    Ok(builder.tls_certs_merge(certs))
}

#[cfg(not(feature = "tls"))]
fn with_ca_file(
    builder: reqwest::ClientBuilder,
    path: Option<&String>,
) -> Result<reqwest::ClientBuilder> {
    match path {
        None => Ok(builder),
        Some(_) => Err(Error::new(
            ErrorKind::NotSupported,
            format!(
                "Driver option '{OPT_CA_FILE}' needs a build with the deltacloud-backend-rhevm 'tls' feature"
            ),
        )),
    }
}

#[async_trait]
impl HardwareProfiles for RhevmDriver {
    fn static_hardware_profiles(&self) -> &[HardwareProfile] {
        &self.profiles
    }

    /// `SERVER`/`DESKTOP`, then the engine's instance types (v4 engines, when the request has
    /// credentials and a provider; without them the static list is all there is, as in the
    /// original, which listed profiles without asking the engine).
    async fn hardware_profiles(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<HardwareProfile>> {
        let mut out: Vec<HardwareProfile> = self
            .profiles
            .iter()
            .filter(|p| f.pass_id(&p.id))
            .filter(|p| arch_ok(p, f))
            .cloned()
            .collect();
        let only_static = f.id.as_ref().is_some_and(|ids| {
            ids.iter()
                .all(|i| self.profiles.iter().any(|p| p.id == i.as_str()))
        });
        if only_static || ctx.credentials.is_none() || ctx.provider.is_none() {
            return Ok(out);
        }
        let eng = self.engine(ctx)?;
        out.extend(
            compute::instance_type_profiles(&eng)
                .await?
                .into_iter()
                .filter(|p| f.pass_id(&p.id))
                .filter(|p| arch_ok(p, f)),
        );
        Ok(out)
    }
}

fn arch_ok(p: &HardwareProfile, f: &Filter) -> bool {
    f.architecture
        .as_ref()
        .is_none_or(|a| a.iter().any(|a| p.matches_architecture(a)))
}

/// Not offered by oVirt through this driver: the typed not-supported error.
impl Keys for RhevmDriver {}
impl StorageSnapshots for RhevmDriver {}
impl Buckets for RhevmDriver {}
impl Addresses for RhevmDriver {}
impl Firewalls for RhevmDriver {}
impl LoadBalancers for RhevmDriver {}
impl Metrics for RhevmDriver {}
impl Networks for RhevmDriver {}

#[async_trait]
impl Driver for RhevmDriver {
    fn name(&self) -> &str {
        DRIVER_ID
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

    /// The original's check: can the realms be listed? A refusal is `false`; missing
    /// credentials still ask for them, and engine faults stay errors.
    async fn valid_credentials(&self, ctx: &RequestContext) -> Result<bool> {
        use deltacloud_core::driver::Realms as _;
        match self.realms(ctx, &Filter::default()).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AuthFailed => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The engine's data centers, each as `URL;DC_ID` (`drivers.md` §3).
    async fn providers(&self, ctx: &RequestContext) -> Result<Vec<CoreProvider>> {
        let eng = self.engine(ctx)?;
        let dcs = compute::datacenters(&eng).await?;
        Ok(dcs
            .into_iter()
            .map(|dc| CoreProvider {
                url: Some(format!("{};{}", eng.provider.url, dc.id)),
                id: dc.id,
                name: dc.name,
            })
            .collect())
    }
}
