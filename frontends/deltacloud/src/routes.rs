//! The route table: every collection the API knows, and every operation this frontend serves,
//! with its HTTP method, path shape, required driver capability and declared parameters.
//!
//! One table drives routing (404 vs 405), the capability check (412), parameter validation
//! (400), `OPTIONS` answers and the entry point's collection list, so they cannot disagree.
//! Adding a collection means: mark it `served`, add its operations here, add an [`Op`] arm in
//! `handlers.rs`, and its XML/JSON/HTML shapes.

use deltacloud_core::Driver;
use deltacloud_core::driver::Capability;

/// The HTTP methods routes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

/// Where in the path an operation lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `/api`
    Root,
    /// `/api/<coll>`
    Collection,
    /// `/api/<coll>/:id`
    Member,
    /// `/api/<coll>/:id/<action>`
    Action(&'static str),
}

/// What the driver must offer for a route (or a collection) to exist for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    Nothing,
    Cap(Capability),
    /// A non-empty static profile list, or profiles fetched from the provider.
    HardwareProfiles,
    /// An instance state machine.
    StateMachine,
}

impl Need {
    pub(crate) fn satisfied_by(self, d: &dyn Driver) -> bool {
        match self {
            Self::Nothing => true,
            Self::Cap(c) => d.capabilities().has(c),
            Self::HardwareProfiles => {
                !d.static_hardware_profiles().is_empty()
                    || d.capabilities().has(Capability::HardwareProfiles)
            }
            Self::StateMachine => d.state_machine().is_some(),
        }
    }
}

/// How the route reports errors and whether it sets `X-Backend-Runtime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Lists: every error carries the generic reason as message (§7.2).
    Index,
    Show,
    Create,
    Destroy,
    Action,
    Other,
}

/// Every operation this frontend serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    EntryPoint,
    SwitchDriver,
    RealmsIndex,
    RealmsShow,
    HardwareProfilesIndex,
    HardwareProfilesShow,
    ImagesIndex,
    ImagesShow,
    ImagesCreate,
    ImagesDestroy,
    InstancesIndex,
    InstancesShow,
    InstancesCreate,
    InstancesStart,
    InstancesStop,
    InstancesReboot,
    InstancesDestroy,
    InstancesRun,
    InstanceStatesIndex,
    KeysIndex,
    KeysShow,
    KeysCreate,
    KeysDestroy,
    DriversIndex,
    DriversShow,
}

/// A declared parameter (`OPTIONS` shows `<name>:string:<required|optional>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: &'static str,
    pub required: bool,
}

const fn req(name: &'static str) -> Param {
    Param {
        name,
        required: true,
    }
}

const fn opt(name: &'static str) -> Param {
    Param {
        name,
        required: false,
    }
}

#[derive(Debug)]
pub(crate) struct Route {
    pub coll: &'static str,
    /// The operation's name (`index`, `show`, `create`, `destroy`, an action).
    pub name: &'static str,
    pub op: Op,
    pub verb: Verb,
    pub shape: Shape,
    pub need: Need,
    /// The capability named in the `Expect` header of a 412.
    pub expect: &'static str,
    pub params: &'static [Param],
    pub kind: Kind,
}

/// A collection the API knows about.
#[derive(Debug)]
pub(crate) struct Collection {
    pub name: &'static str,
    /// The original's internal class name, which `OPTIONS /api` lists (`deltacloud-api.md` §5.6).
    pub class: &'static str,
    /// When the entry point lists it (§5.1).
    pub need: Need,
    /// Whether this frontend has routes for it yet. Unserved collections answer 412 when the
    /// driver lacks them and 404 otherwise, and are never listed.
    pub served: bool,
}

const fn coll(name: &'static str, class: &'static str, need: Need, served: bool) -> Collection {
    Collection {
        name,
        class,
        need,
        served,
    }
}

use Capability as C;

/// Every collection, alphabetically (the order the entry point lists them in).
pub(crate) static COLLECTIONS: &[Collection] = &[
    coll(
        "addresses",
        "Deltacloud::Rabbit::AddressesCollection",
        Need::Cap(C::Addresses),
        false,
    ),
    coll(
        "buckets",
        "Deltacloud::Rabbit::BucketsCollection",
        Need::Cap(C::Buckets),
        false,
    ),
    coll(
        "drivers",
        "Deltacloud::Rabbit::DriversCollection",
        Need::Nothing,
        true,
    ),
    coll(
        "firewalls",
        "Deltacloud::Rabbit::FirewallsCollection",
        Need::Cap(C::Firewalls),
        false,
    ),
    coll(
        "hardware_profiles",
        "Deltacloud::Rabbit::HardwareProfilesCollection",
        Need::HardwareProfiles,
        true,
    ),
    coll(
        "images",
        "Deltacloud::Rabbit::ImagesCollection",
        Need::Cap(C::Images),
        true,
    ),
    coll(
        "instance_states",
        "Deltacloud::Rabbit::InstanceStatesCollection",
        Need::StateMachine,
        true,
    ),
    coll(
        "instances",
        "Deltacloud::Rabbit::InstancesCollection",
        Need::Cap(C::Instances),
        true,
    ),
    coll(
        "keys",
        "Deltacloud::Rabbit::KeysCollection",
        Need::Cap(C::Keys),
        true,
    ),
    coll(
        "load_balancers",
        "Deltacloud::Rabbit::LoadBalancersCollection",
        Need::Cap(C::LoadBalancers),
        false,
    ),
    coll(
        "metrics",
        "Deltacloud::Rabbit::MetricsCollection",
        Need::Cap(C::Metrics),
        false,
    ),
    coll(
        "network_interfaces",
        "Deltacloud::Rabbit::NetworkInterfacesCollection",
        Need::Cap(C::NetworkInterfaces),
        false,
    ),
    coll(
        "networks",
        "Deltacloud::Rabbit::NetworksCollection",
        Need::Cap(C::Networks),
        false,
    ),
    coll(
        "realms",
        "Deltacloud::Rabbit::RealmsCollection",
        Need::Cap(C::Realms),
        true,
    ),
    coll(
        "storage_snapshots",
        "Deltacloud::Rabbit::StorageSnapshotsCollection",
        Need::Cap(C::StorageSnapshots),
        false,
    ),
    coll(
        "storage_volumes",
        "Deltacloud::Rabbit::StorageVolumesCollection",
        Need::Cap(C::StorageVolumes),
        false,
    ),
    coll(
        "subnets",
        "Deltacloud::Rabbit::SubnetsCollection",
        Need::Cap(C::Subnets),
        false,
    ),
];

#[allow(clippy::too_many_arguments)]
const fn route(
    coll: &'static str,
    name: &'static str,
    op: Op,
    verb: Verb,
    shape: Shape,
    need: Need,
    expect: &'static str,
    params: &'static [Param],
    kind: Kind,
) -> Route {
    Route {
        coll,
        name,
        op,
        verb,
        shape,
        need,
        expect,
        params,
        kind,
    }
}

use Shape::{Action, Collection as Coll, Member, Root};
use Verb::{Delete, Get, Post};

const ID: &[Param] = &[req("id")];

/// Every route, grouped by collection in definition order (which `OPTIONS` method lists follow).
pub(crate) static ROUTES: &[Route] = &[
    route(
        "",
        "index",
        Op::EntryPoint,
        Get,
        Root,
        Need::Nothing,
        "",
        &[opt("force_auth")],
        Kind::Other,
    ),
    route(
        "",
        "switch",
        Op::SwitchDriver,
        Post,
        Root,
        Need::Nothing,
        "",
        &[opt("driver"), opt("provider")],
        Kind::Other,
    ),
    // realms
    route(
        "realms",
        "index",
        Op::RealmsIndex,
        Get,
        Coll,
        Need::Cap(C::Realms),
        "realms",
        &[opt("id")],
        Kind::Index,
    ),
    route(
        "realms",
        "show",
        Op::RealmsShow,
        Get,
        Member,
        Need::Cap(C::Realms),
        "realms",
        ID,
        Kind::Show,
    ),
    // hardware profiles
    route(
        "hardware_profiles",
        "index",
        Op::HardwareProfilesIndex,
        Get,
        Coll,
        Need::HardwareProfiles,
        "hardware_profiles",
        &[opt("id"), opt("architecture")],
        Kind::Index,
    ),
    route(
        "hardware_profiles",
        "show",
        Op::HardwareProfilesShow,
        Get,
        Member,
        Need::HardwareProfiles,
        "hardware_profiles",
        ID,
        Kind::Show,
    ),
    // images
    route(
        "images",
        "index",
        Op::ImagesIndex,
        Get,
        Coll,
        Need::Cap(C::Images),
        "images",
        &[opt("id"), opt("architecture"), opt("owner_id")],
        Kind::Index,
    ),
    route(
        "images",
        "show",
        Op::ImagesShow,
        Get,
        Member,
        Need::Cap(C::Images),
        "image",
        ID,
        Kind::Show,
    ),
    route(
        "images",
        "create",
        Op::ImagesCreate,
        Post,
        Coll,
        Need::Cap(C::CreateImage),
        "create_image",
        &[req("instance_id"), opt("name"), opt("description")],
        Kind::Create,
    ),
    route(
        "images",
        "destroy",
        Op::ImagesDestroy,
        Delete,
        Member,
        Need::Cap(C::DestroyImage),
        "destroy_image",
        ID,
        Kind::Destroy,
    ),
    // instances
    route(
        "instances",
        "index",
        Op::InstancesIndex,
        Get,
        Coll,
        Need::Cap(C::Instances),
        "instances",
        &[opt("id"), opt("state"), opt("realm_id")],
        Kind::Index,
    ),
    route(
        "instances",
        "show",
        Op::InstancesShow,
        Get,
        Member,
        Need::Cap(C::Instances),
        "instances",
        ID,
        Kind::Show,
    ),
    route(
        "instances",
        "create",
        Op::InstancesCreate,
        Post,
        Coll,
        Need::Cap(C::CreateInstance),
        "create_instance",
        &[req("image_id"), opt("realm_id"), opt("hwp_id")],
        Kind::Create,
    ),
    route(
        "instances",
        "start",
        Op::InstancesStart,
        Post,
        Action("start"),
        Need::Cap(C::StartInstance),
        "start_instance",
        ID,
        Kind::Action,
    ),
    route(
        "instances",
        "stop",
        Op::InstancesStop,
        Post,
        Action("stop"),
        Need::Cap(C::StopInstance),
        "stop_instance",
        ID,
        Kind::Action,
    ),
    route(
        "instances",
        "reboot",
        Op::InstancesReboot,
        Post,
        Action("reboot"),
        Need::Cap(C::RebootInstance),
        "reboot_instance",
        ID,
        Kind::Action,
    ),
    route(
        "instances",
        "destroy",
        Op::InstancesDestroy,
        Delete,
        Member,
        Need::Cap(C::DestroyInstance),
        "destroy_instance",
        ID,
        Kind::Destroy,
    ),
    route(
        "instances",
        "run",
        Op::InstancesRun,
        Post,
        Action("run"),
        Need::Cap(C::RunOnInstance),
        "run_on_instance",
        &[
            req("id"),
            req("cmd"),
            opt("private_key"),
            opt("password"),
            opt("ip"),
            opt("port"),
        ],
        Kind::Action,
    ),
    // instance states
    route(
        "instance_states",
        "index",
        Op::InstanceStatesIndex,
        Get,
        Coll,
        Need::StateMachine,
        "instance_states",
        &[],
        Kind::Other,
    ),
    // keys
    route(
        "keys",
        "index",
        Op::KeysIndex,
        Get,
        Coll,
        Need::Cap(C::Keys),
        "keys",
        &[opt("id")],
        Kind::Index,
    ),
    route(
        "keys",
        "show",
        Op::KeysShow,
        Get,
        Member,
        Need::Cap(C::Keys),
        "keys",
        ID,
        Kind::Show,
    ),
    route(
        "keys",
        "create",
        Op::KeysCreate,
        Post,
        Coll,
        Need::Cap(C::CreateKey),
        "create_key",
        &[req("name")],
        Kind::Create,
    ),
    route(
        "keys",
        "destroy",
        Op::KeysDestroy,
        Delete,
        Member,
        Need::Cap(C::DestroyKey),
        "destroy_key",
        ID,
        Kind::Destroy,
    ),
    // drivers
    route(
        "drivers",
        "index",
        Op::DriversIndex,
        Get,
        Coll,
        Need::Nothing,
        "drivers",
        &[],
        Kind::Other,
    ),
    route(
        "drivers",
        "show",
        Op::DriversShow,
        Get,
        Member,
        Need::Nothing,
        "drivers",
        ID,
        Kind::Other,
    ),
];

/// The outcome of looking a request up in the table.
#[derive(Debug)]
pub(crate) enum Lookup {
    Found(&'static Route),
    /// The path exists, but not for this method.
    MethodNotAllowed,
    /// `HEAD` on a path that only has create/destroy/action routes: 200 without a body.
    HeadOnly,
    /// A collection the API knows but this frontend does not serve yet.
    Unserved(&'static Collection),
    NotFound,
}

pub(crate) fn collection(name: &str) -> Option<&'static Collection> {
    COLLECTIONS.iter().find(|c| c.name == name)
}

/// Where a split path (`segments` after `/api`) points.
#[derive(Clone, Copy)]
enum At<'s> {
    Root,
    Coll,
    Member,
    Action(&'s str),
}

fn shape_of<'s>(segments: &[&'s str]) -> Option<(&'s str, At<'s>)> {
    match segments {
        [] => Some(("", At::Root)),
        [c] => Some((c, At::Coll)),
        [c, _] => Some((c, At::Member)),
        [c, _, a] => Some((c, At::Action(a))),
        _ => None,
    }
}

fn same_shape(route: Shape, path: At<'_>) -> bool {
    match (route, path) {
        (Root, At::Root) | (Coll, At::Coll) | (Member, At::Member) => true,
        (Action(a), At::Action(b)) => a == b,
        _ => false,
    }
}

/// Routes living at `segments`, in definition order.
fn routes_at<'a>(segments: &'a [&'a str]) -> impl Iterator<Item = &'static Route> + 'a {
    let found = shape_of(segments);
    ROUTES
        .iter()
        .filter(move |r| found.is_some_and(|(c, s)| r.coll == c && same_shape(r.shape, s)))
}

/// Look up `method` (`HEAD` included) on the path `segments`.
pub(crate) fn lookup(segments: &[&str], method: &str) -> Lookup {
    if let [c, ..] = segments
        && let Some(col) = collection(c)
        && !col.served
    {
        return Lookup::Unserved(col);
    }
    let mut any = false;
    for r in routes_at(segments) {
        any = true;
        if r.verb.as_str() == method || (method == "HEAD" && r.verb == Get) {
            return Lookup::Found(r);
        }
    }
    match (any, method) {
        (false, _) => Lookup::NotFound,
        (true, "HEAD") => Lookup::HeadOnly,
        (true, _) => Lookup::MethodNotAllowed,
    }
}

/// The `Allow` header for `OPTIONS` on `segments` (§6.4), or `None` for unknown paths.
///
/// * `/api/<coll>`: `OPTIONS,` + the distinct methods of the collection's operations, in
///   definition order.
/// * `/api/<coll>/<operation>` and `/api/<coll>/:id/<action>`: the operation's parameters as
///   `<name>:string:<required|optional>`, plus the parameters the driver's features add.
/// * `/api/<coll>/:id` (not an operation name): the methods of member routes.
///
/// The root (`OPTIONS /api`) depends on the driver and is answered by the dispatcher.
pub(crate) fn options_allow(segments: &[&str], driver: Option<&dyn Driver>) -> Option<String> {
    match segments {
        [c] => {
            let col = collection(c).filter(|x| x.served)?;
            let mut methods = vec!["OPTIONS"];
            for r in ROUTES.iter().filter(|r| r.coll == col.name) {
                if !methods.contains(&r.verb.as_str()) {
                    methods.push(r.verb.as_str());
                }
            }
            Some(methods.join(","))
        }
        [c, op] => {
            let col = collection(c).filter(|x| x.served)?;
            match ROUTES.iter().find(|r| r.coll == col.name && r.name == *op) {
                Some(r) => Some(param_list(r, driver)),
                None => {
                    let mut methods = vec!["OPTIONS"];
                    for r in ROUTES
                        .iter()
                        .filter(|r| r.coll == col.name && r.shape == Member)
                    {
                        if !methods.contains(&r.verb.as_str()) {
                            methods.push(r.verb.as_str());
                        }
                    }
                    (methods.len() > 1).then(|| methods.join(","))
                }
            }
        }
        [c, _, a] => {
            let r = ROUTES
                .iter()
                .find(|r| r.coll == *c && same_shape(r.shape, At::Action(a)))?;
            Some(param_list(r, driver))
        }
        _ => None,
    }
}

fn param_list(r: &Route, driver: Option<&dyn Driver>) -> String {
    let mut out: Vec<String> = r
        .params
        .iter()
        .map(|p| {
            format!(
                "{}:string:{}",
                p.name,
                if p.required { "required" } else { "optional" }
            )
        })
        .collect();
    if let Some(d) = driver {
        let mut feats: Vec<_> = d.features().iter().map(|f| f.name).collect();
        feats.sort();
        for f in feats {
            let spec = f.spec();
            if spec.collection == r.coll && spec.operation == Some(r.name) {
                for p in spec.params {
                    let sig = format!("{p}:string:optional");
                    if !out.contains(&sig) && !r.params.iter().any(|x| x.name == *p) {
                        out.push(sig);
                    }
                }
            }
        }
    }
    out.join(",")
}

/// The collections the entry point lists for `driver`: those the driver supports (§5.1) **and**
/// this frontend serves, alphabetically. Listing a collection whose routes answer 404 would
/// send clients into a dead end, so unserved collections stay hidden until their routes exist.
pub(crate) fn listed_collections(
    driver: &dyn Driver,
) -> impl Iterator<Item = &'static Collection> + '_ {
    COLLECTIONS
        .iter()
        .filter(move |c| c.served && c.need.satisfied_by(driver))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(segs: &[&str], m: &str) -> Option<Op> {
        match lookup(segs, m) {
            Lookup::Found(r) => Some(r.op),
            _ => None,
        }
    }

    #[test]
    fn routing() {
        assert_eq!(found(&[], "GET"), Some(Op::EntryPoint));
        assert_eq!(found(&[], "POST"), Some(Op::SwitchDriver));
        assert_eq!(found(&["realms"], "GET"), Some(Op::RealmsIndex));
        assert_eq!(found(&["realms", "us"], "GET"), Some(Op::RealmsShow));
        assert_eq!(found(&["realms", "us"], "HEAD"), Some(Op::RealmsShow));
        assert_eq!(found(&["instances"], "POST"), Some(Op::InstancesCreate));
        assert_eq!(
            found(&["instances", "i"], "DELETE"),
            Some(Op::InstancesDestroy)
        );
        assert_eq!(
            found(&["instances", "i", "stop"], "POST"),
            Some(Op::InstancesStop)
        );
        assert_eq!(
            found(&["instances", "i", "run"], "POST"),
            Some(Op::InstancesRun)
        );
        assert!(matches!(
            lookup(&["realms"], "PUT"),
            Lookup::MethodNotAllowed
        ));
        assert!(matches!(
            lookup(&["realms"], "POST"),
            Lookup::MethodNotAllowed
        ));
        assert!(matches!(
            lookup(&["instances", "i", "stop"], "GET"),
            Lookup::MethodNotAllowed
        ));
        assert!(matches!(
            lookup(&["instances", "i", "stop"], "HEAD"),
            Lookup::HeadOnly
        ));
        assert!(matches!(
            lookup(&["instances", "i", "fly"], "POST"),
            Lookup::NotFound
        ));
        assert!(matches!(lookup(&["nonsense"], "GET"), Lookup::NotFound));
        assert!(matches!(
            lookup(&["realms", "a", "b", "c"], "GET"),
            Lookup::NotFound
        ));
        assert!(
            matches!(lookup(&["firewalls"], "GET"), Lookup::Unserved(c) if c.name == "firewalls")
        );
        assert!(matches!(
            lookup(&["storage_volumes", "v", "attach"], "POST"),
            Lookup::Unserved(_)
        ));
    }

    #[test]
    fn options() {
        assert_eq!(
            options_allow(&["instances"], None).as_deref(),
            Some("OPTIONS,GET,POST,DELETE")
        );
        assert_eq!(
            options_allow(&["realms"], None).as_deref(),
            Some("OPTIONS,GET")
        );
        assert_eq!(
            options_allow(&["keys"], None).as_deref(),
            Some("OPTIONS,GET,POST,DELETE")
        );
        assert_eq!(
            options_allow(&["instances", "create"], None).as_deref(),
            Some("image_id:string:required,realm_id:string:optional,hwp_id:string:optional")
        );
        assert_eq!(
            options_allow(&["instances", "inst1", "stop"], None).as_deref(),
            Some("id:string:required")
        );
        assert_eq!(
            options_allow(&["instances", "inst1"], None).as_deref(),
            Some("OPTIONS,GET,DELETE")
        );
        assert_eq!(options_allow(&["nonsense"], None), None);
        assert_eq!(options_allow(&["firewalls"], None), None);
    }

    #[test]
    fn table_is_consistent() {
        for r in ROUTES {
            assert!(
                r.coll.is_empty() || collection(r.coll).is_some_and(|c| c.served),
                "{}",
                r.coll
            );
            let same: Vec<_> = ROUTES
                .iter()
                .filter(|x| x.coll == r.coll && x.name == r.name)
                .collect();
            assert_eq!(same.len(), 1, "duplicate operation {}/{}", r.coll, r.name);
            let clash = ROUTES
                .iter()
                .filter(|x| x.coll == r.coll && x.shape == r.shape && x.verb == r.verb)
                .count();
            assert_eq!(
                clash, 1,
                "two routes for {} {:?} {:?}",
                r.coll, r.shape, r.verb
            );
        }
        let names: Vec<_> = COLLECTIONS.iter().map(|c| c.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "collections are listed alphabetically");
    }
}
