//! Realms, images, instances and keys: the compute half of the mock (`mock-driver.md` §2, §4,
//! §5.1–§5.3, §7).

use crate::MockDriver;
use crate::db::{DbError, DbResult};
use crate::util::{AddressJson, check_name, exists, now_ms, now_secs};
use async_trait::async_trait;
use deltacloud_core::driver::{Images, Instances, Keys, Realms};
use deltacloud_core::{
    CreateImage, CreateInstance, CreateKey, CredentialType, Error, ErrorKind, Filter,
    HardwareProfileId, Image, ImageId, Instance, InstanceAction, InstanceId, InstanceProfile,
    InstanceState, Key, KeyId, PropertyName, Realm, RealmId, RequestContext, Result, RunCommand,
    RunResult, StateMachine,
};
use rand::Rng as _;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The realms, hard-coded as in the original; `us` is the default for new instances.
const REALMS: &[(&str, &str)] = &[("us", "United States"), ("eu", "Europe")];

/// Upper bound for `instance_count`: one request must not be able to create an unbounded number
/// of rows.
pub const MAX_INSTANCE_COUNT: u32 = 100;

/// Realm ids that raise on purpose, for clients' error-handling tests (`mock-driver.md` §7).
fn injected_error(id: &str) -> Option<Error> {
    match id {
        "500" => Some(Error::internal("DeltacloudErrorMessage")),
        "501" => Some(Error::new(ErrorKind::NotSupported, "NotImplementedMessage")),
        "502" => Some(Error::provider("ProviderErrorMessage")),
        "504" => Some(Error::provider_timeout("ProviderTimeoutMessage")),
        _ => None,
    }
}

#[async_trait]
impl Realms for MockDriver {
    async fn realms(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Realm>> {
        self.authenticate(ctx)?;
        if let Some(e) = f.id.iter().flatten().find_map(|id| injected_error(id)) {
            return Err(e);
        }
        Ok(REALMS
            .iter()
            .filter(|(id, _)| f.pass_id(id))
            .map(|&(id, name)| Realm {
                id: RealmId::new(id),
                name: name.to_owned(),
                state: "AVAILABLE".to_owned(),
                limit: None,
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Images

const IMAGE_COLS: &str = "id, name, description, owner_id, architecture, state, creation_time";

fn image_from_row(r: &Row<'_>, profiles: &[HardwareProfileId]) -> rusqlite::Result<Image> {
    Ok(Image {
        id: ImageId::new(r.get::<_, String>(0)?),
        name: r.get(1)?,
        description: r.get(2)?,
        owner_id: r.get(3)?,
        architecture: r.get(4)?,
        state: r.get(5)?,
        creation_time: r.get(6)?,
        root_type: Some("transient".to_owned()),
        // Every mock image can run with every profile.
        hardware_profiles: Some(profiles.to_vec()),
    })
}

#[async_trait]
impl Images for MockDriver {
    /// Sorted by `(owner_id, description, id)`; filters `id`, `architecture`, `owner_id`
    /// (`self` = the caller).
    async fn images(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Image>> {
        let (all, keep) = self.images_filtered(ctx, f).await?;
        Ok(all.iter().filter(|i| keep(i)).cloned().collect())
    }

    /// The memoized list itself when the filter keeps every image (the usual listing), else a
    /// filtered copy.
    async fn images_shared(&self, ctx: &RequestContext, f: &Filter) -> Result<Arc<Vec<Image>>> {
        let (all, keep) = self.images_filtered(ctx, f).await?;
        if all.iter().all(&keep) {
            Ok(all)
        } else {
            Ok(Arc::new(all.iter().filter(|i| keep(i)).cloned().collect()))
        }
    }

    /// Snapshot an instance of the caller into image `name` (owner `root`, `i386`, as the
    /// original did). Missing name ⇒ 400; unknown instance ⇒ 404; an instance that cannot be
    /// imaged (inst3) ⇒ 500 `CreateImageNotSupported`; an existing image id ⇒ 409.
    async fn create_image(&self, ctx: &RequestContext, req: &CreateImage) -> Result<Image> {
        let user = self.authenticate(ctx)?.to_owned();
        let name = req.name.clone().unwrap_or_default();
        if name.is_empty() {
            return Err(Error::validation(
                "Parameter 'name' is required to create an image",
            ));
        }
        check_name("image", &name)?;
        let instance_id = req.instance_id.to_string();
        let description = req.description.clone().unwrap_or_default();
        let profiles = self.profile_ids();
        self.write(move |tx| {
            let now = now_ms();
            let row = load_instance(tx, &user, &instance_id)?.filter(|r| r.observed(now).is_some());
            let Some(row) = row else {
                return Err(Error::not_found("NotFound").into());
            };
            if !row.create_image {
                return Err(Error::internal("CreateImageNotSupported").into());
            }
            if exists(tx, "images", &name)? {
                return Err(Error::conflict(format!("Image '{name}' already exists")).into());
            }
            tx.execute(
                "INSERT INTO images (id, name, description, owner_id, architecture, state)
                 VALUES (?1, ?1, ?2, 'root', 'i386', 'AVAILABLE')",
                params![name, description],
            )?;
            let img = tx
                .prepare_cached(&format!("SELECT {IMAGE_COLS} FROM images WHERE id = ?1"))?
                .query_row([&name], |r| image_from_row(r, &profiles))?;
            Ok(img)
        })
        .await
    }

    /// Deletes the record; a missing image is not an error (the original answered 204).
    async fn destroy_image(&self, ctx: &RequestContext, id: &ImageId) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM images WHERE id = ?1", [&id])?;
            Ok(())
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Instances

pub const INSTANCE_COLS: &str = "id, owner_id, name, image_id, realm_id, profile_id, profile_overrides, state, \
     transitional, transition_until, keyname, create_image, public_addresses, private_addresses, \
     storage_volumes, network_interfaces";

/// An instance as stored. `state` is the stable state it is in or heading to; while
/// `transition_until` (epoch ms) lies in the future, clients see `transitional` instead.
#[derive(Clone, Debug)]
pub struct InstanceRow {
    pub id: String,
    pub owner_id: String,
    pub name: Option<String>,
    pub image_id: Option<String>,
    pub realm_id: Option<String>,
    pub profile_id: Option<String>,
    pub overrides: String,
    pub state: String,
    pub transitional: Option<String>,
    pub transition_until: Option<i64>,
    pub keyname: Option<String>,
    pub create_image: bool,
    pub public_addresses: String,
    pub private_addresses: String,
    pub storage_volumes: Option<String>,
    pub network_interfaces: Option<String>,
}

impl InstanceRow {
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            owner_id: r.get(1)?,
            name: r.get(2)?,
            image_id: r.get(3)?,
            realm_id: r.get(4)?,
            profile_id: r.get(5)?,
            overrides: r.get(6)?,
            state: r.get(7)?,
            transitional: r.get(8)?,
            transition_until: r.get(9)?,
            keyname: r.get(10)?,
            create_image: r.get(11)?,
            public_addresses: r.get(12)?,
            private_addresses: r.get(13)?,
            storage_volumes: r.get(14)?,
            network_interfaces: r.get(15)?,
        })
    }

    fn stable(&self) -> InstanceState {
        InstanceState::parse(&self.state).unwrap_or(InstanceState::Unknown)
    }

    /// The state a client sees at `now` (epoch ms), or `None` once a destroyed instance is gone.
    pub fn observed(&self, now: i64) -> Option<InstanceState> {
        if let (Some(t), Some(until)) = (&self.transitional, self.transition_until)
            && now < until
        {
            return Some(InstanceState::parse(t).unwrap_or(InstanceState::Unknown));
        }
        match self.stable() {
            InstanceState::Finish => None,
            s => Some(s),
        }
    }

    /// The first public address (what `run` reports).
    pub fn first_public_address(&self) -> DbResult<Option<String>> {
        let list: Vec<AddressJson> = serde_json::from_str(&self.public_addresses)?;
        Ok(list.into_iter().next().map(|a| a.address))
    }

    pub fn to_model(&self, state: InstanceState, machine: &StateMachine) -> DbResult<Instance> {
        let overrides: BTreeMap<String, String> = serde_json::from_str(&self.overrides)?;
        let public: Vec<AddressJson> = serde_json::from_str(&self.public_addresses)?;
        let private: Vec<AddressJson> = serde_json::from_str(&self.private_addresses)?;
        let volumes: Option<Vec<(String, String)>> = self
            .storage_volumes
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?;
        let nics: Option<Vec<String>> = self
            .network_interfaces
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?;
        Ok(Instance {
            id: InstanceId::new(self.id.clone()),
            name: self.name.clone(),
            owner_id: Some(self.owner_id.clone()),
            image_id: self.image_id.clone().map(ImageId::new),
            realm_id: self.realm_id.clone().map(RealmId::new),
            state,
            actions: machine.actions_for(state),
            public_addresses: public.iter().map(AddressJson::to_model).collect(),
            private_addresses: private.iter().map(AddressJson::to_model).collect(),
            profile: self.profile_id.clone().map(|id| InstanceProfile {
                id: HardwareProfileId::new(id),
                overrides: overrides
                    .into_iter()
                    .filter_map(|(k, v)| PropertyName::parse(&k).map(|p| (p, v)))
                    .collect(),
            }),
            launch_time: None,
            keyname: self.keyname.clone(),
            username: None,
            password: None,
            authn_error: None,
            create_image: self.create_image,
            firewalls: None,
            storage_volumes: volumes
                .map(|v| v.into_iter().map(|(vol, dev)| (vol.into(), dev)).collect()),
            network_interfaces: nics.map(|v| v.into_iter().map(Into::into).collect()),
        })
    }
}

/// One of the caller's instances by id (whatever its state, including a finished one that has
/// not been purged yet).
pub fn load_instance(tx: &Transaction<'_>, owner: &str, id: &str) -> DbResult<Option<InstanceRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {INSTANCE_COLS} FROM instances WHERE owner_id = ?1 AND id = ?2"
        ))?
        .query_row([owner, id], InstanceRow::from_row)
        .optional()?)
}

/// Is `id` one of the caller's instances, and not (yet) gone?
pub fn instance_visible(tx: &Transaction<'_>, owner: &str, id: &str) -> DbResult<bool> {
    let now = now_ms();
    Ok(load_instance(tx, owner, id)?.is_some_and(|r| r.observed(now).is_some()))
}

/// Drop instances whose delayed destruction has completed.
pub fn purge_finished(tx: &Transaction<'_>, now: i64) -> DbResult<()> {
    tx.prepare_cached(
        "DELETE FROM instances WHERE state = 'FINISH' AND (transition_until IS NULL OR transition_until <= ?1)",
    )?
    .execute([now])?;
    Ok(())
}

/// Remove an instance's network interfaces (destroy takes them along, `mock-driver.md` §5.1).
fn delete_instance_nics(tx: &Transaction<'_>, id: &str) -> DbResult<()> {
    tx.execute("DELETE FROM network_interfaces WHERE instance = ?1", [id])?;
    tx.execute(
        "UPDATE instances SET network_interfaces = '[]' WHERE id = ?1 AND network_interfaces IS NOT NULL",
        [id],
    )?;
    Ok(())
}

/// The lowest `N >= 0` such that `inst<N>` is free, given the used numbers in ascending order.
fn smallest_free(used: &[i64]) -> i64 {
    let mut n = 0;
    for &u in used {
        if u == n {
            n += 1;
        } else if u > n {
            break;
        }
    }
    n
}

fn generate_fingerprint() -> String {
    let mut rng = rand::rng();
    (0..20)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect::<Vec<_>>()
        .join(":")
}

/// A fake private key shaped like the original's (21 lines of 75 characters and one of 68 from
/// `[a-zA-Z0-9=/+]`, the END marker glued to the last line). It is not a real key.
pub fn generate_pem() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=/+";
    let mut rng = rand::rng();
    let mut line = |n: usize| -> String {
        (0..n)
            .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
            .collect()
    };
    let mut lines: Vec<String> = (0..21).map(|_| line(75)).collect();
    lines.push(line(68));
    format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}-----END RSA PRIVATE KEY-----",
        lines.join("\n")
    )
}

/// What a stored instance becomes after an action in a stable state.
enum Outcome {
    Update {
        state: InstanceState,
        transitional: Option<InstanceState>,
    },
    Delete,
}

/// Apply `action` to `row`. In a transitional state nothing is allowed (the mock's state machine
/// has no transitions out of `pending`, `stopping` or `shutting_down` triggered by a client).
/// In a stable state the driver follows the original, which set the target state without
/// consulting the state machine: the `/api` frontend checks the machine itself (405), while the
/// EC2 and CIMI frontends rely on e.g. destroying a running instance directly
/// (`mock-driver.md` §5.1).
fn plan(
    machine: &StateMachine,
    row: &InstanceRow,
    observed: InstanceState,
    action: InstanceAction,
    delayed: bool,
) -> Result<Outcome> {
    use InstanceState as S;
    if observed != row.stable() {
        machine.next(observed, action)?;
    }
    Ok(match action {
        InstanceAction::Start => Outcome::Update {
            state: S::Running,
            transitional: (delayed && observed != S::Running).then_some(S::Pending),
        },
        InstanceAction::Reboot => Outcome::Update {
            state: S::Running,
            transitional: (delayed && observed != S::Running).then_some(S::Pending),
        },
        InstanceAction::Stop => Outcome::Update {
            state: S::Stopped,
            transitional: (delayed && observed != S::Stopped).then_some(S::Stopping),
        },
        InstanceAction::Destroy if delayed => Outcome::Update {
            state: S::Finish,
            transitional: Some(S::ShuttingDown),
        },
        InstanceAction::Destroy => Outcome::Delete,
        InstanceAction::Create => {
            return Err(Error::invalid_state("'create' is not an instance action"));
        }
    })
}

impl MockDriver {
    pub(crate) fn profile_ids(&self) -> Vec<HardwareProfileId> {
        self.profiles.iter().map(|p| p.id.clone()).collect()
    }

    /// Every image (memoized, shared) and the test `f` puts them to (`owner_id=self` meaning
    /// the caller).
    async fn images_filtered<'f>(
        &self,
        ctx: &RequestContext,
        f: &'f Filter,
    ) -> Result<(Arc<Vec<Image>>, impl Fn(&Image) -> bool + use<'f>)> {
        let user = self.authenticate(ctx)?.to_owned();
        let profiles = self.profile_ids();
        let all: Arc<Vec<Image>> = self
            .read_memo("images".to_owned(), move |tx| {
                let mut st = tx.prepare_cached(&format!(
                    "SELECT {IMAGE_COLS} FROM images ORDER BY owner_id, description, id"
                ))?;
                let rows = st.query_map([], |r| image_from_row(r, &profiles))?;
                Ok((Arc::new(rows.collect::<rusqlite::Result<Vec<_>>>()?), None))
            })
            .await?;
        let owners: Option<Vec<String>> = f.owner_id.as_ref().map(|v| {
            v.iter()
                .map(|o| if o == "self" { user.clone() } else { o.clone() })
                .collect()
        });
        let keep = move |i: &Image| {
            f.pass_id(&i.id)
                && Filter::pass(f.architecture.as_ref(), Some(&i.architecture))
                && Filter::pass(owners.as_ref(), Some(&i.owner_id))
        };
        Ok((all, keep))
    }

    /// The caller's visible instances, in id order, optionally just one id.
    pub(crate) async fn visible_instances(
        &self,
        user: &str,
        only: Option<String>,
    ) -> Result<Arc<Vec<Instance>>> {
        let key = format!("instances\0{user}\0{}", only.as_deref().unwrap_or(""));
        let user = user.to_owned();
        let machine = self.machine.clone();
        self.read_memo(key, move |tx| {
            let now = now_ms();
            let rows: Vec<InstanceRow> = match &only {
                Some(id) => tx
                    .prepare_cached(&format!(
                        "SELECT {INSTANCE_COLS} FROM instances WHERE owner_id = ?1 AND id = ?2"
                    ))?
                    .query_map([&user, id], InstanceRow::from_row)?
                    .collect::<rusqlite::Result<_>>()?,
                None => tx
                    .prepare_cached(&format!(
                        "SELECT {INSTANCE_COLS} FROM instances WHERE owner_id = ?1 ORDER BY seq"
                    ))?
                    .query_map([&user], InstanceRow::from_row)?
                    .collect::<rusqlite::Result<_>>()?,
            };
            // The list changes by the clock alone when the next transition ends.
            let valid_until = rows
                .iter()
                .filter_map(|r| r.transition_until.filter(|&u| u > now))
                .min();
            let list = rows
                .iter()
                .filter_map(|r| r.observed(now).map(|s| r.to_model(s, &machine)))
                .collect::<DbResult<Vec<_>>>()?;
            Ok((Arc::new(list), valid_until))
        })
        .await
    }

    /// Perform an instance action as one transaction; `None` when the instance was deleted.
    async fn act(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        action: InstanceAction,
    ) -> Result<Option<Instance>> {
        let user = self.authenticate(ctx)?.to_owned();
        let id = id.to_string();
        let machine = self.machine.clone();
        let delay = i64::try_from(self.options.transition_delay_ms).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let now = now_ms();
            purge_finished(tx, now)?;
            let row = load_instance(tx, &user, &id)?;
            let Some((row, observed)) = row.and_then(|r| r.observed(now).map(|s| (r, s))) else {
                return Err(Error::not_found(format!("Instance '{id}' not found")).into());
            };
            match plan(&machine, &row, observed, action, delay > 0)? {
                Outcome::Delete => {
                    delete_instance_nics(tx, &id)?;
                    tx.execute("DELETE FROM instances WHERE id = ?1", [&id])?;
                    Ok(None)
                }
                Outcome::Update { state, transitional } => {
                    let until = transitional.map(|_| now.saturating_add(delay));
                    if action == InstanceAction::Destroy {
                        delete_instance_nics(tx, &id)?;
                    }
                    tx.execute(
                        "UPDATE instances SET state = ?2, transitional = ?3, transition_until = ?4 WHERE id = ?1",
                        params![id, state.as_str(), transitional.map(InstanceState::as_str), until],
                    )?;
                    let row = load_instance(tx, &user, &id)?
                        .ok_or_else(|| DbError::Api(Error::internal("Instance vanished during an update")))?;
                    let shown = row.observed(now).unwrap_or(state);
                    Ok(Some(row.to_model(shown, &machine)?))
                }
            }
        })
        .await
    }

    async fn act_returning(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        action: InstanceAction,
    ) -> Result<Instance> {
        self.act(ctx, id, action).await?.ok_or_else(|| {
            Error::internal(format!("Instance '{id}' disappeared during '{action}'"))
        })
    }
}

/// The instance filters of `instances`: `id`, `state`, `realm_id`, `owner_id`.
fn passes(f: &Filter, i: &Instance) -> bool {
    f.pass_id(&i.id)
        && Filter::pass(f.state.as_ref(), Some(i.state.as_str()))
        && Filter::pass(f.realm_id.as_ref(), i.realm_id.as_deref())
        && Filter::pass(f.owner_id.as_ref(), i.owner_id.as_deref())
}

#[async_trait]
impl Instances for MockDriver {
    /// The caller's instances only (`owner_id` = user); filters `id`, `state`, `realm_id`, and
    /// `owner_id`.
    async fn instances(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Instance>> {
        let user = self.authenticate(ctx)?.to_owned();
        let only = match f.id.as_deref() {
            Some([one]) => Some(one.clone()),
            _ => None,
        };
        let all = self.visible_instances(&user, only).await?;
        Ok(all.iter().filter(|i| passes(f, i)).cloned().collect())
    }

    /// The memoized list itself when the filter keeps every instance (the usual poll), else a
    /// filtered copy.
    async fn instances_shared(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Arc<Vec<Instance>>> {
        let user = self.authenticate(ctx)?.to_owned();
        let only = match f.id.as_deref() {
            Some([one]) => Some(one.clone()),
            _ => None,
        };
        let all = self.visible_instances(&user, only).await?;
        if all.iter().all(|i| passes(f, i)) {
            Ok(all)
        } else {
            Ok(Arc::new(
                all.iter().filter(|i| passes(f, i)).cloned().collect(),
            ))
        }
    }

    /// Create `instance_count` (default 1) instances `inst<N>` (smallest free N), in one
    /// transaction. Defaults: realm `us`, profile `m1-small`, name `i-<epoch>`. The image id and
    /// the `hwp_*` overrides are stored unchecked, as in the original; an unknown profile or
    /// realm is a 400.
    async fn create_instance(
        &self,
        ctx: &RequestContext,
        req: &CreateInstance,
    ) -> Result<Vec<Instance>> {
        let user = self.authenticate(ctx)?.to_owned();
        let hwp = req
            .hwp_id
            .as_ref()
            .map_or("m1-small", |h| h.as_str())
            .to_owned();
        if !self.profiles.iter().any(|p| p.id == hwp.as_str()) {
            return Err(Error::validation(format!(
                "Hardware profile '{hwp}' does not exists."
            )));
        }
        let realm = req
            .realm_id
            .as_ref()
            .map_or(REALMS[0].0, |r| r.as_str())
            .to_owned();
        if !REALMS.iter().any(|(id, _)| *id == realm) {
            return Err(Error::validation(format!(
                "Realm '{realm}' does not exist."
            )));
        }
        let count = req.instance_count.unwrap_or(1);
        if count == 0 || count > MAX_INSTANCE_COUNT {
            return Err(Error::validation(format!(
                "instance_count must be between 1 and {MAX_INSTANCE_COUNT}, got {count}"
            )));
        }
        let stable = match req.initial_state {
            None | Some(InstanceState::Running) => InstanceState::Running,
            Some(InstanceState::Stopped) => InstanceState::Stopped,
            Some(other) => {
                return Err(Error::validation(format!(
                    "Initial state {other} is not supported (use RUNNING or STOPPED)"
                )));
            }
        };
        let image_id = req.image_id.to_string();
        if image_id.is_empty() {
            return Err(Error::validation("An image id is required"));
        }
        let name = req
            .name
            .clone()
            .unwrap_or_else(|| format!("i-{}", now_secs()));
        let overrides: BTreeMap<&str, &String> = req
            .hwp_overrides
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        let overrides = serde_json::to_string(&overrides)
            .map_err(|e| Error::internal("Cannot encode profile overrides").with_cause(e))?;
        let keyname = req.keyname.clone();
        let user_data = req.user_data.clone();
        let machine = self.machine.clone();
        let delay = i64::try_from(self.options.transition_delay_ms).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let now = now_ms();
            purge_finished(tx, now)?;
            let mut used: Vec<i64> = tx
                .prepare_cached("SELECT seq FROM instances ORDER BY seq")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let (transitional, until) =
                if delay > 0 { (Some(InstanceState::Pending), Some(now.saturating_add(delay))) } else { (None, None) };
            let mut out = Vec::new();
            for _ in 0..count {
                let seq = smallest_free(&used);
                let pos = used.partition_point(|&u| u < seq);
                used.insert(pos, seq);
                let id = format!("inst{seq}");
                let public = serde_json::to_string(&[AddressJson::hostname(format!("{image_id}.{id}.public.com"))])?;
                let private =
                    serde_json::to_string(&[AddressJson::hostname(format!("{image_id}.{id}.private.com"))])?;
                tx.prepare_cached(
                    "INSERT INTO instances (id, seq, owner_id, name, image_id, realm_id, profile_id,
                         profile_overrides, state, transitional, transition_until, keyname, create_image,
                         public_addresses, private_addresses, storage_volumes, network_interfaces, user_data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1, ?13, ?14, '[]', NULL, ?15)",
                )?
                .execute(params![
                    id,
                    seq,
                    user,
                    name,
                    image_id,
                    realm,
                    hwp,
                    overrides,
                    stable.as_str(),
                    transitional.map(InstanceState::as_str),
                    until,
                    keyname,
                    public,
                    private,
                    user_data,
                ])?;
                let row = load_instance(tx, &user, &id)?
                    .ok_or_else(|| DbError::Api(Error::internal("Created instance not found")))?;
                let shown = row.observed(now).unwrap_or(stable);
                out.push(row.to_model(shown, &machine)?);
            }
            Ok(out)
        })
        .await
    }

    async fn start_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.act_returning(ctx, id, InstanceAction::Start).await
    }

    async fn stop_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.act_returning(ctx, id, InstanceAction::Stop).await
    }

    async fn reboot_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.act_returning(ctx, id, InstanceAction::Reboot).await
    }

    /// Deletes the instance and its network interfaces (after `SHUTTING_DOWN` for the
    /// transition delay, if one is configured).
    async fn destroy_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<()> {
        self.act(ctx, id, InstanceAction::Destroy).await.map(|_| ())
    }

    /// No SSH: canned output, with the instance's first public address (the original crashed
    /// rendering its result; `mock-driver.md` §5.1 says answer it).
    async fn run_on_instance(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        cmd: &RunCommand,
    ) -> Result<RunResult> {
        let user = self.authenticate(ctx)?.to_owned();
        if cmd.cmd.is_empty() {
            return Err(Error::validation("Required parameter 'cmd' is empty"));
        }
        let id_s = id.to_string();
        let address = self
            .read(move |tx| {
                let now = now_ms();
                match load_instance(tx, &user, &id_s)?.filter(|r| r.observed(now).is_some()) {
                    Some(r) => r.first_public_address(),
                    None => Err(Error::not_found(format!("Instance '{id_s}' not found")).into()),
                }
            })
            .await?;
        Ok(RunResult {
            instance_id: id.clone(),
            public_address: address,
            command: cmd.cmd.clone(),
            output: format!(
                "This is where the output from '{}' would appear if this were not a mock provider",
                cmd.cmd
            ),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

const KEY_COLS: &str = "id, credential_type, fingerprint, pem_rsa_key, username, password, state";

fn key_from_row(r: &Row<'_>) -> rusqlite::Result<Key> {
    let id: String = r.get(0)?;
    let kind: String = r.get(1)?;
    Ok(Key {
        name: id.clone(),
        id: KeyId::new(id),
        credential_type: if kind == "password" {
            CredentialType::Password
        } else {
            CredentialType::Key
        },
        fingerprint: r.get(2)?,
        pem_rsa_key: r.get(3)?,
        username: r.get(4)?,
        password: r.get(5)?,
        state: r.get(6)?,
    })
}

#[async_trait]
impl Keys for MockDriver {
    async fn keys(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Key>> {
        self.authenticate(ctx)?;
        let all = self
            .read(|tx| {
                let mut st =
                    tx.prepare_cached(&format!("SELECT {KEY_COLS} FROM keys ORDER BY id"))?;
                Ok(st
                    .query_map([], key_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        Ok(all.into_iter().filter(|k| f.pass_id(&k.id)).collect())
    }

    /// A new key pair with a random fingerprint and a fake PEM, which the mock keeps and shows
    /// again later (real clouds do not). An existing name ⇒ 403.
    async fn create_key(&self, ctx: &RequestContext, req: &CreateKey) -> Result<Key> {
        self.authenticate(ctx)?;
        check_name("key", &req.name)?;
        let name = req.name.clone();
        let fingerprint = generate_fingerprint();
        let pem = generate_pem();
        self.write(move |tx| {
            if exists(tx, "keys", &name)? {
                return Err(Error::forbidden("Key with same name already exists").into());
            }
            tx.execute(
                "INSERT INTO keys (id, credential_type, fingerprint, pem_rsa_key) VALUES (?1, 'key', ?2, ?3)",
                params![name, fingerprint, pem],
            )?;
            Ok(tx
                .prepare_cached(&format!("SELECT {KEY_COLS} FROM keys WHERE id = ?1"))?
                .query_row([&name], key_from_row)?)
        })
        .await
    }

    /// Unknown key ⇒ 404 (the original's 500 was a defect).
    async fn destroy_key(&self, ctx: &RequestContext, id: &KeyId) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            if tx.execute("DELETE FROM keys WHERE id = ?1", [&id])? == 0 {
                return Err(Error::not_found(format!("Key '{id}' not found")).into());
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn smallest_free_number() {
        assert_eq!(smallest_free(&[]), 0);
        assert_eq!(smallest_free(&[0, 1, 2, 3]), 4);
        assert_eq!(smallest_free(&[0, 2, 3]), 1);
        assert_eq!(smallest_free(&[1, 2]), 0);
    }

    #[test]
    fn pem_and_fingerprint_shapes() {
        let pem = generate_pem();
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.len(), 23);
        assert_eq!(lines[0], "-----BEGIN RSA PRIVATE KEY-----");
        assert!(lines[1..22].iter().all(|l| l.len() == 75));
        assert!(lines[22].ends_with("-----END RSA PRIVATE KEY-----"));
        assert_eq!(lines[22].len(), 68 + "-----END RSA PRIVATE KEY-----".len());
        let fp = generate_fingerprint();
        assert_eq!(fp.split(':').count(), 20);
        assert!(fp.split(':').all(|p| {
            p.len() == 2
                && p.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        }));
    }
}
