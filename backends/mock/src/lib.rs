//! The mock cloud: a fake provider that talks to nothing and keeps its state in SQLite
//! (`shared/spec/mock-driver.md`). It is the default driver and the backend of every example in
//! the API specs, so its catalogue, ids and quirks follow the original Apache Deltacloud mock.
//!
//! * State lives in `<data_dir>/mock.db` (see [`db`] for the durability and concurrency design).
//!   A fresh database starts from exactly the seed catalogue embedded from `fixtures/mock/`.
//! * **Resetting to the seed**: call [`reset`] (safe while a server is running: it empties and
//!   re-seeds the database in one transaction), or stop the server and delete `mock.db` together
//!   with its `mock.db-wal` and `mock.db-shm` companions; the next start re-creates it.
//! * Credentials are `mockuser` / `mockpassword`, checked on *every* operation, including the
//!   start/stop/reboot/run calls the original left unchecked (`mock-driver.md` §1 says we should).
//! * Driver option `transition_delay_ms` (default 0): when positive, state changes take that
//!   long and show the transitional state (`PENDING`, `STOPPING`, `SHUTTING_DOWN`) meanwhile.
//!   With 0 every transition is instantaneous, as in the original.
//!
//! Errors use the codes the original's exception map *intended* (403/404) where the original
//! leaked 500s (`mock-driver.md` §8).

mod blobs;
mod cimi;
mod compute;
pub mod db;
mod memo;
mod metrics;
mod network;
mod seed;
mod storage;
mod util;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use db::{Db, DbResult};
use deltacloud_core::driver::{Firewalls, HardwareProfiles, LoadBalancers};
use deltacloud_core::{
    Capability, CapabilitySet, Driver, DriverFactory, DriverFeature, DriverInfo, DriverSettings,
    Error, FeatureName, HardwareProfile, HardwareProperty, PropertyName, RequestContext, Result,
    Secret, StateMachine,
};
use rusqlite::Transaction;
use std::path::Path;
use std::sync::Arc;

/// The driver id.
pub const DRIVER_ID: &str = "mock";
/// The only user the mock cloud knows.
pub const MOCK_USER: &str = "mockuser";
/// Its password.
pub const MOCK_PASSWORD: &str = "mockpassword";
/// Driver option: milliseconds a state transition takes (integer, default 0).
pub const OPT_TRANSITION_DELAY_MS: &str = "transition_delay_ms";

/// The factory the server registers.
#[must_use]
pub fn factory() -> Box<dyn DriverFactory> {
    Box::new(MockFactory)
}

/// Builds [`MockDriver`]s; see [`MockFactory::build`].
#[derive(Clone, Copy, Debug, Default)]
pub struct MockFactory;

impl DriverFactory for MockFactory {
    fn info(&self) -> DriverInfo {
        DriverInfo::new(DRIVER_ID, "Mock")
    }

    /// Opens (creating and seeding if needed) `<data_dir>/mock.db`. The data directory is
    /// created with mode 0750, as the original did. This runs once at server start, so its
    /// blocking file I/O does not stall request handling.
    fn build(&self, settings: &DriverSettings) -> Result<Arc<dyn Driver>> {
        let options = MockOptions::from_settings(settings)?;
        Ok(Arc::new(MockDriver::open(&settings.data_dir, options)?))
    }
}

/// Parsed driver options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockOptions {
    /// How long a state transition takes, in milliseconds; 0 = instantaneous.
    pub transition_delay_ms: u64,
}

impl MockOptions {
    /// Read the options the mock knows; an invalid value is an error naming its key. Unknown
    /// keys are ignored with a warning (the server may pass options meant for other drivers).
    pub fn from_settings(settings: &DriverSettings) -> Result<Self> {
        let mut out = Self::default();
        for (k, v) in &settings.options {
            if k == OPT_TRANSITION_DELAY_MS {
                out.transition_delay_ms = v.trim().parse().map_err(|_| {
                    Error::validation(format!(
                        "Invalid value '{v}' for mock driver option '{OPT_TRANSITION_DELAY_MS}': expected a non-negative integer (milliseconds)"
                    ))
                })?;
            } else {
                tracing::warn!(option = %k, "ignoring unknown mock driver option");
            }
        }
        Ok(out)
    }
}

fn create_data_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o750);
    }
    b.create(dir).map_err(|e| {
        Error::internal(format!(
            "Cannot create the mock data directory {}",
            dir.display()
        ))
        .with_cause(e)
    })
}

/// Reset the mock cloud in `data_dir` to the seed catalogue: every table is emptied and the seed
/// inserted again in one transaction (creating the database if it does not exist). Safe while a
/// server is using the same directory: its next request sees the seed.
///
/// The alternative, when no server runs, is to delete `mock.db`, `mock.db-wal` and `mock.db-shm`.
pub fn reset(data_dir: &Path) -> Result<()> {
    create_data_dir(data_dir)?;
    let db = Db::open(&data_dir.join(db::DB_FILE))?;
    db.write(db::reseed)?;
    Ok(())
}

/// The mock driver. Cheap to share: all state is in the database.
pub struct MockDriver {
    db: Arc<Db>,
    /// Read results kept until the next write (see `memo.rs` for why and why it is sound).
    memo: memo::ReadMemo,
    /// The CIMI-only seed entities, parsed once here (read-only; see `cimi.rs`).
    cimi: cimi::Catalogue,
    options: MockOptions,
    password: Secret,
    profiles: Vec<HardwareProfile>,
    capabilities: CapabilitySet,
    features: Vec<DriverFeature>,
    machine: StateMachine,
}

/// Everything the mock implements: all but firewalls, load balancers and a provider list.
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
        C::RunOnInstance,
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
        C::Buckets,
        C::CreateBucket,
        C::DeleteBucket,
        C::Blob,
        C::CreateBlob,
        C::DeleteBlob,
        C::BlobMetadata,
        C::UpdateBlobMetadata,
        C::Addresses,
        C::CreateAddress,
        C::DestroyAddress,
        C::AssociateAddress,
        C::DisassociateAddress,
        C::Metrics,
        C::Networks,
        C::CreateNetwork,
        C::DestroyNetwork,
        C::Subnets,
        C::CreateSubnet,
        C::DestroySubnet,
        C::NetworkInterfaces,
        C::CreateNetworkInterface,
        C::DestroyNetworkInterface,
    ]
};

/// The mock's hardware profiles (`mock-driver.md` §2.2), in definition order.
fn hardware_profiles() -> Vec<HardwareProfile> {
    use PropertyName as P;
    vec![
        HardwareProfile::new(
            "m1-small",
            vec![
                HardwareProperty::fixed(P::Cpu, 1),
                // 1.7 * 1024, as the original computed it.
                HardwareProperty::fixed(P::Memory, 1740.8),
                HardwareProperty::fixed(P::Storage, 160),
                HardwareProperty::fixed(P::Architecture, "i386"),
            ],
        ),
        HardwareProfile::new(
            "m1-large",
            vec![
                HardwareProperty::range(P::Cpu, 1, 6, None),
                HardwareProperty::range(P::Memory, 7680, 15360, Some(10240.into())),
                HardwareProperty::enumeration(P::Storage, vec![850.into(), 1024.into()], None),
                HardwareProperty::fixed(P::Architecture, "x86_64"),
            ],
        ),
        HardwareProfile::new(
            "m1-xlarge",
            vec![
                HardwareProperty::fixed(P::Cpu, 4),
                HardwareProperty::range(P::Memory, 12288, 32768, None),
                HardwareProperty::enumeration(
                    P::Storage,
                    vec![1024.into(), 2048.into(), 4096.into()],
                    None,
                ),
                HardwareProperty::fixed(P::Architecture, "x86_64"),
            ],
        ),
        HardwareProfile::new("opaque", vec![]),
    ]
}

impl MockDriver {
    /// Open the mock cloud stored in `data_dir` (created with mode 0750 if missing).
    pub fn open(data_dir: &Path, options: MockOptions) -> Result<Self> {
        create_data_dir(data_dir)?;
        let db = Db::open(&data_dir.join(db::DB_FILE))?;
        Ok(Self {
            db: Arc::new(db),
            memo: memo::ReadMemo::default(),
            cimi: cimi::Catalogue::load()?,
            options,
            password: Secret::new(MOCK_PASSWORD),
            profiles: hardware_profiles(),
            capabilities: CapabilitySet::new(&[CAPABILITIES, cimi::CAPABILITIES].concat()),
            features: vec![
                DriverFeature::new(FeatureName::Metrics),
                DriverFeature::new(FeatureName::RealmFilter),
                DriverFeature::new(FeatureName::UserName),
                DriverFeature::new(FeatureName::AuthenticationKey),
            ],
            machine: StateMachine::mock(),
        })
    }

    /// The configured options.
    #[must_use]
    pub const fn options(&self) -> MockOptions {
        self.options
    }

    /// Reset this cloud to the seed catalogue (see [`reset`]).
    pub async fn reset_to_seed(&self) -> Result<()> {
        self.write(db::reseed).await
    }

    /// The caller's user name if the credentials are the mock's, else the 401 errors: missing
    /// credentials ask for a challenge, wrong ones fail with `Authentication Failure`.
    fn authenticate<'a>(&self, ctx: &'a RequestContext) -> Result<&'a str> {
        let c = ctx.credentials()?;
        // Compare against our constant so the loop length never depends on the caller's input.
        let password_ok = self.password.ct_eq(c.password.expose());
        if (c.user == MOCK_USER) & password_ok {
            Ok(&c.user)
        } else {
            Err(Error::auth_failed("Authentication Failure"))
        }
    }

    /// Run a read-only closure on a pooled read connection, off the async runtime.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || db.read(f).map_err(Error::from))
            .await
            .map_err(|e| Error::internal("A mock database task failed").with_cause(e))?
    }

    /// Run a mutating closure as one write transaction, off the async runtime. The result is
    /// returned only after the commit is durable.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        let out = tokio::task::spawn_blocking(move || db.write(f).map_err(Error::from)).await;
        // Even a failed or abandoned transaction may race a read; forgetting is always safe.
        self.memo.invalidate();
        out.map_err(|e| Error::internal("A mock database task failed").with_cause(e))?
    }

    /// [`Self::read`] through the read memo: `key` must name everything the result depends on
    /// besides the database (user, filters); `f` returns the result and, when the clock alone
    /// can change it (transition delays), the epoch millisecond until which it holds.
    async fn read_memo<T, F>(&self, key: String, f: F) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce(&Transaction<'_>) -> DbResult<(T, Option<i64>)> + Send + 'static,
    {
        let ticket = match self.memo.get::<T>(&key) {
            Ok(hit) => return Ok(hit),
            Err(ticket) => ticket,
        };
        let (value, valid_until) = self.read(f).await?;
        self.memo.store(ticket, key, value.clone(), valid_until);
        Ok(value)
    }
}

#[async_trait]
impl HardwareProfiles for MockDriver {
    /// Static: listing them needs no credentials (`mock-driver.md` §1).
    fn static_hardware_profiles(&self) -> &[HardwareProfile] {
        &self.profiles
    }
}

/// Not offered by the mock: every method answers the typed not-supported error.
impl Firewalls for MockDriver {}
/// Not offered by the mock: every method answers the typed not-supported error.
impl LoadBalancers for MockDriver {}

#[async_trait]
impl Driver for MockDriver {
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

    fn cimi_entities(&self) -> &dyn deltacloud_core::CimiEntities {
        self
    }

    /// Wrong credentials are `Ok(false)`; missing ones still ask for a challenge.
    async fn valid_credentials(&self, ctx: &RequestContext) -> Result<bool> {
        match self.authenticate(ctx) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == deltacloud_core::ErrorKind::AuthFailed => Ok(false),
            Err(e) => Err(e),
        }
    }
}
