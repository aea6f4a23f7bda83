//! How backends are found and built: each backend crate exports a [`DriverFactory`]; the server
//! builds the configured ones into a [`Registry`] and hands frontends a [`Gateway`], which picks
//! the driver and provider for each request.

use crate::context::Credentials;
use crate::driver::Driver;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A driver's catalogue entry (`shared/reference/driver-providers/*.yaml`): display name and the
/// providers it knows statically, per endpoint kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverInfo {
    pub id: String,
    pub name: String,
    /// `kind ⇒ [(provider id, endpoint)]`, in catalogue order (e.g. EC2 `s3` first).
    pub entrypoints: Vec<(String, Vec<(String, String)>)>,
}

impl DriverInfo {
    #[must_use]
    pub fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            entrypoints: Vec::new(),
        }
    }

    /// Provider ids in order of first appearance while walking the entrypoints.
    #[must_use]
    pub fn provider_ids(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (_, list) in &self.entrypoints {
            for (p, _) in list {
                if !out.contains(&p.as_str()) {
                    out.push(p);
                }
            }
        }
        out
    }
}

/// Settings every driver receives when built. Driver-specific options arrive as strings and are
/// validated by the driver's `build`, whose error names the offending key.
#[derive(Clone, Debug)]
pub struct DriverSettings {
    /// Where a driver may keep state (the mock's database).
    pub data_dir: PathBuf,
    /// Upper bound for one provider call.
    pub timeout: Duration,
    pub options: BTreeMap<String, String>,
}

impl Default for DriverSettings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("."),
            timeout: Duration::from_secs(60),
            options: BTreeMap::new(),
        }
    }
}

/// What a backend crate exports so the server can list and build it.
pub trait DriverFactory: Send + Sync {
    fn info(&self) -> DriverInfo;
    fn build(&self, settings: &DriverSettings) -> Result<Arc<dyn Driver>>;
}

struct Entry {
    info: DriverInfo,
    driver: Option<Arc<dyn Driver>>,
}

/// All drivers the server knows: catalogue entries, and for those that are built, the driver.
#[derive(Default)]
pub struct Registry {
    entries: BTreeMap<String, Entry>,
}

impl Registry {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a catalogue entry for a driver this server cannot (yet) serve. It is listed by
    /// `/api/drivers` but selecting it fails.
    pub fn add_info(&mut self, info: DriverInfo) {
        self.entries
            .entry(info.id.clone())
            .or_insert(Entry { info, driver: None });
    }

    /// Add a built driver with its catalogue entry.
    pub fn add_driver(&mut self, info: DriverInfo, driver: Arc<dyn Driver>) {
        self.entries.insert(
            info.id.clone(),
            Entry {
                info,
                driver: Some(driver),
            },
        );
    }

    /// Catalogue entries, by id.
    pub fn infos(&self) -> impl Iterator<Item = &DriverInfo> {
        self.entries.values().map(|e| &e.info)
    }

    #[must_use]
    pub fn info(&self, id: &str) -> Option<&DriverInfo> {
        self.entries.get(id).map(|e| &e.info)
    }

    /// Ids of drivers that can serve requests.
    pub fn available(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|(_, e)| e.driver.is_some())
            .map(|(k, _)| k.as_str())
    }

    /// The driver `id`, or a validation error naming it.
    pub fn driver(&self, id: &str) -> Result<Arc<dyn Driver>> {
        self.entries
            .get(id)
            .and_then(|e| e.driver.clone())
            .ok_or_else(|| {
                let avail: Vec<&str> = self.available().collect();
                Error::validation(format!(
                    "Driver '{id}' is not available (available: {})",
                    avail.join(", ")
                ))
            })
    }
}

/// What frontends receive from the server: the registry plus the defaults that apply when a
/// request does not choose its own driver and provider.
pub struct Gateway {
    pub registry: Registry,
    pub default_driver: String,
    pub default_provider: Option<String>,
    /// `API_USER`/`API_PASSWORD`: when set, every request uses them and no challenge is sent.
    pub fixed_credentials: Option<Credentials>,
    /// Host name shown in the `WWW-Authenticate` realm (`HOSTNAME` of the server process).
    pub hostname: String,
}

impl Gateway {
    /// The default driver.
    pub fn default_driver(&self) -> Result<Arc<dyn Driver>> {
        self.registry.driver(&self.default_driver)
    }
}
