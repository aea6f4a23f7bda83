//! The seed catalogue (`mock-driver.md` §2), embedded from `fixtures/mock/` at compile time so
//! the binary needs neither `shared/` nor the fixtures directory at run time.
//!
//! The files are the original's Ruby Psych YAML. Rather than retyping their data we parse them
//! with serde_norway and normalise the Ruby-isms first ([`plain`]): symbol keys (`:id`) and
//! symbol values (`:hostname`) lose their colon, `!ruby/object:…` tags are dropped (their
//! mapping is kept), and `!binary` values are base64-decoded. Parsing only happens when a
//! database is created or reset, never per request.

use crate::db::DbResult;
use crate::util::AddressJson;
use base64::Engine as _;
use deltacloud_core::{Error, InstanceState, StateMachine};
use rusqlite::{Transaction, params};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_norway::Value;
use std::collections::BTreeMap;

macro_rules! seed_files {
    ($($dir:literal / $file:literal),* $(,)?) => {
        /// Every embedded seed file as `(collection directory, file name, contents)`.
        pub const FILES: &[(&str, &str, &str)] = &[
            $(($dir, $file, include_str!(concat!("../../../fixtures/mock/", $dir, "/", $file)))),*
        ];
    };
}

seed_files!(
    "images" / "img1.yml",
    "images" / "img2.yml",
    "images" / "img3.yml",
    "instances" / "inst0.yml",
    "instances" / "inst1.yml",
    "instances" / "inst2.yml",
    "instances" / "inst3.yml",
    "keys" / "test-key.yml",
    "storage_volumes" / "vol1.yml",
    "storage_volumes" / "vol2.yml",
    "storage_volumes" / "vol3.yml",
    "storage_snapshots" / "snap1.yml",
    "storage_snapshots" / "snap2.yml",
    "storage_snapshots" / "snap3.yml",
    "buckets" / "bucket1.yml",
    "buckets" / "bucket2.yml",
    "blobs" / "blob1.yml",
    "blobs" / "blob2.yml",
    "blobs" / "blob3.yml",
    "blobs" / "blob4.yml",
    "blobs" / "blob5.yml",
    "addresses" / "192.168.0.1.yml",
    "addresses" / "192.168.0.2.yml",
    "addresses" / "192.168.0.3.yml",
    "addresses" / "192.168.0.4.yml",
    "networks" / "net1.yml",
    "networks" / "net2.yml",
    "subnets" / "subnet1.yml",
    "subnets" / "subnet2.yml",
    "subnets" / "subnet3.yml",
    "subnets" / "subnet4.yml",
    "network_interfaces" / "nic1.yml",
    "network_interfaces" / "nicinst3.yml",
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedImage {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner_id: String,
    pub architecture: String,
    pub state: Option<String>,
    pub creation_time: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SeedProfile {
    pub id: String,
    /// Per-instance overrides (`memory: "12288"`), kept as the strings they are.
    #[serde(flatten)]
    pub overrides: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAddress {
    pub address: String,
    pub address_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedInstance {
    pub id: String,
    pub name: Option<String>,
    pub state: String,
    pub image_id: Option<String>,
    pub realm_id: Option<String>,
    pub owner_id: String,
    #[serde(default)]
    pub keyname: Option<String>,
    pub instance_profile: SeedProfile,
    pub public_addresses: Vec<SeedAddress>,
    pub private_addresses: Vec<SeedAddress>,
    pub create_image: bool,
    /// Stored in the original, but always the state machine's actions for `state`; we derive
    /// them on every read instead.
    #[serde(default)]
    pub actions: Option<Vec<String>>,
    #[serde(default)]
    pub storage_volumes: Option<Vec<BTreeMap<String, String>>>,
    #[serde(default)]
    pub network_interfaces: Option<Vec<String>>,
    #[serde(default)]
    pub user_data: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedKey {
    pub id: String,
    pub credential_type: String,
    pub fingerprint: Option<String>,
    pub pem_rsa_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedVolume {
    pub id: String,
    pub realm_id: Option<String>,
    #[serde(deserialize_with = "scalar_string")]
    pub capacity: Option<String>,
    pub device: Option<String>,
    pub created: Option<String>,
    pub instance_id: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSnapshot {
    pub id: String,
    pub created: Option<String>,
    pub storage_volume_id: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBucket {
    pub id: String,
    pub name: String,
    /// The original's stored counter and list; we derive both from the blobs (a test checks
    /// that they agree for the seed).
    pub size: u64,
    pub blob_list: Vec<String>,
}

/// Blob metadata is a map, or (blob3, blob5) an empty *string*.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SeedMetadata {
    Map(BTreeMap<String, String>),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBlob {
    pub id: String,
    pub name: String,
    pub bucket: String,
    pub content_length: u64,
    pub content_type: Option<String>,
    pub last_modified: Option<String>,
    pub content: String,
    pub user_metadata: SeedMetadata,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAddr {
    pub id: String,
    pub instance_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedNetwork {
    pub id: String,
    pub name: String,
    pub subnets: Vec<String>,
    pub address_blocks: Vec<String>,
    pub state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSubnet {
    pub id: String,
    pub name: String,
    pub network: String,
    pub address_block: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedNic {
    pub id: String,
    pub name: String,
    pub instance: Option<String>,
    pub network: Option<String>,
    #[serde(default)]
    pub subnet: Option<String>,
    pub ip_address: Option<String>,
}

/// The whole catalogue, parsed.
#[derive(Debug, Default)]
pub struct Seed {
    pub images: Vec<SeedImage>,
    pub instances: Vec<SeedInstance>,
    pub keys: Vec<SeedKey>,
    pub volumes: Vec<SeedVolume>,
    pub snapshots: Vec<SeedSnapshot>,
    pub buckets: Vec<SeedBucket>,
    pub blobs: Vec<SeedBlob>,
    pub addresses: Vec<SeedAddr>,
    pub networks: Vec<SeedNetwork>,
    pub subnets: Vec<SeedSubnet>,
    pub nics: Vec<SeedNic>,
}

fn scalar_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected a scalar, got {other:?}"
            )));
        }
    })
}

/// A Ruby symbol written by Psych: `:word` (letters, digits, `_`).
fn symbol_name(s: &str) -> Option<&str> {
    let rest = s.strip_prefix(':')?;
    let ok = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(rest)
}

/// Turn Psych's Ruby-flavoured YAML into plain data (see the module docs).
pub fn plain(v: Value) -> Result<Value, String> {
    Ok(match v {
        Value::Tagged(t) => {
            if t.tag == "binary" {
                let Value::String(b64) = t.value else {
                    return Err("!binary must tag a string".to_owned());
                };
                let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|e| format!("bad !binary value: {e}"))?;
                Value::String(
                    String::from_utf8(bytes)
                        .map_err(|e| format!("!binary value is not UTF-8: {e}"))?,
                )
            } else {
                // `!ruby/object:Deltacloud::InstanceProfile` and friends: keep the data.
                plain(t.value)?
            }
        }
        Value::Mapping(m) => {
            let mut out = serde_norway::Mapping::new();
            for (k, v) in m {
                let k = match k {
                    Value::String(s) => {
                        Value::String(symbol_name(&s).map_or(s.clone(), str::to_owned))
                    }
                    other => other,
                };
                out.insert(k, plain(v)?);
            }
            Value::Mapping(out)
        }
        Value::Sequence(s) => Value::Sequence(s.into_iter().map(plain).collect::<Result<_, _>>()?),
        Value::String(s) => match symbol_name(&s) {
            Some(sym) => Value::String(sym.to_owned()),
            None => Value::String(s),
        },
        other => other,
    })
}

fn parse_one<T: DeserializeOwned>(dir: &str, file: &str, text: &str) -> Result<T, Error> {
    let fail = |what: String| Error::internal(format!("Seed file {dir}/{file}: {what}"));
    let raw: Value = serde_norway::from_str(text).map_err(|e| fail(e.to_string()))?;
    let v = plain(raw).map_err(fail)?;
    serde_norway::from_value(v).map_err(|e| fail(e.to_string()))
}

/// Parse every embedded file. Files appear in [`FILES`] order, which is the seed's order.
pub fn parse() -> Result<Seed, Error> {
    let mut seed = Seed::default();
    for &(dir, file, text) in FILES {
        match dir {
            "images" => seed.images.push(parse_one(dir, file, text)?),
            "instances" => seed.instances.push(parse_one(dir, file, text)?),
            "keys" => seed.keys.push(parse_one(dir, file, text)?),
            "storage_volumes" => seed.volumes.push(parse_one(dir, file, text)?),
            "storage_snapshots" => seed.snapshots.push(parse_one(dir, file, text)?),
            "buckets" => seed.buckets.push(parse_one(dir, file, text)?),
            "blobs" => seed.blobs.push(parse_one(dir, file, text)?),
            "addresses" => seed.addresses.push(parse_one(dir, file, text)?),
            "networks" => seed.networks.push(parse_one(dir, file, text)?),
            "subnets" => seed.subnets.push(parse_one(dir, file, text)?),
            "network_interfaces" => seed.nics.push(parse_one(dir, file, text)?),
            other => {
                return Err(Error::internal(format!(
                    "Seed file in unknown collection '{other}'"
                )));
            }
        }
    }
    Ok(seed)
}

fn seed_addresses(list: &[SeedAddress]) -> DbResult<String> {
    let v: Vec<AddressJson> = list
        .iter()
        .map(|a| AddressJson {
            address: a.address.clone(),
            kind: a.address_type.clone(),
            port: None,
        })
        .collect();
    Ok(serde_json::to_string(&v)?)
}

/// The numeric id suffix of `inst<N>`.
pub fn instance_seq(id: &str) -> Option<i64> {
    id.strip_prefix("inst").and_then(|n| n.parse().ok())
}

/// The seed stores some values we derive instead (instance actions, bucket blob lists and
/// sizes, network subnet lists, blob names). Check once, when seeding, that deriving them gives
/// exactly what the seed says, so the derivation can never silently change the catalogue.
fn check_derived(seed: &Seed) -> Result<(), Error> {
    let fail = |what: String| Err(Error::internal(format!("Seed inconsistency: {what}")));
    let machine = StateMachine::mock();
    for i in &seed.instances {
        let state = InstanceState::parse(&i.state).unwrap_or(InstanceState::Unknown);
        let derived: Vec<&str> = machine
            .actions_for(state)
            .iter()
            .map(|a| a.as_str())
            .collect();
        if let Some(stored) = &i.actions
            && *stored != derived
        {
            return fail(format!(
                "instance {} stores actions {stored:?}, the state machine gives {derived:?}",
                i.id
            ));
        }
    }
    for b in &seed.buckets {
        let derived: Vec<&str> = seed
            .blobs
            .iter()
            .filter(|x| x.bucket == b.id)
            .map(|x| x.id.as_str())
            .collect();
        if derived != b.blob_list || b.size != derived.len() as u64 {
            return fail(format!(
                "bucket {} lists {:?} (size {}), its blobs are {derived:?}",
                b.id, b.blob_list, b.size
            ));
        }
    }
    for n in &seed.networks {
        let derived: Vec<&str> = seed
            .subnets
            .iter()
            .filter(|s| s.network == n.id)
            .map(|s| s.id.as_str())
            .collect();
        if derived != n.subnets {
            return fail(format!(
                "network {} lists subnets {:?}, its subnets are {derived:?}",
                n.id, n.subnets
            ));
        }
    }
    for b in &seed.blobs {
        if b.name != b.id || b.content.len() as u64 != b.content_length {
            return fail(format!(
                "blob {} has name {} and {} content bytes for length {}",
                b.id,
                b.name,
                b.content.len(),
                b.content_length
            ));
        }
    }
    Ok(())
}

/// Insert the parsed seed into an empty database.
pub fn insert(tx: &Transaction<'_>) -> DbResult<()> {
    let seed = parse()?;
    check_derived(&seed)?;
    for i in &seed.images {
        tx.execute(
            "INSERT INTO images (id, name, description, owner_id, architecture, state, creation_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![i.id, i.name, i.description, i.owner_id, i.architecture, i.state, i.creation_time],
        )?;
    }
    for i in &seed.instances {
        let seq = instance_seq(&i.id).ok_or_else(|| {
            Error::internal(format!("Seed instance id '{}' is not inst<N>", i.id))
        })?;
        let volumes = match &i.storage_volumes {
            None => None,
            Some(list) => {
                let pairs: Vec<(&String, &String)> = list.iter().flat_map(|m| m.iter()).collect();
                Some(serde_json::to_string(&pairs)?)
            }
        };
        let nics = i
            .network_interfaces
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        tx.execute(
            "INSERT INTO instances (id, seq, owner_id, name, image_id, realm_id, profile_id, profile_overrides,
                 state, keyname, create_image, public_addresses, private_addresses, storage_volumes,
                 network_interfaces, user_data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                i.id,
                seq,
                i.owner_id,
                i.name,
                i.image_id,
                i.realm_id,
                i.instance_profile.id,
                serde_json::to_string(&i.instance_profile.overrides)?,
                i.state,
                i.keyname,
                i.create_image,
                seed_addresses(&i.public_addresses)?,
                seed_addresses(&i.private_addresses)?,
                volumes,
                nics,
                i.user_data.as_deref().map(str::as_bytes),
            ],
        )?;
    }
    for k in &seed.keys {
        tx.execute(
            "INSERT INTO keys (id, credential_type, fingerprint, pem_rsa_key) VALUES (?1, ?2, ?3, ?4)",
            params![k.id, k.credential_type, k.fingerprint, k.pem_rsa_key],
        )?;
    }
    for v in &seed.volumes {
        tx.execute(
            "INSERT INTO storage_volumes (id, created, state, capacity, instance_id, device, realm_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![v.id, v.created, v.state, v.capacity, v.instance_id, v.device, v.realm_id],
        )?;
    }
    for s in &seed.snapshots {
        tx.execute(
            "INSERT INTO storage_snapshots (id, state, storage_volume_id, created) VALUES (?1, ?2, ?3, ?4)",
            params![s.id, s.state, s.storage_volume_id, s.created],
        )?;
    }
    for b in &seed.buckets {
        tx.execute(
            "INSERT INTO buckets (id, name) VALUES (?1, ?2)",
            params![b.id, b.name],
        )?;
    }
    for b in &seed.blobs {
        let meta = match &b.user_metadata {
            SeedMetadata::Map(m) => Some(serde_json::to_string(m)?),
            SeedMetadata::Text(t) if t.is_empty() => None,
            SeedMetadata::Text(t) => {
                return Err(
                    Error::internal(format!("Seed blob {} has metadata text '{t}'", b.id)).into(),
                );
            }
        };
        tx.execute("INSERT INTO blob_contents DEFAULT VALUES", [])?;
        let content_id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO blob_chunks (content_id, seq, data) VALUES (?1, 0, ?2)",
            params![content_id, b.content.as_bytes()],
        )?;
        tx.execute(
            "INSERT INTO blobs (id, bucket, content_type, content_length, last_modified, user_metadata, content_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                b.id,
                b.bucket,
                b.content_type,
                i64::try_from(b.content_length).unwrap_or(i64::MAX),
                b.last_modified,
                meta,
                content_id
            ],
        )?;
    }
    for a in &seed.addresses {
        let ip: std::net::Ipv4Addr =
            a.id.parse()
                .map_err(|_| Error::internal(format!("Seed address '{}' is not IPv4", a.id)))?;
        tx.execute(
            "INSERT INTO addresses (id, ip, instance_id) VALUES (?1, ?2, ?3)",
            params![a.id, i64::from(u32::from(ip)), a.instance_id],
        )?;
    }
    for n in &seed.networks {
        tx.execute(
            "INSERT INTO networks (id, name, state, address_blocks) VALUES (?1, ?2, ?3, ?4)",
            params![
                n.id,
                n.name,
                n.state,
                serde_json::to_string(&n.address_blocks)?
            ],
        )?;
    }
    for s in &seed.subnets {
        tx.execute(
            "INSERT INTO subnets (id, name, network, address_block, state, type) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![s.id, s.name, s.network, s.address_block, s.state, s.kind],
        )?;
    }
    for n in &seed.nics {
        tx.execute(
            "INSERT INTO network_interfaces (id, name, instance, network, subnet, ip_address)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![n.id, n.name, n.instance, n.network, n.subnet, n.ip_address],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_matches_the_fixtures_directory() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mock");
        let mut on_disk = Vec::new();
        for dir in std::fs::read_dir(&root).expect("fixtures/mock") {
            let dir = dir.expect("entry");
            let name = dir.file_name().to_string_lossy().into_owned();
            if !dir.path().is_dir() || name == "cimi" {
                continue;
            }
            for f in std::fs::read_dir(dir.path()).expect("dir") {
                let f = f.expect("entry").file_name().to_string_lossy().into_owned();
                if f.ends_with(".yml") {
                    on_disk.push(format!("{name}/{f}"));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(d, f, _)| format!("{d}/{f}")).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn embedded_files_are_the_shared_reference_when_present() {
        // shared/ is optional at build and run time; when it is there, our copy must equal it.
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/mock-data");
        if !shared.is_dir() {
            return;
        }
        for (dir, file, text) in FILES {
            let original =
                std::fs::read_to_string(shared.join(dir).join(file)).expect("shared file");
            assert_eq!(&original, text, "{dir}/{file}");
        }
    }

    #[test]
    fn ruby_tags_symbols_and_binary_are_normalised() {
        let seed = parse().expect("seed parses");
        let inst3 = seed
            .instances
            .iter()
            .find(|i| i.id == "inst3")
            .expect("inst3");
        assert_eq!(inst3.owner_id, "mockuser", "!binary bW9ja3VzZXI= decoded");
        assert_eq!(
            inst3.public_addresses[0].address_type, "hostname",
            ":hostname symbol"
        );
        assert_eq!(inst3.name.as_deref(), Some(""));
        assert_eq!(inst3.keyname.as_deref(), Some(""));
        let inst0 = seed
            .instances
            .iter()
            .find(|i| i.id == "inst0")
            .expect("inst0");
        assert_eq!(inst0.instance_profile.id, "m1-large");
        assert_eq!(
            inst0
                .instance_profile
                .overrides
                .get("memory")
                .map(String::as_str),
            Some("12288")
        );
        assert_eq!(seed.keys[0].credential_type, "key");
        check_derived(&seed).expect("derived values equal the stored ones");
    }

    #[test]
    fn plain_rejects_bad_binary() {
        let v: Value = serde_norway::from_str("!binary '%%%'").expect("yaml");
        assert!(plain(v).is_err());
    }
}
