//! The `deltacloudd` command line, compatible with the original (`drivers.md` §6.1).
//!
//! Every setting is an `Option` so that an absent flag leaves the lower configuration layers
//! alone (see [`crate::config`] for the order). Flags that only made sense for the Ruby server
//! (daemonising, Thin, log files) are accepted so old init scripts keep working, and ignored with
//! a warning.

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where `-c` without a file name looks, as in the original.
pub const DEFAULT_YAML_CONFIG: &str = "~/.deltacloud/config";

/// Output format of the logs on stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event, for journald/log shippers.
    Json,
}

impl LogFormat {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

const AFTER_HELP: &str = "\
Configuration, lowest to highest precedence:
  built-in defaults < TOML file (--config-toml, or -c FILE.toml) < sysconfig file (--env-file)
  < environment (API_*, DELTACLOUD_MOCK_STORAGE) < environment (DELTACLOUD_*) < command-line flags.
  A YAML file given with -c (map of driver id => {provider, user, password}) fills the provider,
  user and password of the selected driver when no layer set them.

Environment: API_DRIVER API_PROVIDER API_FRONTEND API_HOST API_PORT API_TIMEOUT API_USER
  API_PASSWORD API_VERBOSE API_LOG_FORMAT API_ENV DELTACLOUD_MOCK_STORAGE RUST_LOG

Setting user and password (API_USER/API_PASSWORD or the YAML file) turns off authentication:
every request reaches the backend with those credentials.

Once listening, one line `Listening on http://<ip>:<port>` is printed on stdout.";

/// The command line. Field docs are the `--help` texts.
#[derive(Clone, Debug, Default, Parser)]
#[command(
    name = "deltacloudd",
    version,
    about = "Deltacloud-compatible cloud API gateway",
    override_usage = "deltacloudd -i <driver> [options]",
    disable_version_flag = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Administrative subcommands (without one, deltacloudd serves)
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Driver to use (default: mock)
    #[arg(short = 'i', long = "driver", value_name = "DRIVER")]
    pub driver: Option<String>,

    /// Frontends to enable, comma separated: deltacloud,cimi,ec2 (default: all three)
    #[arg(short = 'f', long = "frontends", value_name = "LIST")]
    pub frontends: Option<String>,

    /// Bind to HOST address (default: localhost)
    #[arg(
        short = 'r',
        long = "hostname",
        visible_alias = "host",
        value_name = "HOST"
    )]
    pub host: Option<String>,

    /// Use PORT (default: 3001; 0 picks a free port)
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,

    /// Use PROVIDER (default is set in the driver)
    #[arg(short = 'P', long = "provider", value_name = "PROVIDER")]
    pub provider: Option<String>,

    /// Read provider, user and password from a YAML FILE (default: ~/.deltacloud/config); a
    /// FILE ending in .toml is read as a TOML configuration file instead
    #[arg(short = 'c', long = "config", value_name = "FILE", num_args = 0..=1, default_missing_value = DEFAULT_YAML_CONFIG)]
    pub config: Option<PathBuf>,

    /// Read settings from a TOML configuration FILE (keys as printed by --print-config)
    #[arg(long = "config-toml", value_name = "FILE")]
    pub config_toml: Option<PathBuf>,

    /// Read API_* settings from a sysconfig-style FILE (KEY=value lines, as /etc/sysconfig/deltacloud)
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// Environment name (default: development); recorded, has no effect in this server
    #[arg(short = 'e', long = "env", value_name = "ENV")]
    pub env: Option<String>,

    /// Timeout in seconds for a single backend request (default: 60)
    #[arg(short = 't', long = "timeout", value_name = "SECONDS")]
    pub timeout: Option<u64>,

    /// Verbose logging (debug level)
    #[arg(short = 'V', long = "verbose")]
    pub verbose: bool,

    /// Log format on stderr
    #[arg(long = "log-format", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Directory of the mock driver's database (default: $DELTACLOUD_MOCK_STORAGE, else
    /// /var/tmp/deltacloud-$USER/mock)
    #[arg(long = "data-dir", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Delay before the mock's transitional instance states (PENDING, STOPPING) settle, in ms
    #[arg(long = "mock-transition-delay-ms", value_name = "MS")]
    pub mock_transition_delay_ms: Option<u64>,

    /// rhevm driver: engine API version, 3, 4 or auto (default: from the provider URL)
    #[arg(long = "rhevm-api-version", value_name = "VERSION")]
    pub rhevm_api_version: Option<String>,

    /// rhevm driver: how to authenticate, auto (SSO token on v4 engines that offer it, else
    /// Basic), sso or basic
    #[arg(long = "rhevm-auth", value_name = "MODE")]
    pub rhevm_auth: Option<String>,

    /// rhevm driver: PEM file of extra CAs trusted for HTTPS engines
    #[arg(long = "rhevm-ca-file", value_name = "FILE")]
    pub rhevm_ca_file: Option<PathBuf>,

    /// List available drivers and exit
    #[arg(short = 'l', long = "drivers")]
    pub list_drivers: bool,

    /// Print the effective configuration as TOML (password redacted) and exit
    #[arg(long = "print-config")]
    pub print_config: bool,

    /// Print version and exit
    #[arg(long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,

    /// Ignored: run under systemd (deploy/deltacloudd.service) instead of daemonising
    #[arg(
        short = 'd',
        long = "daemon",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub daemon: bool,

    /// Ignored: set User= in the systemd unit instead
    #[arg(
        short = 'u',
        long = "user",
        value_name = "USER",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub user: Option<String>,

    /// Ignored: set Group= in the systemd unit instead
    #[arg(
        short = 'g',
        long = "group",
        value_name = "GROUP",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub group: Option<String>,

    /// Ignored: no pid file is written
    #[arg(
        short = 'b',
        long = "pid",
        value_name = "FILE",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub pid: Option<PathBuf>,

    /// Ignored: there is only one HTTP server
    #[arg(
        short = 'w',
        long = "webrick",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub webrick: bool,

    /// Ignored: logs go to stderr (journald under systemd)
    #[arg(
        short = 'L',
        long = "log",
        value_name = "FILE",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub log: Option<PathBuf>,

    /// Ignored: logs go to stderr (journald under systemd)
    #[arg(
        long = "logdir",
        value_name = "DIR",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub logdir: Option<PathBuf>,

    /// Not supported in this build (start-up fails): terminate TLS in a reverse proxy
    #[arg(
        short = 's',
        long = "ssl",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub ssl: bool,

    /// Ignored (TLS is not supported in this build)
    #[arg(
        short = 'k',
        long = "ssl-key",
        value_name = "KEY",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub ssl_key: Option<PathBuf>,

    /// Ignored (TLS is not supported in this build)
    #[arg(
        short = 'C',
        long = "ssl-cert",
        value_name = "CERT",
        help_heading = "Accepted for compatibility and ignored"
    )]
    pub ssl_cert: Option<PathBuf>,
}

/// `deltacloudd <subcommand>`.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Manage the EC2 frontend's access keys (stored encrypted in <data-dir>/ec2.db; the key is
    /// ec2_key from the configuration or <data-dir>/ec2.key)
    #[command(subcommand)]
    Credentials(CredentialsCommand),
}

/// `deltacloudd credentials …`.
#[derive(Clone, Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Add (or replace) an access key acting as a backend user
    Add {
        /// The access key id clients will use
        access_key: String,
        /// The secret key; a random one is generated and printed once when omitted
        #[arg(long, env = "DELTACLOUD_EC2_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Backend driver (default: the server's default driver)
        #[arg(long)]
        driver: Option<String>,
        /// Backend provider (default: the server's default provider)
        #[arg(long = "backend-provider")]
        backend_provider: Option<String>,
        /// Backend user name
        #[arg(long)]
        user: String,
        /// Backend password (prefer the environment variable: command lines are visible to
        /// other users)
        #[arg(long, env = "DELTACLOUD_BACKEND_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// List access keys with their backend identity (never secrets)
    List,
    /// Remove an access key
    Remove {
        /// The access key id
        access_key: String,
    },
}

impl Cli {
    /// Warnings for the compatibility flags this server ignores, one per flag given.
    #[must_use]
    pub fn ignored_flag_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut warn = |given: bool, flag: &str, why: &str| {
            if given {
                out.push(format!("{flag} is ignored: {why}"));
            }
        };
        warn(
            self.daemon,
            "-d/--daemon",
            "deltacloudd stays in the foreground; run it under systemd",
        );
        warn(
            self.user.is_some(),
            "-u/--user",
            "set User= in the systemd unit",
        );
        warn(
            self.group.is_some(),
            "-g/--group",
            "set Group= in the systemd unit",
        );
        warn(self.pid.is_some(), "-b/--pid", "no pid file is written");
        warn(
            self.webrick,
            "-w/--webrick",
            "there is only one HTTP server",
        );
        warn(self.log.is_some(), "-L/--log", "logs go to stderr");
        warn(self.logdir.is_some(), "--logdir", "logs go to stderr");
        warn(
            self.ssl_key.is_some(),
            "-k/--ssl-key",
            "TLS is not supported in this build",
        );
        warn(
            self.ssl_cert.is_some(),
            "-C/--ssl-cert",
            "TLS is not supported in this build",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("deltacloudd").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn original_short_flags() {
        let c = parse(&[
            "-i",
            "mock",
            "-r",
            "0.0.0.0",
            "-p",
            "3002",
            "-P",
            "us-east-1",
            "-t",
            "30",
            "-f",
            "cimi",
            "-e",
            "production",
        ]);
        assert_eq!(c.driver.as_deref(), Some("mock"));
        assert_eq!(c.host.as_deref(), Some("0.0.0.0"));
        assert_eq!(c.port, Some(3002));
        assert_eq!(c.provider.as_deref(), Some("us-east-1"));
        assert_eq!(c.timeout, Some(30));
        assert_eq!(c.frontends.as_deref(), Some("cimi"));
        assert_eq!(c.env.as_deref(), Some("production"));
        assert!(!c.verbose);
    }

    #[test]
    fn capital_v_is_verbose_and_host_is_an_alias() {
        let c = parse(&["-V", "--host", "::1"]);
        assert!(c.verbose);
        assert_eq!(c.host.as_deref(), Some("::1"));
        let err = Cli::try_parse_from(["deltacloudd", "--version"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
    }

    #[test]
    fn config_value_is_optional() {
        assert_eq!(
            parse(&["-c"]).config,
            Some(PathBuf::from(DEFAULT_YAML_CONFIG))
        );
        assert_eq!(
            parse(&["-c", "-i", "mock"]).config,
            Some(PathBuf::from(DEFAULT_YAML_CONFIG))
        );
        assert_eq!(
            parse(&["-c", "/etc/dc.yaml"]).config,
            Some(PathBuf::from("/etc/dc.yaml"))
        );
        assert_eq!(parse(&[]).config, None);
    }

    #[test]
    fn compatibility_flags_are_accepted_and_reported() {
        let c = parse(&[
            "-d",
            "-u",
            "nobody",
            "-g",
            "nobody",
            "-b",
            "/run/x.pid",
            "-w",
            "-L",
            "x.log",
            "--logdir",
            "/var/log",
        ]);
        let w = c.ignored_flag_warnings();
        assert_eq!(w.len(), 7, "{w:?}");
        assert!(w[0].starts_with("-d/--daemon is ignored"));
        assert!(parse(&[]).ignored_flag_warnings().is_empty());
    }

    #[test]
    fn bad_port_is_a_usage_error_naming_the_flag() {
        let err = Cli::try_parse_from(["deltacloudd", "-p", "abc"]).unwrap_err();
        assert!(err.to_string().contains("--port"), "{err}");
    }
}
