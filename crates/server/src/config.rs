//! The effective configuration of `deltacloudd` and how it is assembled.
//!
//! # Precedence (lowest to highest)
//!
//! 1. **Built-in defaults**: driver `mock`, frontends `deltacloud,cimi,ec2` (the original defaulted
//!    to `deltacloud` only; this project's brief asks for every frontend by default), host
//!    `localhost`, port `3001`, timeout `60` s, log format `text`, environment `development`, data
//!    directory `/var/tmp/deltacloud-$USER/mock` (`nobody` if `USER` is unset).
//! 2. **TOML files**: `--config-toml FILE`, then `-c FILE` when FILE ends in `.toml`. Keys are the
//!    setting names below (`driver`, `port`, …, as `--print-config` prints them); unknown keys
//!    are errors, so a typo does not pass silently.
//! 3. **sysconfig file** (`--env-file FILE`): `KEY=value` lines as in `/etc/sysconfig/deltacloud`,
//!    read with dotenvy (quotes, comments, `export`). It understands the same names as the
//!    environment and, below them, the old RPM init-script names `DRIVER`, `HOST` and `PORT`.
//!    Under systemd the unit's `EnvironmentFile=` already exports the file, so this is for runs
//!    by hand.
//! 4. **Environment**: `API_DRIVER`, `API_PROVIDER`, `API_FRONTEND`, `API_HOST`, `API_PORT`,
//!    `API_TIMEOUT`, `API_USER`, `API_PASSWORD`, `API_VERBOSE`, `API_LOG_FORMAT`, `API_ENV`,
//!    `DELTACLOUD_MOCK_STORAGE` (the data directory).
//! 5. **`DELTACLOUD_*` environment**: `DELTACLOUD_<SETTING>` for every setting except `user` and
//!    `password` (e.g. `DELTACLOUD_PORT`, `DELTACLOUD_DATA_DIR`). `DELTACLOUD_USER` is left out on
//!    purpose: the RPM's sysconfig used it for the daemon's Unix user, and reading it as the
//!    backend user would silently turn authentication off.
//! 6. **Command-line flags** ([`Cli`]); only flags actually given count.
//!
//! Then the YAML file of `-c [FILE]` (the original's format: a map of driver id ⇒ `provider`,
//! `user`, `password`) fills in whichever of those three settings is still unset, for the driver
//! that was selected: like the original, it never overrides the environment or flags.
//!
//! An empty variable (`API_PROVIDER=` in a sysconfig file) counts as unset. Values are checked
//! before anything starts, and every error names the setting and where its value came from
//! (`API_PORT in the environment`, `--timeout on the command line`, a file's path).

use crate::catalogue;
use crate::cli::{Cli, LogFormat};
use anyhow::{Context, anyhow, bail};
use deltacloud_core::{Credentials, Secret};
use figment::providers::Format;
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Drivers this build can serve (the catalogue lists more).
pub const AVAILABLE_DRIVERS: &[&str] = &["mock", "rhevm", "ec2", "eucalyptus"];

/// Longest accepted `timeout`, so a typo cannot overflow a deadline.
const MAX_TIMEOUT_SECS: u64 = 86_400;
/// Longest accepted mock transition delay.
const MAX_TRANSITION_DELAY_MS: u64 = 3_600_000;

/// A snapshot of environment variables. Loading takes one as an argument instead of reading the
/// process environment, so it is a pure function of its inputs and tests need no global state.
pub type Vars = BTreeMap<String, String>;

/// Capture the process environment (variables that are not UTF-8 are skipped).
#[must_use]
pub fn process_env() -> Vars {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The three frontends the original server could mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Frontend {
    Deltacloud,
    Cimi,
    Ec2,
}

impl Frontend {
    pub const ALL: [Self; 3] = [Self::Deltacloud, Self::Cimi, Self::Ec2];

    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Deltacloud => "deltacloud",
            Self::Cimi => "cimi",
            Self::Ec2 => "ec2",
        }
    }

    /// Path of the frontend's entry point, as the `/` index page and the banner link it.
    #[must_use]
    pub const fn root_path(self) -> &'static str {
        match self {
            Self::Deltacloud => "/api",
            Self::Cimi => "/cimi/cloudEntryPoint",
            Self::Ec2 => "/ec2",
        }
    }

    /// Whether this build mounts the frontend (all three now do).
    #[must_use]
    pub const fn implemented(self) -> bool {
        matches!(self, Self::Deltacloud | Self::Cimi | Self::Ec2)
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The validated configuration the server runs with. `Debug` never shows the password: it sits
/// in a core [`Secret`] inside [`Credentials`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Default driver for requests that do not choose one.
    pub driver: String,
    /// Default provider (region, endpoint URL, …) for requests that do not choose one.
    pub provider: Option<String>,
    /// Enabled frontends, in the order given, without duplicates.
    pub frontends: Vec<Frontend>,
    /// Host name or address to bind.
    pub host: String,
    /// Port to bind; 0 asks the kernel for a free one.
    pub port: u16,
    /// Upper bound of one backend call.
    pub timeout: Duration,
    /// `API_USER`/`API_PASSWORD`: when set, every request uses them and authentication is off.
    pub credentials: Option<Credentials>,
    /// Debug-level logs.
    pub verbose: bool,
    pub log_format: LogFormat,
    /// The original's Rack environment (`-e`); recorded, without effect here.
    pub env: String,
    /// Where the mock driver keeps its database (`mock.db`).
    pub data_dir: PathBuf,
    /// Mock option `transition_delay_ms`; `None` leaves the mock's default.
    pub mock_transition_delay_ms: Option<u64>,
    /// rhevm option: the engine API version (`3`, `4` or `auto`); `None` follows the URL.
    pub rhevm_api_version: Option<String>,
    /// rhevm option: a PEM file of extra CAs trusted for HTTPS engines.
    pub rhevm_ca_file: Option<PathBuf>,
    /// rhevm option: how to authenticate (`auto`, `sso` or `basic`); `None` is `auto`.
    pub rhevm_auth: Option<String>,
    /// The region name the `/ec2` frontend presents (SigV4 scopes must name it).
    pub ec2_region: String,
    /// Key that encrypts the EC2 credential store (64 hex digits or base64 of 32 bytes); `None`
    /// uses `<data_dir>/ec2.key`, created with mode 0600 at first start.
    pub ec2_key: Option<Secret>,
    /// EC2 credentials to put into the store at start-up (TOML `[[ec2_credentials]]` only).
    pub ec2_credentials: Vec<Ec2CredentialSeed>,
}

/// One `[[ec2_credentials]]` entry: an access key and the backend identity it acts as.
#[derive(Clone, Debug)]
pub struct Ec2CredentialSeed {
    pub access_key: String,
    pub secret: Secret,
    /// `None`: the server's default driver.
    pub driver: Option<String>,
    /// `None`: the server's default provider.
    pub provider: Option<String>,
    pub user: String,
    pub password: Secret,
}

/// The TOML form of [`Ec2CredentialSeed`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEc2Seed {
    access_key: String,
    #[serde(deserialize_with = "lenient::secret")]
    secret: Option<Secret>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    driver: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    provider: Option<String>,
    user: String,
    #[serde(deserialize_with = "lenient::secret")]
    password: Option<Secret>,
}

/// A loaded configuration plus the warnings found on the way (logged once logging is set up).
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

impl Config {
    /// Assemble the configuration from `cli` and the environment snapshot `env`; see the module
    /// docs for the order.
    ///
    /// # Errors
    /// A message naming the setting and its source when a value is invalid or a file cannot be
    /// read.
    pub fn load(cli: &Cli, env: &Vars) -> anyhow::Result<Loaded> {
        let mut warnings = cli.ignored_flag_warnings();
        if cli.ssl {
            bail!(
                "-s/--ssl: TLS is not supported in this build; serve plain HTTP on a loopback address and terminate TLS in a reverse proxy"
            );
        }
        let figment = figment_for(cli, env, &mut warnings)?;
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| anyhow!("invalid configuration: {e}"))?;
        let (mut config, mut user, mut password) = validate(raw, &figment)?;

        let yaml = match &cli.config {
            Some(p) if !is_toml(p) => Some(expand_home(p, env)?),
            _ => None,
        };
        if let Some(path) = &yaml {
            // The original's `ENV[..] ||= ..`: the file fills only what no layer set.
            let mut entries = read_yaml(path)?;
            match entries.remove(&config.driver) {
                Some(entry) => {
                    config.provider = config.provider.or(entry.provider);
                    user = user.or(entry.user);
                    password = password.or(entry.password.map(Secret::new));
                }
                None => warnings.push(format!(
                    "configuration file {} (-c) has no entry for driver {}",
                    path.display(),
                    config.driver
                )),
            }
        }
        let source_of = |key: &str| match (&yaml, figment.find_value(key)) {
            (Some(path), Err(_)) => format!("configuration file {} (-c)", path.display()),
            _ => origin(&figment, key),
        };
        config.credentials = credentials(
            user,
            password,
            || source_of("user"),
            || source_of("password"),
        )?;
        if config.credentials.is_some() {
            warnings.push(
                "API_USER and API_PASSWORD are set: authentication is off and anybody can reach the backend with these credentials"
                    .to_owned(),
            );
        }
        Ok(Loaded { config, warnings })
    }

    /// The effective configuration as TOML, password redacted. It uses the same keys as a
    /// `--config-toml` file, so it can serve as a starting point for one.
    ///
    /// # Errors
    /// Only if TOML serialization fails, which these plain values cannot cause.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        let printed = Printed {
            driver: &self.driver,
            provider: self.provider.as_deref(),
            frontends: self.frontends.iter().map(|f| f.name()).collect(),
            host: &self.host,
            port: self.port,
            timeout: self.timeout.as_secs(),
            user: self.credentials.as_ref().map(|c| c.user.as_str()),
            password: self.credentials.as_ref().map(|_| "[REDACTED]"),
            verbose: self.verbose,
            log_format: self.log_format.as_str(),
            env: &self.env,
            data_dir: self.data_dir.to_string_lossy().into_owned(),
            mock_transition_delay_ms: self.mock_transition_delay_ms,
            rhevm_api_version: self.rhevm_api_version.as_deref(),
            rhevm_auth: self.rhevm_auth.as_deref(),
            rhevm_ca_file: self
                .rhevm_ca_file
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            ec2_region: &self.ec2_region,
            ec2_key: self.ec2_key.as_ref().map(|_| "[REDACTED]"),
            ec2_credentials: self
                .ec2_credentials
                .iter()
                .map(|c| PrintedSeed {
                    access_key: &c.access_key,
                    secret: "[REDACTED]",
                    driver: c.driver.as_deref(),
                    provider: c.provider.as_deref(),
                    user: &c.user,
                    password: "[REDACTED]",
                })
                .collect(),
        };
        Ok(toml::to_string(&printed)?)
    }

    /// The frontends this build actually mounts.
    pub fn mounted_frontends(&self) -> impl Iterator<Item = Frontend> + '_ {
        self.frontends.iter().copied().filter(|f| f.implemented())
    }
}

#[derive(Serialize)]
struct Printed<'a> {
    driver: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    frontends: Vec<&'static str>,
    host: &'a str,
    port: u16,
    timeout: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'static str>,
    verbose: bool,
    log_format: &'static str,
    env: &'a str,
    data_dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mock_transition_delay_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rhevm_api_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rhevm_auth: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rhevm_ca_file: Option<String>,
    ec2_region: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ec2_key: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ec2_credentials: Vec<PrintedSeed<'a>>,
}

#[derive(Serialize)]
struct PrintedSeed<'a> {
    access_key: &'a str,
    secret: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    user: &'a str,
    password: &'static str,
}

// ---------------------------------------------------------------------------------------------
// Layers

/// Setting names, as used in TOML files and `--print-config`.
const KEYS: &[&str] = &[
    "driver",
    "provider",
    "frontends",
    "host",
    "port",
    "timeout",
    "user",
    "password",
    "verbose",
    "log_format",
    "env",
    "data_dir",
    "mock_transition_delay_ms",
    "rhevm_api_version",
    "rhevm_auth",
    "rhevm_ca_file",
    "ec2_region",
    "ec2_key",
    "ec2_credentials",
];

/// Environment variable ⇒ setting, for the environment layer (and the sysconfig file).
const API_VARS: &[(&str, &str)] = &[
    ("API_DRIVER", "driver"),
    ("API_PROVIDER", "provider"),
    ("API_FRONTEND", "frontends"),
    ("API_HOST", "host"),
    ("API_PORT", "port"),
    ("API_TIMEOUT", "timeout"),
    ("API_USER", "user"),
    ("API_PASSWORD", "password"),
    ("API_VERBOSE", "verbose"),
    ("API_LOG_FORMAT", "log_format"),
    ("API_ENV", "env"),
    ("DELTACLOUD_MOCK_STORAGE", "data_dir"),
    ("API_RHEVM_API_VERSION", "rhevm_api_version"),
    ("API_RHEVM_AUTH", "rhevm_auth"),
    ("API_RHEVM_CA_FILE", "rhevm_ca_file"),
];

/// The RPM init script's sysconfig names (`drivers.md` §6.4); only read from a sysconfig file,
/// because `HOST` and `PORT` are too generic to trust in a process environment.
const SYSCONFIG_VARS: &[(&str, &str)] = &[("DRIVER", "driver"), ("HOST", "host"), ("PORT", "port")];

/// Settings that have no `DELTACLOUD_*` variable (see the module docs).
const NOT_PREFIXED: &[&str] = &["user", "password", "ec2_credentials"];

/// `DELTACLOUD_*` names that are not settings but are known and deliberately ignored.
const PREFIXED_IGNORED: &[&str] = &[
    "DELTACLOUD_USER",
    "DELTACLOUD_MOCK_STORAGE",
    // Read by `deltacloudd credentials add`, not by the server.
    "DELTACLOUD_EC2_SECRET",
    "DELTACLOUD_BACKEND_PASSWORD",
];

fn prefixed_vars() -> Vec<(String, &'static str)> {
    KEYS.iter()
        .filter(|k| !NOT_PREFIXED.contains(k))
        .map(|k| (format!("DELTACLOUD_{}", k.to_ascii_uppercase()), *k))
        .collect()
}

/// One configuration layer: setting ⇒ (how the user spelled it, value). The spelling feeds the
/// metadata's interpolater, so figment's errors say `API_PORT` or `--port`, not `port`.
struct Layer {
    name: &'static str,
    source: Option<PathBuf>,
    values: BTreeMap<&'static str, (String, Value)>,
}

impl Layer {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            source: None,
            values: BTreeMap::new(),
        }
    }

    fn set(&mut self, key: &'static str, label: impl Into<String>, value: impl Into<Value>) {
        self.values.insert(key, (label.into(), value.into()));
    }

    /// A layer from variables: for each setting, the last of `table` (in order) that is set and
    /// not empty wins.
    fn from_vars(name: &'static str, vars: &Vars, table: &[(&str, &'static str)]) -> Self {
        let mut layer = Self::new(name);
        for (var, key) in table {
            if let Some(v) = vars.get(*var).filter(|v| !v.is_empty()) {
                layer.set(key, *var, v.clone());
            }
        }
        layer
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let labels: BTreeMap<String, String> = self
            .values
            .iter()
            .map(|(k, (label, _))| ((*k).to_owned(), label.clone()))
            .collect();
        let md = Metadata::named(self.name).interpolater(move |_: &Profile, keys: &[&str]| {
            keys.first()
                .and_then(|k| labels.get(*k))
                .cloned()
                .unwrap_or_else(|| keys.join("."))
        });
        match &self.source {
            Some(p) => md.source(p.as_path()),
            None => md,
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let dict: Dict = self
            .values
            .iter()
            .map(|(k, (_, v))| ((*k).to_owned(), v.clone()))
            .collect();
        Ok(Profile::Default.collect(dict))
    }
}

/// A figment provider whose errors name keys without figment's profile prefix (`port`, not
/// `default.port`): this configuration has no profiles.
struct Unprofiled<P>(P);

impl<P: Provider> Provider for Unprofiled<P> {
    fn metadata(&self) -> Metadata {
        self.0
            .metadata()
            .interpolater(|_: &Profile, keys: &[&str]| keys.join("."))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.0.data()
    }
}

fn defaults(env: &Vars) -> Layer {
    let user = env
        .get("USER")
        .or_else(|| env.get("LOGNAME"))
        .filter(|u| !u.is_empty())
        .map_or("nobody", String::as_str);
    let mut l = Layer::new("built-in defaults");
    l.set("driver", "driver", "mock");
    l.set("frontends", "frontends", "deltacloud,cimi,ec2");
    l.set("host", "host", "localhost");
    l.set("port", "port", 3001_u16);
    l.set("timeout", "timeout", 60_u64);
    l.set("verbose", "verbose", false);
    l.set("log_format", "log_format", "text");
    l.set("env", "env", "development");
    l.set("ec2_region", "ec2_region", "us-east-1");
    l.set(
        "data_dir",
        "data_dir",
        format!("/var/tmp/deltacloud-{user}/mock"),
    );
    l
}

fn cli_layer(cli: &Cli) -> Layer {
    let mut l = Layer::new("command line");
    if let Some(v) = &cli.driver {
        l.set("driver", "-i/--driver", v.clone());
    }
    if let Some(v) = &cli.provider {
        l.set("provider", "-P/--provider", v.clone());
    }
    if let Some(v) = &cli.frontends {
        l.set("frontends", "-f/--frontends", v.clone());
    }
    if let Some(v) = &cli.host {
        l.set("host", "-r/--hostname", v.clone());
    }
    if let Some(v) = cli.port {
        l.set("port", "-p/--port", v);
    }
    if let Some(v) = cli.timeout {
        l.set("timeout", "-t/--timeout", v);
    }
    if cli.verbose {
        l.set("verbose", "-V/--verbose", true);
    }
    if let Some(v) = cli.log_format {
        l.set("log_format", "--log-format", v.as_str());
    }
    if let Some(v) = &cli.env {
        l.set("env", "-e/--env", v.clone());
    }
    if let Some(v) = &cli.data_dir {
        l.set("data_dir", "--data-dir", v.to_string_lossy().into_owned());
    }
    if let Some(v) = &cli.rhevm_api_version {
        l.set("rhevm_api_version", "--rhevm-api-version", v.clone());
    }
    if let Some(v) = &cli.rhevm_auth {
        l.set("rhevm_auth", "--rhevm-auth", v.clone());
    }
    if let Some(v) = &cli.rhevm_ca_file {
        l.set(
            "rhevm_ca_file",
            "--rhevm-ca-file",
            v.to_string_lossy().into_owned(),
        );
    }
    if let Some(v) = cli.mock_transition_delay_ms {
        l.set("mock_transition_delay_ms", "--mock-transition-delay-ms", v);
    }
    l
}

fn is_toml(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// `~/x` ⇒ `$HOME/x`, as the original's `File.expand_path`.
fn expand_home(p: &Path, env: &Vars) -> anyhow::Result<PathBuf> {
    match p.strip_prefix("~") {
        Ok(rest) => {
            let home = env
                .get("HOME")
                .filter(|h| !h.is_empty())
                .ok_or_else(|| anyhow!("cannot expand {}: HOME is not set", p.display()))?;
            Ok(Path::new(home).join(rest))
        }
        Err(_) => Ok(p.to_path_buf()),
    }
}

fn figment_for(cli: &Cli, env: &Vars, warnings: &mut Vec<String>) -> anyhow::Result<Figment> {
    let mut fig = Figment::from(defaults(env));

    let tomls = cli
        .config_toml
        .iter()
        .chain(cli.config.iter().filter(|p| is_toml(p)));
    for path in tomls {
        let path = expand_home(path, env)?;
        if !path.is_file() {
            bail!(
                "cannot read the TOML configuration file {}: no such file",
                path.display()
            );
        }
        fig = fig.merge(Unprofiled(figment::providers::Toml::file_exact(&path)));
    }

    if let Some(path) = &cli.env_file {
        let iter = dotenvy::from_path_iter(path).with_context(|| {
            format!(
                "cannot read the sysconfig file {} (--env-file)",
                path.display()
            )
        })?;
        let mut vars = Vars::new();
        for item in iter {
            let (k, v) = item.with_context(|| {
                format!(
                    "cannot parse the sysconfig file {} (--env-file)",
                    path.display()
                )
            })?;
            vars.insert(k, v);
        }
        let prefixed = prefixed_vars();
        let mut table: Vec<(&str, &'static str)> = SYSCONFIG_VARS.to_vec();
        table.extend_from_slice(API_VARS);
        table.extend(prefixed.iter().map(|(v, k)| (v.as_str(), *k)));
        let mut layer = Layer::from_vars("sysconfig file", &vars, &table);
        layer.source = Some(path.clone());
        fig = fig.merge(layer);
    }

    fig = fig.merge(Layer::from_vars("the environment", env, API_VARS));

    let prefixed = prefixed_vars();
    let table: Vec<(&str, &'static str)> = prefixed.iter().map(|(v, k)| (v.as_str(), *k)).collect();
    for var in env.keys().filter(|k| k.starts_with("DELTACLOUD_")) {
        if !PREFIXED_IGNORED.contains(&var.as_str()) && !table.iter().any(|(v, _)| v == var) {
            warnings.push(format!(
                "environment variable {var} is not a deltacloudd setting; ignored"
            ));
        }
    }
    fig = fig.merge(Layer::from_vars("the environment", env, &table));

    Ok(fig.merge(cli_layer(cli)))
}

/// An option that takes one of `allowed` (case-insensitive; blank is unset), lower-cased.
fn choice(
    fig: &Figment,
    key: &str,
    value: Option<String>,
    allowed: &[&str],
) -> anyhow::Result<Option<String>> {
    let v = value
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty());
    if let Some(v) = &v
        && !allowed.contains(&v.as_str())
    {
        let expected = match allowed.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => allowed.join(""),
        };
        bail!(
            "invalid {key} {v:?} (from {}): expected {expected}",
            origin(fig, key)
        );
    }
    Ok(v)
}

/// Where the effective value of `key` came from, e.g. `API_PORT in the environment` or
/// `-t/--timeout on the command line`.
fn origin(fig: &Figment, key: &str) -> String {
    match fig.find_metadata(key) {
        Some(md) => {
            let name = md.interpolate(&Profile::Default, &[key]);
            match &md.source {
                Some(src) => format!("{name} in {} {src}", md.name),
                None if md.name == "command line" => format!("{name} on the command line"),
                None => format!("{name} in {}", md.name),
            }
        }
        None => key.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Extraction and validation

/// What the layers merge into, before the checks that need more than one value's type.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    driver: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    provider: Option<String>,
    #[serde(deserialize_with = "lenient::string_list")]
    frontends: Vec<String>,
    host: String,
    #[serde(deserialize_with = "lenient::port")]
    port: u16,
    #[serde(deserialize_with = "lenient::uint")]
    timeout: u64,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    user: Option<String>,
    #[serde(default, deserialize_with = "lenient::secret")]
    password: Option<Secret>,
    #[serde(deserialize_with = "lenient::boolean")]
    verbose: bool,
    #[serde(deserialize_with = "lenient::log_format")]
    log_format: LogFormat,
    env: String,
    data_dir: PathBuf,
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    mock_transition_delay_ms: Option<u64>,
    #[serde(default)]
    rhevm_api_version: Option<String>,
    #[serde(default)]
    rhevm_auth: Option<String>,
    #[serde(default)]
    rhevm_ca_file: Option<PathBuf>,
    ec2_region: String,
    #[serde(default, deserialize_with = "lenient::secret")]
    ec2_key: Option<Secret>,
    #[serde(default)]
    ec2_credentials: Vec<RawEc2Seed>,
}

/// The exact message of the original for an unknown frontend (`deltacloud-api.md` §1.1).
fn unknown_frontend(name: &str) -> String {
    format!("Unknown frontend ({name}). Valid values are 'deltacloud,cimi,ec2'")
}

/// Parse a frontend list (`deltacloud,ec2`); order kept, duplicates dropped.
///
/// # Errors
/// The original's message for an unknown name.
pub fn parse_frontends<S: AsRef<str>>(names: &[S]) -> Result<Vec<Frontend>, String> {
    let mut out = Vec::new();
    for name in names {
        let name = name.as_ref().trim();
        if name.is_empty() {
            continue;
        }
        let f =
            Frontend::parse(&name.to_ascii_lowercase()).ok_or_else(|| unknown_frontend(name))?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    Ok(out)
}

/// Check that `id` names a driver this build serves.
///
/// # Errors
/// Whether the driver is unknown or only catalogued, with where the value came from.
pub fn check_driver(id: &str, origin: &str) -> anyhow::Result<()> {
    if AVAILABLE_DRIVERS.contains(&id) {
        return Ok(());
    }
    if catalogue::known_ids().iter().any(|k| k == id) {
        bail!(
            "driver '{id}' (from {origin}) is not available in this build; available: {}",
            AVAILABLE_DRIVERS.join(", ")
        );
    }
    bail!(
        "unknown driver '{id}' (from {origin}); available: {}. To list all drivers try: deltacloudd --drivers",
        AVAILABLE_DRIVERS.join(", ")
    )
}

/// Checks on single values; the credentials are paired later, after the YAML file had its say.
fn validate(
    raw: RawConfig,
    fig: &Figment,
) -> anyhow::Result<(Config, Option<String>, Option<Secret>)> {
    let driver = raw.driver.trim().to_owned();
    check_driver(&driver, &origin(fig, "driver"))?;

    let frontends = parse_frontends(&raw.frontends).map_err(|e| anyhow!(e))?;
    if frontends.is_empty() {
        bail!(
            "no frontend enabled (from {}); valid values are 'deltacloud,cimi,ec2'",
            origin(fig, "frontends")
        );
    }

    let host = raw.host.trim().to_owned();
    if host.is_empty() || host.contains(char::is_whitespace) {
        bail!(
            "invalid host {:?} (from {}): expected a host name or IP address",
            raw.host,
            origin(fig, "host")
        );
    }

    if raw.timeout == 0 || raw.timeout > MAX_TIMEOUT_SECS {
        bail!(
            "invalid timeout {} (from {}): expected 1 to {MAX_TIMEOUT_SECS} seconds",
            raw.timeout,
            origin(fig, "timeout")
        );
    }

    if let Some(ms) = raw.mock_transition_delay_ms
        && ms > MAX_TRANSITION_DELAY_MS
    {
        bail!(
            "invalid mock_transition_delay_ms {ms} (from {}): expected at most {MAX_TRANSITION_DELAY_MS}",
            origin(fig, "mock_transition_delay_ms")
        );
    }

    let rhevm_api_version = choice(
        fig,
        "rhevm_api_version",
        raw.rhevm_api_version,
        &["3", "4", "auto"],
    )?;
    let rhevm_auth = choice(fig, "rhevm_auth", raw.rhevm_auth, &["auto", "sso", "basic"])?;
    let rhevm_ca_file = raw.rhevm_ca_file.filter(|p| !p.as_os_str().is_empty());
    if let Some(p) = &rhevm_ca_file
        && !p.is_file()
    {
        bail!(
            "invalid rhevm_ca_file {} (from {}): not a readable file",
            p.display(),
            origin(fig, "rhevm_ca_file")
        );
    }

    if raw.data_dir.as_os_str().is_empty() {
        bail!(
            "invalid data_dir (from {}): empty path",
            origin(fig, "data_dir")
        );
    }

    let config = Config {
        driver,
        provider: raw.provider,
        frontends,
        host,
        port: raw.port,
        timeout: Duration::from_secs(raw.timeout),
        credentials: None,
        verbose: raw.verbose,
        log_format: raw.log_format,
        env: raw.env,
        data_dir: raw.data_dir,
        mock_transition_delay_ms: raw.mock_transition_delay_ms,
        rhevm_api_version,
        rhevm_auth,
        rhevm_ca_file,
        ec2_region: raw.ec2_region.trim().to_owned(),
        ec2_key: raw.ec2_key,
        ec2_credentials: Vec::new(),
    };
    if config.ec2_region.is_empty() || config.ec2_region.contains(['/', ' ']) {
        bail!(
            "invalid ec2_region {:?} (from {}): expected a region name such as us-east-1",
            config.ec2_region,
            origin(fig, "ec2_region")
        );
    }
    let mut config = config;
    for (n, seed) in raw.ec2_credentials.into_iter().enumerate() {
        let where_ = || {
            format!(
                "ec2_credentials entry {} (from {})",
                n + 1,
                origin(fig, "ec2_credentials")
            )
        };
        let (Some(secret), Some(password)) = (seed.secret, seed.password) else {
            bail!("{}: secret and password must not be empty", where_());
        };
        if seed.access_key.trim().is_empty() || seed.access_key.contains('/') {
            bail!("{}: invalid access_key", where_());
        }
        config.ec2_credentials.push(Ec2CredentialSeed {
            access_key: seed.access_key,
            secret,
            driver: seed.driver,
            provider: seed.provider,
            user: seed.user,
            password,
        });
    }
    Ok((config, raw.user, raw.password))
}

/// Both or neither: the original needed both, and a lone user or password is almost surely a
/// mistake that would otherwise leave authentication on without saying why.
fn credentials(
    user: Option<String>,
    password: Option<Secret>,
    user_origin: impl FnOnce() -> String,
    password_origin: impl FnOnce() -> String,
) -> anyhow::Result<Option<Credentials>> {
    match (user, password) {
        (Some(user), Some(password)) => Ok(Some(Credentials { user, password })),
        (None, None) => Ok(None),
        (Some(_), None) => bail!(
            "user is set (from {}) but password is not: set both or neither",
            user_origin()
        ),
        (None, Some(_)) => {
            bail!(
                "password is set (from {}) but user is not: set both or neither",
                password_origin()
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The original's YAML file (`-c`)

#[derive(Default)]
struct YamlEntry {
    provider: Option<String>,
    user: Option<String>,
    password: Option<String>,
}

fn yaml_scalar(v: &serde_norway::Value) -> Option<String> {
    match v {
        serde_norway::Value::String(s) => Some(s.clone()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        serde_norway::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Read the `-c` YAML file: `driver id ⇒ {provider, user, password}`. Keys are plain strings;
/// the Ruby-symbol spelling (`:mock:`) the original silently failed to match is an error here.
fn read_yaml(path: &Path) -> anyhow::Result<BTreeMap<String, YamlEntry>> {
    let where_ = || format!("configuration file {} (-c)", path.display());
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the {}", where_()))?;
    let doc: serde_norway::Value =
        serde_norway::from_str(&text).with_context(|| format!("cannot parse the {}", where_()))?;
    let mut out = BTreeMap::new();
    let top = match &doc {
        serde_norway::Value::Null => return Ok(out),
        serde_norway::Value::Mapping(m) => m,
        _ => bail!(
            "{}: expected a map of driver id => {{provider, user, password}}",
            where_()
        ),
    };
    for (k, v) in top {
        let driver = k
            .as_str()
            .ok_or_else(|| anyhow!("{}: driver ids must be strings", where_()))?;
        if let Some(plain) = driver.strip_prefix(':') {
            bail!(
                "{}: key {driver:?} is a Ruby symbol; write it as a plain string ({plain}:)",
                where_()
            );
        }
        let mut entry = YamlEntry::default();
        if let Some(m) = v.as_mapping() {
            for (sk, sv) in m {
                let name = sk.as_str().unwrap_or_default();
                let value =
                    if sv.is_null() {
                        None
                    } else {
                        Some(yaml_scalar(sv).ok_or_else(|| {
                            anyhow!("{}: {driver}.{name} must be a string", where_())
                        })?)
                    };
                let value = value.filter(|s| !s.is_empty());
                match name {
                    "provider" => entry.provider = value,
                    "user" => entry.user = value,
                    "password" => entry.password = value,
                    other if other.starts_with(':') => bail!(
                        "{}: key {driver}.{other} is a Ruby symbol; write it as a plain string ({}:)",
                        where_(),
                        other.trim_start_matches(':')
                    ),
                    other => bail!(
                        "{}: unknown key {driver}.{other} (expected provider, user, password)",
                        where_()
                    ),
                }
            }
        } else if !v.is_null() {
            bail!(
                "{}: the entry for {driver} must be a map of provider, user, password",
                where_()
            );
        }
        out.insert(driver.to_owned(), entry);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Lenient deserializers: environment values are strings, TOML values are typed; both must work,
// and a bad value must produce a message that says what was expected.

mod lenient {
    use super::*;

    struct Uint {
        max: u64,
        expecting: &'static str,
    }

    impl Visitor<'_> for Uint {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            if v <= self.max {
                Ok(v)
            } else {
                Err(E::invalid_value(Unexpected::Unsigned(v), &self))
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(u) => self.visit_u64(u),
                Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            match v.trim().parse::<u64>() {
                Ok(u) if u <= self.max => Ok(u),
                _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
            }
        }
    }

    pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        let v = d.deserialize_any(Uint {
            max: u64::from(u16::MAX),
            expecting: "a port number (0-65535)",
        })?;
        u16::try_from(v).map_err(|_| {
            de::Error::invalid_value(Unexpected::Unsigned(v), &"a port number (0-65535)")
        })
    }

    pub fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(Uint {
            max: u64::MAX,
            expecting: "a whole number",
        })
    }

    pub fn opt_uint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        uint(d).map(Some)
    }

    struct Bool;

    impl Visitor<'_> for Bool {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean (true/false, yes/no, on/off, 1/0)")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(E::invalid_value(Unexpected::Unsigned(v), &self)),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            Err(E::invalid_value(Unexpected::Signed(v), &self))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(true),
                "false" | "no" | "off" | "0" => Ok(false),
                _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
            }
        }
    }

    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        d.deserialize_any(Bool)
    }

    struct StringList;

    impl<'de> Visitor<'de> for StringList {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a comma-separated list or an array of names")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect())
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(out)
        }
    }

    pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(StringList)
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Some(s).filter(|s| !s.is_empty()))
    }

    /// Any scalar becomes the password's text: an error message must never echo a password
    /// back (serde's "invalid type" errors quote the value they got).
    struct AnyScalar;

    impl Visitor<'_> for AnyScalar {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
    }

    pub fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        let s = d.deserialize_any(AnyScalar)?;
        Ok(Some(s).filter(|s| !s.is_empty()).map(Secret::new))
    }

    pub fn log_format<'de, D: Deserializer<'de>>(d: D) -> Result<LogFormat, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(de::Error::invalid_value(
                Unexpected::Str(&s),
                &"text or json",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::io::Write;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("deltacloudd").chain(args.iter().copied())).unwrap()
    }

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn load(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Loaded> {
        Config::load(&cli(args), &vars(env))
    }

    fn err(args: &[&str], env: &[(&str, &str)]) -> String {
        format!("{:#}", load(args, env).unwrap_err())
    }

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
        let p = dir.path().join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn defaults() {
        let c = load(&[], &[("USER", "alice")]).unwrap().config;
        assert_eq!(c.driver, "mock");
        assert_eq!(c.provider, None);
        assert_eq!(c.frontends, Frontend::ALL);
        assert_eq!(c.host, "localhost");
        assert_eq!(c.port, 3001);
        assert_eq!(c.timeout, Duration::from_secs(60));
        assert!(c.credentials.is_none());
        assert!(!c.verbose);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.env, "development");
        assert_eq!(c.data_dir, PathBuf::from("/var/tmp/deltacloud-alice/mock"));
        assert_eq!(c.mock_transition_delay_ms, None);
        let c = load(&[], &[]).unwrap().config;
        assert_eq!(c.data_dir, PathBuf::from("/var/tmp/deltacloud-nobody/mock"));
    }

    #[test]
    fn every_layer_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let toml = file(
            &dir,
            "c.toml",
            "port = 1001\ntimeout = 11\nhost = \"toml-host\"\nenv = \"toml\"\nprovider = \"p-toml\"\n",
        );
        let sys = file(
            &dir,
            "sysconfig",
            "PORT=1002\nAPI_TIMEOUT=12\nHOST=sys-host\nAPI_ENV=sys\n",
        );
        let args = ["--config-toml", &toml, "--env-file", &sys, "-p", "1005"];
        let env = [
            ("API_PORT", "1003"),
            ("API_TIMEOUT", "13"),
            ("DELTACLOUD_PORT", "1004"),
        ];
        let c = load(&args, &env).unwrap().config;
        assert_eq!(c.port, 1005, "flag beats everything");
        assert_eq!(
            c.timeout.as_secs(),
            13,
            "API_* env beats the sysconfig file"
        );
        assert_eq!(c.host, "sys-host", "sysconfig beats TOML");
        assert_eq!(c.env, "sys");
        assert_eq!(c.provider.as_deref(), Some("p-toml"), "TOML beats defaults");

        let c = load(&["--config-toml", &toml, "--env-file", &sys], &env)
            .unwrap()
            .config;
        assert_eq!(c.port, 1004, "DELTACLOUD_* beats API_*");
        let c = load(&["--config-toml", &toml, "--env-file", &sys], &env[..1])
            .unwrap()
            .config;
        assert_eq!(c.port, 1003, "environment beats the sysconfig file");
        let c = load(&["--config-toml", &toml, "--env-file", &sys], &[])
            .unwrap()
            .config;
        assert_eq!(c.port, 1002, "sysconfig beats TOML");
        let c = load(&["--config-toml", &toml], &[]).unwrap().config;
        assert_eq!(c.port, 1001, "TOML beats defaults");
    }

    #[test]
    fn sysconfig_api_names_beat_init_script_names_and_empty_is_unset() {
        let dir = tempfile::tempdir().unwrap();
        let sys = file(
            &dir,
            "sc",
            "# comment\nDRIVER=mock\nPORT=2000\nAPI_PORT=\"2001\"\nexport API_FRONTEND='deltacloud, ec2'\nAPI_PROVIDER=\nDELTACLOUD_MOCK_STORAGE=/srv/mock\n",
        );
        let c = load(&["--env-file", &sys], &[]).unwrap().config;
        assert_eq!(c.port, 2001);
        assert_eq!(c.frontends, [Frontend::Deltacloud, Frontend::Ec2]);
        assert_eq!(c.provider, None);
        assert_eq!(c.data_dir, PathBuf::from("/srv/mock"));
    }

    #[test]
    fn environment_names() {
        let env = [
            ("API_DRIVER", "mock"),
            (
                "API_PROVIDER",
                "https://Keystone.example.com:5000/v2.0;RegionOne",
            ),
            ("API_FRONTEND", "cimi"),
            ("API_HOST", "0.0.0.0"),
            ("API_PORT", "0"),
            ("API_TIMEOUT", "5"),
            ("API_VERBOSE", "true"),
            ("API_LOG_FORMAT", "JSON"),
            ("DELTACLOUD_MOCK_STORAGE", "/tmp/m"),
            ("DELTACLOUD_MOCK_TRANSITION_DELAY_MS", "250"),
        ];
        let c = load(&[], &env).unwrap().config;
        assert_eq!(
            c.provider.as_deref(),
            Some("https://Keystone.example.com:5000/v2.0;RegionOne"),
            "case kept"
        );
        assert_eq!(c.frontends, [Frontend::Cimi]);
        assert_eq!(
            (c.host.as_str(), c.port, c.timeout.as_secs()),
            ("0.0.0.0", 0, 5)
        );
        assert!(c.verbose);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/m"));
        assert_eq!(c.mock_transition_delay_ms, Some(250));
        let c = load(&["--data-dir", "/flag"], &env).unwrap().config;
        assert_eq!(c.data_dir, PathBuf::from("/flag"));
    }

    #[test]
    fn verbose_spellings() {
        for (v, want) in [
            ("1", true),
            ("yes", true),
            ("ON", true),
            ("0", false),
            ("false", false),
            ("", false),
        ] {
            assert_eq!(
                load(&[], &[("API_VERBOSE", v)]).unwrap().config.verbose,
                want,
                "{v:?}"
            );
        }
        let e = err(&[], &[("API_VERBOSE", "maybe")]);
        assert!(e.contains("API_VERBOSE") && e.contains("maybe"), "{e}");
        assert!(
            load(&["-V"], &[("API_VERBOSE", "0")])
                .unwrap()
                .config
                .verbose
        );
    }

    #[test]
    fn bad_values_name_the_setting_and_source() {
        let e = err(&[], &[("API_PORT", "abc")]);
        assert!(
            e.contains("\"API_PORT\"")
                && e.contains("in the environment")
                && e.contains("port number"),
            "{e}"
        );
        let e = err(&[], &[("API_PORT", "70000")]);
        assert!(e.contains("API_PORT"), "{e}");
        let e = err(&[], &[("DELTACLOUD_TIMEOUT", "soon")]);
        assert!(e.contains("DELTACLOUD_TIMEOUT"), "{e}");
        let e = err(&["-t", "0"], &[]);
        assert!(
            e.contains("timeout 0") && e.contains("-t/--timeout on the command line"),
            "{e}"
        );
        let e = err(&[], &[("API_TIMEOUT", "0")]);
        assert!(e.contains("API_TIMEOUT in the environment"), "{e}");
        let e = err(&[], &[("API_LOG_FORMAT", "xml")]);
        assert!(
            e.contains("API_LOG_FORMAT") && e.contains("text or json"),
            "{e}"
        );
        let e = err(&["-r", " "], &[]);
        assert!(
            e.contains("invalid host") && e.contains("-r/--hostname"),
            "{e}"
        );
    }

    #[test]
    fn toml_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let t = file(&dir, "bad.toml", "port = \"x\"\n");
        let e = err(&["--config-toml", &t], &[]);
        assert!(e.contains("bad.toml") && e.contains("port"), "{e}");
        let t = file(&dir, "typo.toml", "prot = 1\n");
        let e = err(&["-c", &t], &[]);
        assert!(e.contains("prot"), "{e}");
        let e = err(&["--config-toml", "/nonexistent/x.toml"], &[]);
        assert!(
            e.contains("/nonexistent/x.toml") && e.contains("no such file"),
            "{e}"
        );
        let t = file(&dir, "timeout.toml", "timeout = 0\n");
        let e = err(&["--config-toml", &t], &[]);
        assert!(e.contains("timeout.toml"), "{e}");
    }

    #[test]
    fn toml_frontends_as_array_or_string() {
        let dir = tempfile::tempdir().unwrap();
        let t = file(
            &dir,
            "a.toml",
            "frontends = [\"ec2\", \"deltacloud\", \"ec2\"]\n",
        );
        assert_eq!(
            load(&["-c", &t], &[]).unwrap().config.frontends,
            [Frontend::Ec2, Frontend::Deltacloud]
        );
        let t = file(&dir, "b.toml", "frontends = \"cimi\"\n");
        assert_eq!(
            load(&["--config-toml", &t], &[]).unwrap().config.frontends,
            [Frontend::Cimi]
        );
    }

    #[test]
    fn unknown_frontend_has_the_original_message() {
        let e = err(&["-f", "deltacloud,x"], &[]);
        assert_eq!(
            e,
            "Unknown frontend (x). Valid values are 'deltacloud,cimi,ec2'"
        );
        let e = err(&[], &[("API_FRONTEND", ",")]);
        assert!(
            e.contains("no frontend enabled") && e.contains("API_FRONTEND"),
            "{e}"
        );
    }

    #[test]
    fn drivers_are_checked() {
        let e = err(&["-i", "nope"], &[]);
        assert!(
            e.contains("unknown driver 'nope'") && e.contains("-i/--driver"),
            "{e}"
        );
        let e = err(&[], &[("API_DRIVER", "openstack")]);
        assert!(
            e.contains("'openstack'")
                && e.contains("not available in this build")
                && e.contains("API_DRIVER"),
            "{e}"
        );
    }

    #[test]
    fn credentials_need_both_halves_and_never_print() {
        let l = load(
            &[],
            &[("API_USER", "admin"), ("API_PASSWORD", "s3cr3t-value")],
        )
        .unwrap();
        let creds = l.config.credentials.as_ref().unwrap();
        assert_eq!(creds.user, "admin");
        assert_eq!(creds.password.expose(), "s3cr3t-value");
        assert!(
            l.warnings
                .iter()
                .any(|w| w.contains("authentication is off"))
        );
        let debug = format!("{:?}", l.config);
        assert!(
            !debug.contains("s3cr3t-value") && debug.contains("[REDACTED]"),
            "{debug}"
        );
        let printed = l.config.to_toml().unwrap();
        assert!(
            !printed.contains("s3cr3t-value") && printed.contains("password = \"[REDACTED]\""),
            "{printed}"
        );

        let e = err(&[], &[("API_USER", "admin")]);
        assert!(
            e.contains("API_USER") && e.contains("password is not"),
            "{e}"
        );
        let e = err(&[], &[("API_PASSWORD", "x")]);
        assert!(e.contains("API_PASSWORD") && !e.contains("\"x\""), "{e}");
    }

    #[test]
    fn yaml_config_fills_gaps_for_the_selected_driver() {
        let dir = tempfile::tempdir().unwrap();
        let y = file(
            &dir,
            "config",
            "mock:\n  provider: yaml-provider\n  user: yuser\n  password: ypass\nec2:\n  provider: eu-west-1\n",
        );
        let c = load(&["-c", &y], &[]).unwrap().config;
        assert_eq!(c.provider.as_deref(), Some("yaml-provider"));
        assert_eq!(
            c.credentials.as_ref().map(|c| c.user.as_str()),
            Some("yuser")
        );
        let c = load(
            &["-c", &y, "-P", "flag-provider"],
            &[("API_USER", "envuser"), ("API_PASSWORD", "envpass")],
        )
        .unwrap()
        .config;
        assert_eq!(
            c.provider.as_deref(),
            Some("flag-provider"),
            "never overrides a set value"
        );
        let creds = c.credentials.unwrap();
        assert_eq!(
            (creds.user.as_str(), creds.password.expose()),
            ("envuser", "envpass")
        );
        // One half from the environment, the other from the file, as the original allowed.
        let c = load(&["-c", &y], &[("API_USER", "envuser")])
            .unwrap()
            .config;
        let creds = c.credentials.unwrap();
        assert_eq!(
            (creds.user.as_str(), creds.password.expose()),
            ("envuser", "ypass")
        );
        let y2 = file(&dir, "nopass", "mock:\n  user: lonely\n");
        let e = err(&["-c", &y2], &[]);
        assert!(e.contains("password is not") && e.contains("nopass"), "{e}");
    }

    #[test]
    fn yaml_default_path_and_symbol_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".deltacloud")).unwrap();
        file(&dir, ".deltacloud/config", "mock:\n  provider: from-home\n");
        let home = dir.path().to_string_lossy().into_owned();
        let c = load(&["-c"], &[("HOME", &home)]).unwrap().config;
        assert_eq!(c.provider.as_deref(), Some("from-home"));

        let y = file(&dir, "sym", ":mock:\n  :provider: x\n");
        let e = err(&["-c", &y], &[]);
        assert!(e.contains("Ruby symbol"), "{e}");
        let y = file(&dir, "sym2", "mock:\n  :provider: x\n");
        assert!(err(&["-c", &y], &[]).contains("Ruby symbol"));
        let y = file(&dir, "unknown", "mock:\n  region: x\n");
        assert!(err(&["-c", &y], &[]).contains("unknown key mock.region"));
        let e = err(&["-c", "/nonexistent/config"], &[]);
        assert!(e.contains("/nonexistent/config"), "{e}");
    }

    #[test]
    fn ssl_is_refused_and_compat_flags_warn() {
        let e = err(&["-s", "-k", "k.pem", "-C", "c.pem"], &[]);
        assert!(e.contains("not supported in this build"), "{e}");
        let l = load(
            &["-d", "-u", "nobody"],
            &[("DELTACLOUD_USER", "nobody"), ("DELTACLOUD_PROT", "1")],
        )
        .unwrap();
        assert!(l.warnings.iter().any(|w| w.starts_with("-d/--daemon")));
        assert!(l.warnings.iter().any(|w| w.contains("DELTACLOUD_PROT")));
        assert!(!l.warnings.iter().any(|w| w.contains("DELTACLOUD_USER")));
    }

    #[test]
    fn a_numeric_password_in_toml_is_accepted_not_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let t = file(&dir, "p.toml", "user = \"u\"\npassword = 987654321\n");
        let c = load(&["--config-toml", &t], &[]).unwrap().config;
        assert_eq!(c.credentials.unwrap().password.expose(), "987654321");
    }

    #[test]
    fn deltacloud_user_is_not_the_backend_user() {
        let c = load(
            &[],
            &[("DELTACLOUD_USER", "nobody"), ("DELTACLOUD_PASSWORD", "x")],
        )
        .unwrap()
        .config;
        assert!(c.credentials.is_none());
    }

    #[test]
    fn print_config_round_trips_through_a_toml_file() {
        let env = [
            ("API_PROVIDER", "p1"),
            ("API_FRONTEND", "ec2,deltacloud"),
            ("API_PORT", "4000"),
        ];
        let c = load(&["--mock-transition-delay-ms", "10"], &env)
            .unwrap()
            .config;
        let text = c.to_toml().unwrap();
        assert!(
            text.contains("frontends = [\"ec2\", \"deltacloud\"]"),
            "{text}"
        );
        let dir = tempfile::tempdir().unwrap();
        let t = file(&dir, "again.toml", &text);
        let again = load(&["--config-toml", &t], &[]).unwrap().config;
        assert_eq!(again.to_toml().unwrap(), text);
    }

    #[test]
    fn frontend_parsing() {
        assert_eq!(
            parse_frontends(&["EC2", " cimi "]).unwrap(),
            [Frontend::Ec2, Frontend::Cimi]
        );
        assert_eq!(parse_frontends::<&str>(&[]).unwrap(), []);
        assert_eq!(
            parse_frontends(&["api"]).unwrap_err(),
            "Unknown frontend (api). Valid values are 'deltacloud,cimi,ec2'"
        );
    }
    #[test]
    fn rhevm_options_come_from_every_layer_and_are_checked() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let ca_path = ca.path().to_string_lossy().into_owned();
        let c = load(&[], &[("API_RHEVM_API_VERSION", "4")]).unwrap().config;
        assert_eq!(c.rhevm_api_version.as_deref(), Some("4"));
        assert_eq!(c.rhevm_ca_file, None);
        let c = load(
            &["--rhevm-api-version", "AUTO", "--rhevm-ca-file", &ca_path],
            &[("API_RHEVM_API_VERSION", "4")],
        )
        .unwrap()
        .config;
        assert_eq!(
            c.rhevm_api_version.as_deref(),
            Some("auto"),
            "the flag wins"
        );
        assert_eq!(c.rhevm_ca_file.as_deref(), Some(ca.path()));
        let c = load(&["--rhevm-auth", "SSO"], &[("API_RHEVM_AUTH", "basic")])
            .unwrap()
            .config;
        assert_eq!(c.rhevm_auth.as_deref(), Some("sso"), "the flag wins");
        let e = err(&[], &[("API_RHEVM_AUTH", "kerberos")]);
        assert!(e.contains("invalid rhevm_auth \"kerberos\""), "{e}");
        assert!(e.contains("API_RHEVM_AUTH"), "{e}");
        let e = err(&[], &[("API_RHEVM_API_VERSION", "5")]);
        assert!(e.contains("invalid rhevm_api_version \"5\""), "{e}");
        assert!(e.contains("API_RHEVM_API_VERSION"), "{e}");
        let e = err(&["--rhevm-ca-file", "/nonexistent/ca.pem"], &[]);
        assert!(
            e.contains("invalid rhevm_ca_file /nonexistent/ca.pem"),
            "{e}"
        );
        assert!(e.contains("--rhevm-ca-file"), "{e}");
    }
}
