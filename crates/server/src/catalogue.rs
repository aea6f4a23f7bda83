//! The driver catalogue of the original server (`fixtures/driver-providers/*.yaml`): display names
//! and static provider lists for every driver Deltacloud knew, whether or not this build can serve
//! it. `/api/drivers` renders it; `deltacloudd --drivers` and the driver check at start-up use it.
//!
//! The files are embedded at compile time so the binary needs nothing beside it at run time. They
//! keep the original's Ruby-symbol keys (`:ec2:`, `:name:`), which YAML reads as strings with a
//! leading colon; that colon is stripped here and nowhere else.

use anyhow::{Context, anyhow, bail};
use deltacloud_core::DriverInfo;
use serde_norway::Value;

/// `(file name, contents)` of every catalogue file, in alphabetical order.
const FILES: &[(&str, &str)] = &[
    (
        "arubacloud.yaml",
        include_str!("../../../fixtures/driver-providers/arubacloud.yaml"),
    ),
    (
        "azure.yaml",
        include_str!("../../../fixtures/driver-providers/azure.yaml"),
    ),
    (
        "condor.yaml",
        include_str!("../../../fixtures/driver-providers/condor.yaml"),
    ),
    (
        "digitalocean.yaml",
        include_str!("../../../fixtures/driver-providers/digitalocean.yaml"),
    ),
    (
        "ec2.yaml",
        include_str!("../../../fixtures/driver-providers/ec2.yaml"),
    ),
    (
        "eucalyptus.yaml",
        include_str!("../../../fixtures/driver-providers/eucalyptus.yaml"),
    ),
    (
        "fgcp.yaml",
        include_str!("../../../fixtures/driver-providers/fgcp.yaml"),
    ),
    (
        "gogrid.yaml",
        include_str!("../../../fixtures/driver-providers/gogrid.yaml"),
    ),
    (
        "google.yaml",
        include_str!("../../../fixtures/driver-providers/google.yaml"),
    ),
    (
        "mock.yaml",
        include_str!("../../../fixtures/driver-providers/mock.yaml"),
    ),
    (
        "opennebula.yaml",
        include_str!("../../../fixtures/driver-providers/opennebula.yaml"),
    ),
    (
        "openstack.yaml",
        include_str!("../../../fixtures/driver-providers/openstack.yaml"),
    ),
    (
        "profitbricks.yaml",
        include_str!("../../../fixtures/driver-providers/profitbricks.yaml"),
    ),
    (
        "rackspace.yaml",
        include_str!("../../../fixtures/driver-providers/rackspace.yaml"),
    ),
    (
        "rhevm.yaml",
        include_str!("../../../fixtures/driver-providers/rhevm.yaml"),
    ),
    (
        "rimuhosting.yaml",
        include_str!("../../../fixtures/driver-providers/rimuhosting.yaml"),
    ),
    (
        "sbc.yaml",
        include_str!("../../../fixtures/driver-providers/sbc.yaml"),
    ),
    (
        "terremark.yaml",
        include_str!("../../../fixtures/driver-providers/terremark.yaml"),
    ),
    (
        "vsphere.yaml",
        include_str!("../../../fixtures/driver-providers/vsphere.yaml"),
    ),
];

/// Every catalogue entry, sorted by driver id.
///
/// # Errors
/// Only if an embedded file is malformed, which the unit tests rule out; it is still an error
/// rather than a panic so a bad refresh of the fixtures fails start-up with the file's name.
pub fn catalogue() -> anyhow::Result<Vec<DriverInfo>> {
    let mut out = FILES
        .iter()
        .map(|(file, text)| parse(text).with_context(|| format!("driver catalogue file {file}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Ids of every catalogued driver, sorted.
#[must_use]
pub fn known_ids() -> Vec<String> {
    catalogue()
        .map(|c| c.into_iter().map(|i| i.id).collect())
        .unwrap_or_default()
}

/// `:foo` (a Ruby symbol written by YAML.dump) or `foo` ⇒ `foo`.
fn key(v: &Value) -> Option<&str> {
    v.as_str().map(|s| s.strip_prefix(':').unwrap_or(s))
}

/// Parse one catalogue file: a map with one driver id whose value holds `:name` and optional
/// `:entrypoints` (`kind ⇒ {provider ⇒ endpoint}`), kept in file order because `/api/drivers`
/// lists providers in that order.
fn parse(text: &str) -> anyhow::Result<DriverInfo> {
    let doc: Value = serde_norway::from_str(text)?;
    let top = doc
        .as_mapping()
        .ok_or_else(|| anyhow!("top level is not a map"))?;
    let mut entries = top.iter();
    let (Some((id, body)), None) = (entries.next(), entries.next()) else {
        bail!("expected exactly one driver per file");
    };
    let id = key(id).ok_or_else(|| anyhow!("driver id is not a string"))?;
    let body = body
        .as_mapping()
        .ok_or_else(|| anyhow!("entry for {id} is not a map"))?;
    let mut info = DriverInfo::new(id, id);
    for (k, v) in body {
        match key(k) {
            Some("name") => {
                info.name = v
                    .as_str()
                    .ok_or_else(|| anyhow!("{id}: name is not a string"))?
                    .to_owned();
            }
            Some("entrypoints") => {
                let kinds = v
                    .as_mapping()
                    .ok_or_else(|| anyhow!("{id}: entrypoints is not a map"))?;
                for (kind, providers) in kinds {
                    let kind = key(kind)
                        .ok_or_else(|| anyhow!("{id}: entrypoint kind is not a string"))?;
                    let providers = providers
                        .as_mapping()
                        .ok_or_else(|| anyhow!("{id}: entrypoints.{kind} is not a map"))?;
                    let mut list = Vec::with_capacity(providers.len());
                    for (p, url) in providers {
                        let p = key(p).ok_or_else(|| {
                            anyhow!("{id}: a provider id under {kind} is not a string")
                        })?;
                        let url = url.as_str().ok_or_else(|| {
                            anyhow!("{id}: endpoint of {kind}.{p} is not a string")
                        })?;
                        list.push((p.to_owned(), url.to_owned()));
                    }
                    info.entrypoints.push((kind.to_owned(), list));
                }
            }
            // `:username`/`:password` are credential labels for the HTML explorer and `:class`
            // a Ruby class name; the core's DriverInfo does not carry them.
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_ids_match_file_names() {
        let all = catalogue().unwrap();
        assert_eq!(all.len(), FILES.len());
        for (file, _) in FILES {
            let id = file.trim_end_matches(".yaml");
            assert!(all.iter().any(|i| i.id == id), "{file}");
        }
        let ids: Vec<&str> = all.iter().map(|i| i.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn names_come_from_the_files() {
        let all = catalogue().unwrap();
        let name = |id: &str| all.iter().find(|i| i.id == id).map(|i| i.name.clone());
        assert_eq!(name("ec2").as_deref(), Some("EC2"));
        assert_eq!(name("rhevm").as_deref(), Some("RHEVM"));
        assert_eq!(name("mock").as_deref(), Some("Mock"));
        assert_eq!(
            name("sbc").as_deref(),
            Some("SBC"),
            "the file without a document marker"
        );
    }

    #[test]
    fn ec2_entrypoints_keep_file_order() {
        let all = catalogue().unwrap();
        let ec2 = all.iter().find(|i| i.id == "ec2").unwrap();
        let kinds: Vec<&str> = ec2.entrypoints.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["s3", "elb", "ec2", "mon"]);
        let (_, s3) = &ec2.entrypoints[0];
        assert_eq!(
            s3[0],
            (
                "us-west-1".to_owned(),
                "s3-us-west-1.amazonaws.com".to_owned()
            )
        );
        assert_eq!(
            s3[5],
            ("us-east-1".to_owned(), "s3.amazonaws.com".to_owned())
        );
        assert_eq!(
            ec2.provider_ids(),
            [
                "us-west-1",
                "us-west-2",
                "ap-southeast-1",
                "ap-northeast-1",
                "eu-west-1",
                "us-east-1",
                "sa-east-1"
            ]
        );
    }

    #[test]
    fn single_provider_drivers() {
        let all = catalogue().unwrap();
        let euca = all.iter().find(|i| i.id == "eucalyptus").unwrap();
        assert_eq!(
            euca.entrypoints,
            vec![(
                "default".to_owned(),
                vec![(
                    "default".to_owned(),
                    "ec2=EUCALYPTUS_IP[:PORT];s3=WALRUS_IP[:PORT]".to_owned()
                )]
            )]
        );
        let aruba = all.iter().find(|i| i.id == "arubacloud").unwrap();
        assert_eq!(aruba.provider_ids(), ["dc1", "dc2", "dc3", "dc4"]);
        let azure = all.iter().find(|i| i.id == "azure").unwrap();
        assert!(azure.entrypoints.is_empty());
    }

    #[test]
    fn malformed_files_are_errors() {
        assert!(parse("- a\n- b\n").is_err());
        assert!(parse(":a:\n  :name: A\n:b:\n  :name: B\n").is_err());
        assert!(parse(":a:\n  :entrypoints: [1]\n").is_err());
        assert_eq!(parse("a:\n  name: Plain\n").unwrap().name, "Plain");
    }
}
