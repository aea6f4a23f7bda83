//! The command line and configuration layering, observed through the binary: `--print-config`
//! shows the effective configuration, start-up errors go to stderr as `ERROR: …` with exit 1.

use std::io::Write;
use std::path::Path;
use std::process::Command;

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `deltacloudd` with a clean environment (only PATH, USER and what the test adds).
fn run(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deltacloudd"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USER", "tester")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run deltacloudd");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn effective(args: &[&str], env: &[(&str, &str)]) -> toml::Table {
    let mut all = vec!["--print-config"];
    all.extend_from_slice(args);
    let out = run(&all, env);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    out.stdout
        .parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("not TOML ({e}): {}", out.stdout))
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p.to_string_lossy().into_owned()
}

fn int(t: &toml::Table, k: &str) -> i64 {
    t.get(k)
        .and_then(toml::Value::as_integer)
        .unwrap_or_else(|| panic!("{k} missing in {t:?}"))
}

fn string<'a>(t: &'a toml::Table, k: &str) -> Option<&'a str> {
    t.get(k).and_then(toml::Value::as_str)
}

/// Expect a start-up failure: exit 1, nothing on stdout, one `ERROR:` line naming `needle`.
fn fails_with(args: &[&str], env: &[(&str, &str)], needles: &[&str]) -> String {
    let out = run(args, env);
    assert_eq!(
        out.code,
        Some(1),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    assert!(!out.stdout.contains("Listening on"), "{}", out.stdout);
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("ERROR: "))
        .unwrap_or_else(|| panic!("no ERROR line: {}", out.stderr));
    for n in needles {
        assert!(line.contains(n), "{n:?} not in {line:?}");
    }
    line.to_owned()
}

#[test]
fn defaults_match_the_documentation() {
    let t = effective(&[], &[]);
    assert_eq!(string(&t, "driver"), Some("mock"));
    assert_eq!(string(&t, "host"), Some("localhost"));
    assert_eq!(int(&t, "port"), 3001);
    assert_eq!(int(&t, "timeout"), 60);
    assert_eq!(
        t["frontends"],
        toml::Value::Array(vec!["deltacloud".into(), "cimi".into(), "ec2".into()])
    );
    assert_eq!(
        string(&t, "data_dir"),
        Some("/var/tmp/deltacloud-tester/mock")
    );
    assert_eq!(t.get("verbose").and_then(toml::Value::as_bool), Some(false));
    assert_eq!(string(&t, "log_format"), Some("text"));
    assert!(t.get("provider").is_none() && t.get("user").is_none() && t.get("password").is_none());
}

#[test]
fn precedence_across_all_layers() {
    let dir = tempfile::tempdir().unwrap();
    let toml = write(
        dir.path(),
        "deltacloud.toml",
        "port = 1001\ntimeout = 11\nhost = \"toml-host\"\nenv = \"from-toml\"\nmock_transition_delay_ms = 1\n",
    );
    let sys = write(
        dir.path(),
        "sysconfig",
        "# as /etc/sysconfig/deltacloud\nPORT=1002\nAPI_TIMEOUT=12\nHOST=sys-host\nDELTACLOUD_MOCK_TRANSITION_DELAY_MS=2\n",
    );
    let yaml = write(dir.path(), "config", "mock:\n  provider: from-yaml\n");
    let env = [
        ("API_PORT", "1003"),
        ("API_TIMEOUT", "13"),
        ("DELTACLOUD_PORT", "1004"),
        ("DELTACLOUD_MOCK_TRANSITION_DELAY_MS", "4"),
    ];
    let t = effective(
        &[
            "--config-toml",
            &toml,
            "--env-file",
            &sys,
            "-c",
            &yaml,
            "-p",
            "1005",
        ],
        &env,
    );
    assert_eq!(string(&t, "env"), Some("from-toml"), "TOML over defaults");
    assert_eq!(
        string(&t, "host"),
        Some("sys-host"),
        "sysconfig file over TOML"
    );
    assert_eq!(
        int(&t, "timeout"),
        13,
        "API_* environment over sysconfig file"
    );
    assert_eq!(
        int(&t, "mock_transition_delay_ms"),
        4,
        "DELTACLOUD_* environment over the sysconfig file"
    );
    assert_eq!(int(&t, "port"), 1005, "command line over everything");
    assert_eq!(
        string(&t, "provider"),
        Some("from-yaml"),
        "YAML fills what nobody set"
    );
    assert_eq!(
        string(&t, "data_dir"),
        Some("/var/tmp/deltacloud-tester/mock"),
        "default"
    );

    // Peel the layers off one by one.
    let t = effective(&["--config-toml", &toml, "--env-file", &sys], &env);
    assert_eq!(int(&t, "port"), 1004, "DELTACLOUD_* over API_*");
    let t = effective(&["--config-toml", &toml, "--env-file", &sys], &env[..2]);
    assert_eq!(int(&t, "port"), 1003);
    let t = effective(&["--config-toml", &toml, "--env-file", &sys], &[]);
    assert_eq!(int(&t, "port"), 1002);
    let t = effective(&["--config-toml", &toml], &[]);
    assert_eq!(int(&t, "port"), 1001);
    // A TOML file given to -c is read as TOML.
    let t = effective(&["-c", &toml], &[]);
    assert_eq!(int(&t, "port"), 1001);
}

#[test]
fn yaml_never_overrides_and_storage_variable_sets_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = write(
        dir.path(),
        "config",
        "mock:\n  provider: from-yaml\n  user: yuser\n  password: ypass\n",
    );
    let t = effective(
        &["-c", &yaml],
        &[
            ("API_PROVIDER", "from-env"),
            ("DELTACLOUD_MOCK_STORAGE", "/srv/dc"),
        ],
    );
    assert_eq!(string(&t, "provider"), Some("from-env"));
    assert_eq!(string(&t, "user"), Some("yuser"));
    assert_eq!(string(&t, "password"), Some("[REDACTED]"));
    assert_eq!(string(&t, "data_dir"), Some("/srv/dc"));
    let t = effective(
        &["--data-dir", "/flag"],
        &[("DELTACLOUD_MOCK_STORAGE", "/srv/dc")],
    );
    assert_eq!(string(&t, "data_dir"), Some("/flag"));
}

#[test]
fn frontends_from_environment_and_flag() {
    let t = effective(&[], &[("API_FRONTEND", "ec2, deltacloud")]);
    assert_eq!(
        t["frontends"],
        toml::Value::Array(vec!["ec2".into(), "deltacloud".into()])
    );
    let t = effective(&["-f", "cimi"], &[("API_FRONTEND", "ec2")]);
    assert_eq!(t["frontends"], toml::Value::Array(vec!["cimi".into()]));
}

#[test]
fn bad_values_are_rejected_naming_the_setting() {
    fails_with(
        &[],
        &[("API_PORT", "abc")],
        &["API_PORT", "abc", "port number"],
    );
    fails_with(&["-t", "0"], &[], &["timeout", "-t/--timeout"]);
    fails_with(&[], &[("API_TIMEOUT", "0")], &["timeout", "API_TIMEOUT"]);
    fails_with(
        &["-i", "nosuch"],
        &[],
        &["unknown driver 'nosuch'", "-i/--driver"],
    );
    fails_with(
        &[],
        &[("API_DRIVER", "openstack")],
        &["'openstack'", "not available in this build", "API_DRIVER"],
    );
    fails_with(
        &[],
        &[("API_VERBOSE", "perhaps")],
        &["API_VERBOSE", "perhaps"],
    );
    fails_with(&[], &[("API_LOG_FORMAT", "xml")], &["API_LOG_FORMAT"]);
    fails_with(&[], &[("API_USER", "u")], &["API_USER", "password is not"]);
    fails_with(
        &["--env-file", "/nonexistent/sysconfig"],
        &[],
        &["/nonexistent/sysconfig", "--env-file"],
    );
    let line = fails_with(&["-f", "deltacloud,foo"], &[], &[]);
    assert_eq!(
        line,
        "ERROR: Unknown frontend (foo). Valid values are 'deltacloud,cimi,ec2'"
    );
    let line = fails_with(&[], &[("API_FRONTEND", "x")], &[]);
    assert_eq!(
        line,
        "ERROR: Unknown frontend (x). Valid values are 'deltacloud,cimi,ec2'"
    );
}

#[test]
fn secrets_are_never_printed() {
    let secret = "hunter2-very-secret";
    let out = run(
        &["--print-config", "-V"],
        &[("API_USER", "admin"), ("API_PASSWORD", secret)],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("password = \"[REDACTED]\""),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    assert!(
        out.stderr.contains("authentication is off"),
        "{}",
        out.stderr
    );
}

#[test]
fn drivers_listing() {
    let out = run(&["-l"], &[]);
    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.stdout,
        "Available drivers:\n\n* mock\n* rhevm\n* ec2\n* eucalyptus\n\n"
    );
    assert!(
        out.stderr.contains("openstack") && !out.stderr.contains("rhevm"),
        "catalogue-only drivers: {}",
        out.stderr
    );
    // -l needs no valid configuration, as in the original.
    assert_eq!(run(&["--drivers"], &[("API_PORT", "abc")]).code, Some(0));
}

#[test]
fn help_lists_the_original_flags() {
    let out = run(&["--help"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for flag in [
        "-i, --driver",
        "-f, --frontends",
        "-r, --hostname",
        "-p, --port",
        "-P, --provider",
        "-c, --config",
        "-t, --timeout",
        "-V, --verbose",
        "-l, --drivers",
        "-e, --env",
        "--version",
        "--print-config",
        "--data-dir",
        "--env-file",
        "--log-format",
        "--mock-transition-delay-ms",
        "-d, --daemon",
        "-s, --ssl",
        "--logdir",
    ] {
        assert!(
            out.stdout.contains(flag),
            "{flag} missing from --help:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("-V, --version"), "-V is --verbose");
    assert_eq!(run(&["-h"], &[]).code, Some(0));
}

#[test]
fn capital_v_is_verbose_and_version_is_long_only() {
    let t = effective(&["-V"], &[]);
    assert_eq!(t.get("verbose").and_then(toml::Value::as_bool), Some(true));
    let t = effective(&[], &[("API_VERBOSE", "true")]);
    assert_eq!(t.get("verbose").and_then(toml::Value::as_bool), Some(true));
    let out = run(&["--version"], &[]);
    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.stdout.trim(),
        format!("deltacloudd {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2_naming_the_flag() {
    let out = run(&["-p", "abc"], &[]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--port"), "{}", out.stderr);
    assert_eq!(run(&["--no-such-flag"], &[]).code, Some(2));
}

#[test]
fn compatibility_flags_are_accepted() {
    let out = run(
        &[
            "--print-config",
            "-d",
            "-u",
            "nobody",
            "-g",
            "nobody",
            "-b",
            "/run/x.pid",
            "-w",
            "--logdir",
            "/var/log/x",
        ],
        &[],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for flag in [
        "-d/--daemon",
        "-u/--user",
        "-g/--group",
        "-b/--pid",
        "-w/--webrick",
        "--logdir",
    ] {
        assert!(
            out.stderr.contains(&format!("{flag} is ignored")),
            "{flag}: {}",
            out.stderr
        );
    }
    let line = fails_with(&["-s"], &[], &["not supported in this build"]);
    assert!(line.contains("--ssl"), "{line}");
}
