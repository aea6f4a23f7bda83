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
    Put,
    Delete,
    /// Routes that answer `HEAD` themselves (blob metadata); other `HEAD`s fall back to `GET`.
    Head,
}

impl Verb {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Head => "HEAD",
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
    /// `/api/<coll>/:id/:sub` (a blob in a bucket, a rule of a firewall)
    SubMember,
    /// `/api/<coll>/:id/:sub/<action>` (`…/:blob/content`)
    SubAction(&'static str),
    /// `/api/<coll>/<literal>`: the HTML explorer's `…/new` forms, matched before `/:id`
    /// (`deltacloud-api.md` §11), so `GET /api/keys/new` is the form, not key `new`.
    Fixed(&'static str),
}

/// How the dispatcher treats the request body of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// Form fields (urlencoded or multipart), read whole into the parameters (bounded).
    Form,
    /// The raw body is the route's data and reaches the handler unread, as a stream.
    Raw,
    /// A multipart body reaches the handler unread (it streams a file field out of it); other
    /// form encodings are read into the parameters as usual.
    MultipartStream,
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
    /// An HTML-only explorer page (a form, §11): rendered only as HTML; see `explorer.rs`.
    Form,
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
    StorageVolumesIndex,
    StorageVolumesShow,
    StorageVolumesCreate,
    StorageVolumesDestroy,
    StorageVolumesAttach,
    StorageVolumesDetach,
    StorageSnapshotsIndex,
    StorageSnapshotsShow,
    StorageSnapshotsCreate,
    StorageSnapshotsDestroy,
    BucketsIndex,
    BucketsShow,
    BucketsCreate,
    BucketsDestroy,
    BlobsShow,
    BlobsContent,
    BlobsPut,
    BlobsPutStream,
    BlobsPostForm,
    BlobsHead,
    BlobsHeadMetadata,
    BlobsUpdateMetadata,
    BlobsDestroy,
    AddressesIndex,
    AddressesShow,
    AddressesCreate,
    AddressesDestroy,
    AddressesAssociate,
    AddressesDisassociate,
    FirewallsIndex,
    FirewallsShow,
    FirewallsCreate,
    FirewallsDestroy,
    FirewallsAddRule,
    FirewallsDeleteRule,
    LoadBalancersIndex,
    LoadBalancersShow,
    LoadBalancersCreate,
    LoadBalancersDestroy,
    LoadBalancersRegister,
    LoadBalancersUnregister,
    MetricsIndex,
    MetricsShow,
    NetworksIndex,
    NetworksShow,
    NetworksCreate,
    NetworksDestroy,
    SubnetsIndex,
    SubnetsShow,
    SubnetsCreate,
    SubnetsDestroy,
    NetworkInterfacesIndex,
    NetworkInterfacesShow,
    NetworkInterfacesCreate,
    NetworkInterfacesDestroy,
    // The HTML explorer's forms (§11), served by `explorer.rs`.
    InstancesNew,
    InstancesRunForm,
    ImagesNew,
    KeysNew,
    StorageVolumesNew,
    StorageVolumesAttachForm,
    StorageSnapshotsNew,
    BucketsNew,
    BlobsNewForm,
    AddressesAssociateForm,
    FirewallsNew,
    FirewallsNewRule,
    LoadBalancersNew,
    NetworksNew,
    SubnetsNew,
    NetworkInterfacesNew,
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
    pub body: Body,
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
#[rustfmt::skip]
pub(crate) static COLLECTIONS: &[Collection] = &[
    coll("addresses", "Deltacloud::Rabbit::AddressesCollection", Need::Cap(C::Addresses), true),
    coll("buckets", "Deltacloud::Rabbit::BucketsCollection", Need::Cap(C::Buckets), true),
    coll("drivers", "Deltacloud::Rabbit::DriversCollection", Need::Nothing, true),
    coll("firewalls", "Deltacloud::Rabbit::FirewallsCollection", Need::Cap(C::Firewalls), true),
    coll("hardware_profiles", "Deltacloud::Rabbit::HardwareProfilesCollection", Need::HardwareProfiles, true),
    coll("images", "Deltacloud::Rabbit::ImagesCollection", Need::Cap(C::Images), true),
    coll("instance_states", "Deltacloud::Rabbit::InstanceStatesCollection", Need::StateMachine, true),
    coll("instances", "Deltacloud::Rabbit::InstancesCollection", Need::Cap(C::Instances), true),
    coll("keys", "Deltacloud::Rabbit::KeysCollection", Need::Cap(C::Keys), true),
    coll("load_balancers", "Deltacloud::Rabbit::LoadBalancersCollection", Need::Cap(C::LoadBalancers), true),
    coll("metrics", "Deltacloud::Rabbit::MetricsCollection", Need::Cap(C::Metrics), true),
    coll("network_interfaces", "Deltacloud::Rabbit::NetworkInterfacesCollection", Need::Cap(C::NetworkInterfaces), true),
    coll("networks", "Deltacloud::Rabbit::NetworksCollection", Need::Cap(C::Networks), true),
    coll("realms", "Deltacloud::Rabbit::RealmsCollection", Need::Cap(C::Realms), true),
    coll("storage_snapshots", "Deltacloud::Rabbit::StorageSnapshotsCollection", Need::Cap(C::StorageSnapshots), true),
    coll("storage_volumes", "Deltacloud::Rabbit::StorageVolumesCollection", Need::Cap(C::StorageVolumes), true),
    coll("subnets", "Deltacloud::Rabbit::SubnetsCollection", Need::Cap(C::Subnets), true),
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
        body: Body::Form,
    }
}

/// A route whose body is not form fields (blob uploads).
const fn with_body(mut r: Route, body: Body) -> Route {
    r.body = body;
    r
}

/// An HTML explorer form (§11): a `GET` page whose need is the need of the operation it
/// submits to, so a driver without `create_key` answers `GET /api/keys/new` with 412 too.
const fn form(
    coll: &'static str,
    name: &'static str,
    op: Op,
    shape: Shape,
    need: Need,
    expect: &'static str,
    params: &'static [Param],
) -> Route {
    route(
        coll,
        name,
        op,
        Verb::Get,
        shape,
        need,
        expect,
        params,
        Kind::Form,
    )
}

use Shape::{Action, Collection as Coll, Fixed, Member, Root, SubAction, SubMember};
use Verb::{Delete, Get, Head, Post, Put};

const ID: &[Param] = &[req("id")];

/// Every route, grouped by collection in definition order (which `OPTIONS` method lists follow).
#[rustfmt::skip]
pub(crate) static ROUTES: &[Route] = &[
    route("", "index", Op::EntryPoint, Get, Root, Need::Nothing, "", &[opt("force_auth")], Kind::Other),
    route("", "switch", Op::SwitchDriver, Post, Root, Need::Nothing, "", &[opt("driver"), opt("provider")], Kind::Other),
    // realms
    route("realms", "index", Op::RealmsIndex, Get, Coll, Need::Cap(C::Realms), "realms", &[opt("id")], Kind::Index),
    route("realms", "show", Op::RealmsShow, Get, Member, Need::Cap(C::Realms), "realms", ID, Kind::Show),
    // hardware profiles
    route("hardware_profiles", "index", Op::HardwareProfilesIndex, Get, Coll, Need::HardwareProfiles, "hardware_profiles", &[opt("id"), opt("architecture")], Kind::Index),
    route("hardware_profiles", "show", Op::HardwareProfilesShow, Get, Member, Need::HardwareProfiles, "hardware_profiles", ID, Kind::Show),
    // images
    route("images", "index", Op::ImagesIndex, Get, Coll, Need::Cap(C::Images), "images", &[opt("id"), opt("architecture"), opt("owner_id")], Kind::Index),
    route("images", "show", Op::ImagesShow, Get, Member, Need::Cap(C::Images), "image", ID, Kind::Show),
    route("images", "create", Op::ImagesCreate, Post, Coll, Need::Cap(C::CreateImage), "create_image", &[req("instance_id"), opt("name"), opt("description")], Kind::Create),
    route("images", "destroy", Op::ImagesDestroy, Delete, Member, Need::Cap(C::DestroyImage), "destroy_image", ID, Kind::Destroy),
    // instances
    route("instances", "index", Op::InstancesIndex, Get, Coll, Need::Cap(C::Instances), "instances", &[opt("id"), opt("state"), opt("realm_id")], Kind::Index),
    route("instances", "show", Op::InstancesShow, Get, Member, Need::Cap(C::Instances), "instances", ID, Kind::Show),
    route("instances", "create", Op::InstancesCreate, Post, Coll, Need::Cap(C::CreateInstance), "create_instance", &[req("image_id"), opt("realm_id"), opt("hwp_id")], Kind::Create),
    route("instances", "start", Op::InstancesStart, Post, Action("start"), Need::Cap(C::StartInstance), "start_instance", ID, Kind::Action),
    route("instances", "stop", Op::InstancesStop, Post, Action("stop"), Need::Cap(C::StopInstance), "stop_instance", ID, Kind::Action),
    route("instances", "reboot", Op::InstancesReboot, Post, Action("reboot"), Need::Cap(C::RebootInstance), "reboot_instance", ID, Kind::Action),
    route("instances", "destroy", Op::InstancesDestroy, Delete, Member, Need::Cap(C::DestroyInstance), "destroy_instance", ID, Kind::Destroy),
    route("instances", "run", Op::InstancesRun, Post, Action("run"), Need::Cap(C::RunOnInstance), "run_on_instance", &[req("id"), req("cmd"), opt("private_key"), opt("password"), opt("ip"), opt("port")], Kind::Action),
    // instance states
    route("instance_states", "index", Op::InstanceStatesIndex, Get, Coll, Need::StateMachine, "instance_states", &[], Kind::Other),
    // keys
    route("keys", "index", Op::KeysIndex, Get, Coll, Need::Cap(C::Keys), "keys", &[opt("id")], Kind::Index),
    route("keys", "show", Op::KeysShow, Get, Member, Need::Cap(C::Keys), "keys", ID, Kind::Show),
    route("keys", "create", Op::KeysCreate, Post, Coll, Need::Cap(C::CreateKey), "create_key", &[req("name")], Kind::Create),
    route("keys", "destroy", Op::KeysDestroy, Delete, Member, Need::Cap(C::DestroyKey), "destroy_key", ID, Kind::Destroy),
    // drivers
    route("drivers", "index", Op::DriversIndex, Get, Coll, Need::Nothing, "drivers", &[], Kind::Other),
    route("drivers", "show", Op::DriversShow, Get, Member, Need::Nothing, "drivers", ID, Kind::Other),
    // storage volumes (§8.7)
    route("storage_volumes", "index", Op::StorageVolumesIndex, Get, Coll, Need::Cap(C::StorageVolumes), "storage_volumes", &[opt("id"), opt("state")], Kind::Index),
    route("storage_volumes", "show", Op::StorageVolumesShow, Get, Member, Need::Cap(C::StorageVolumes), "storage_volumes", ID, Kind::Show),
    route("storage_volumes", "create", Op::StorageVolumesCreate, Post, Coll, Need::Cap(C::CreateStorageVolume), "create_storage_volume", &[opt("snapshot_id"), opt("capacity"), opt("realm_id"), opt("name"), opt("description")], Kind::Create),
    route("storage_volumes", "destroy", Op::StorageVolumesDestroy, Delete, Member, Need::Cap(C::DestroyStorageVolume), "destroy_storage_volume", ID, Kind::Destroy),
    route("storage_volumes", "attach", Op::StorageVolumesAttach, Post, Action("attach"), Need::Cap(C::AttachStorageVolume), "attach_storage_volume", &[req("id"), req("instance_id"), req("device")], Kind::Action),
    route("storage_volumes", "detach", Op::StorageVolumesDetach, Post, Action("detach"), Need::Cap(C::DetachStorageVolume), "detach_storage_volume", ID, Kind::Action),
    // storage snapshots (§8.8)
    route("storage_snapshots", "index", Op::StorageSnapshotsIndex, Get, Coll, Need::Cap(C::StorageSnapshots), "storage_snapshots", &[opt("id")], Kind::Index),
    route("storage_snapshots", "show", Op::StorageSnapshotsShow, Get, Member, Need::Cap(C::StorageSnapshots), "storage_snapshots", ID, Kind::Show),
    route("storage_snapshots", "create", Op::StorageSnapshotsCreate, Post, Coll, Need::Cap(C::CreateStorageSnapshot), "create_storage_snapshot", &[req("volume_id"), opt("name"), opt("description")], Kind::Create),
    route("storage_snapshots", "destroy", Op::StorageSnapshotsDestroy, Delete, Member, Need::Cap(C::DestroyStorageSnapshot), "destroy_storage_snapshot", ID, Kind::Destroy),
    // buckets and blobs (§8.9)
    route("buckets", "index", Op::BucketsIndex, Get, Coll, Need::Cap(C::Buckets), "buckets", &[opt("id")], Kind::Index),
    route("buckets", "show", Op::BucketsShow, Get, Member, Need::Cap(C::Buckets), "buckets", ID, Kind::Show),
    route("buckets", "create", Op::BucketsCreate, Post, Coll, Need::Cap(C::CreateBucket), "create_bucket", &[req("name"), opt("location")], Kind::Create),
    route("buckets", "destroy", Op::BucketsDestroy, Delete, Member, Need::Cap(C::DeleteBucket), "delete_bucket", ID, Kind::Destroy),
    route("buckets", "show_blob", Op::BlobsShow, Get, SubMember, Need::Cap(C::Blob), "blob", &[req("id"), req("blob_id")], Kind::Show),
    route("buckets", "blob_content", Op::BlobsContent, Get, SubAction("content"), Need::Cap(C::Blob), "blob", &[req("id"), req("blob_id")], Kind::Show),
    with_body(route("buckets", "create_blob", Op::BlobsPut, Put, SubMember, Need::Cap(C::CreateBlob), "create_blob", &[req("id"), req("blob_id")], Kind::Create), Body::Raw),
    with_body(route("buckets", "stream_blob", Op::BlobsPutStream, Put, SubAction("stream"), Need::Cap(C::CreateBlob), "create_blob", &[req("id"), req("blob_id")], Kind::Create), Body::Raw),
    with_body(route("buckets", "upload_blob", Op::BlobsPostForm, Post, Member, Need::Cap(C::CreateBlob), "create_blob", &[req("id"), opt("blob_id"), opt("blob_data"), opt("meta_params")], Kind::Create), Body::MultipartStream),
    route("buckets", "blob_metadata", Op::BlobsHead, Head, SubMember, Need::Cap(C::BlobMetadata), "blob_metadata", &[req("id"), req("blob_id")], Kind::Other),
    route("buckets", "get_blob_metadata", Op::BlobsHeadMetadata, Head, SubAction("metadata"), Need::Cap(C::BlobMetadata), "blob_metadata", &[req("id"), req("blob_id")], Kind::Other),
    route("buckets", "update_blob_metadata", Op::BlobsUpdateMetadata, Post, SubMember, Need::Cap(C::UpdateBlobMetadata), "update_blob_metadata", &[req("id"), req("blob_id")], Kind::Other),
    route("buckets", "destroy_blob", Op::BlobsDestroy, Delete, SubMember, Need::Cap(C::DeleteBlob), "delete_blob", &[req("id"), req("blob_id")], Kind::Destroy),
    // addresses (§8.10)
    route("addresses", "index", Op::AddressesIndex, Get, Coll, Need::Cap(C::Addresses), "addresses", &[opt("id")], Kind::Index),
    route("addresses", "show", Op::AddressesShow, Get, Member, Need::Cap(C::Addresses), "addresses", ID, Kind::Show),
    route("addresses", "create", Op::AddressesCreate, Post, Coll, Need::Cap(C::CreateAddress), "create_address", &[], Kind::Create),
    route("addresses", "destroy", Op::AddressesDestroy, Delete, Member, Need::Cap(C::DestroyAddress), "destroy_address", ID, Kind::Destroy),
    route("addresses", "associate", Op::AddressesAssociate, Post, Action("associate"), Need::Cap(C::AssociateAddress), "associate_address", &[req("id"), req("instance_id")], Kind::Action),
    route("addresses", "disassociate", Op::AddressesDisassociate, Post, Action("disassociate"), Need::Cap(C::DisassociateAddress), "associate_address", ID, Kind::Action),
    // firewalls (§8.11)
    route("firewalls", "index", Op::FirewallsIndex, Get, Coll, Need::Cap(C::Firewalls), "firewalls", &[opt("id")], Kind::Index),
    route("firewalls", "show", Op::FirewallsShow, Get, Member, Need::Cap(C::Firewalls), "firewalls", ID, Kind::Show),
    route("firewalls", "create", Op::FirewallsCreate, Post, Coll, Need::Cap(C::CreateFirewall), "create_firewall", &[req("name"), req("description")], Kind::Create),
    route("firewalls", "destroy", Op::FirewallsDestroy, Delete, Member, Need::Cap(C::DeleteFirewall), "delete_firewall", ID, Kind::Destroy),
    route("firewalls", "rules", Op::FirewallsAddRule, Post, Action("rules"), Need::Cap(C::CreateFirewallRule), "create_firewall_rule", &[req("id"), req("protocol"), req("port_from"), req("port_to")], Kind::Action),
    route("firewalls", "destroy_rule", Op::FirewallsDeleteRule, Delete, SubMember, Need::Cap(C::DeleteFirewallRule), "delete_firewall_rule", &[req("id"), req("rule_id")], Kind::Destroy),
    // load balancers (§8.12)
    route("load_balancers", "index", Op::LoadBalancersIndex, Get, Coll, Need::Cap(C::LoadBalancers), "load_balancers", &[opt("id")], Kind::Index),
    route("load_balancers", "show", Op::LoadBalancersShow, Get, Member, Need::Cap(C::LoadBalancers), "load_balancer", ID, Kind::Show),
    route("load_balancers", "create", Op::LoadBalancersCreate, Post, Coll, Need::Cap(C::CreateLoadBalancer), "create_load_balancer", &[req("name"), req("realm_id"), req("listener_protocol"), req("listener_balancer_port"), req("listener_instance_port")], Kind::Create),
    route("load_balancers", "register", Op::LoadBalancersRegister, Post, Action("register"), Need::Cap(C::LbRegisterInstance), "lb_register_instance", &[req("id"), req("instance_id")], Kind::Action),
    route("load_balancers", "unregister", Op::LoadBalancersUnregister, Post, Action("unregister"), Need::Cap(C::LbUnregisterInstance), "lb_unregister_instance", &[req("id"), req("instance_id")], Kind::Action),
    route("load_balancers", "destroy", Op::LoadBalancersDestroy, Delete, Member, Need::Cap(C::DestroyLoadBalancer), "destroy_load_balancer", ID, Kind::Destroy),
    // metrics (§8.13)
    route("metrics", "index", Op::MetricsIndex, Get, Coll, Need::Cap(C::Metrics), "metrics", &[opt("id")], Kind::Index),
    route("metrics", "show", Op::MetricsShow, Get, Member, Need::Cap(C::Metrics), "metrics", ID, Kind::Show),
    // networks, subnets, network interfaces (§8.14)
    route("networks", "index", Op::NetworksIndex, Get, Coll, Need::Cap(C::Networks), "networks", &[opt("id")], Kind::Index),
    route("networks", "show", Op::NetworksShow, Get, Member, Need::Cap(C::Networks), "networks", ID, Kind::Show),
    route("networks", "create", Op::NetworksCreate, Post, Coll, Need::Cap(C::CreateNetwork), "create_network", &[req("address_block"), opt("name")], Kind::Create),
    route("networks", "destroy", Op::NetworksDestroy, Delete, Member, Need::Cap(C::DestroyNetwork), "destroy_network", ID, Kind::Destroy),
    route("subnets", "index", Op::SubnetsIndex, Get, Coll, Need::Cap(C::Subnets), "subnets", &[opt("id")], Kind::Index),
    route("subnets", "show", Op::SubnetsShow, Get, Member, Need::Cap(C::Subnets), "subnets", ID, Kind::Show),
    route("subnets", "create", Op::SubnetsCreate, Post, Coll, Need::Cap(C::CreateSubnet), "create_subnet", &[req("network_id"), req("address_block"), opt("name")], Kind::Create),
    route("subnets", "destroy", Op::SubnetsDestroy, Delete, Member, Need::Cap(C::DestroySubnet), "destroy_subnet", ID, Kind::Destroy),
    route("network_interfaces", "index", Op::NetworkInterfacesIndex, Get, Coll, Need::Cap(C::NetworkInterfaces), "network_interfaces", &[opt("id")], Kind::Index),
    route("network_interfaces", "show", Op::NetworkInterfacesShow, Get, Member, Need::Cap(C::NetworkInterfaces), "network_interfaces", ID, Kind::Show),
    route("network_interfaces", "create", Op::NetworkInterfacesCreate, Post, Coll, Need::Cap(C::CreateNetworkInterface), "create_network_interface", &[req("instance"), req("network"), opt("name")], Kind::Create),
    route("network_interfaces", "destroy", Op::NetworkInterfacesDestroy, Delete, Member, Need::Cap(C::DestroyNetworkInterface), "destroy_network_interface", ID, Kind::Destroy),
    // The HTML explorer's forms (§11). `…/new` is `Fixed`, matched before `/:id`.
    form("instances", "new", Op::InstancesNew, Fixed("new"), Need::Cap(C::CreateInstance), "create_instance", &[req("image_id"), opt("hwp_id")]),
    form("instances", "run_form", Op::InstancesRunForm, Action("run"), Need::Cap(C::RunOnInstance), "run_on_instance", ID),
    form("images", "new", Op::ImagesNew, Fixed("new"), Need::Cap(C::CreateImage), "create_image", &[opt("instance_id")]),
    form("keys", "new", Op::KeysNew, Fixed("new"), Need::Cap(C::CreateKey), "create_key", &[]),
    form("storage_volumes", "new", Op::StorageVolumesNew, Fixed("new"), Need::Cap(C::CreateStorageVolume), "create_storage_volume", &[]),
    form("storage_volumes", "attach_form", Op::StorageVolumesAttachForm, Action("attach_instance"), Need::Cap(C::AttachStorageVolume), "attach_storage_volume", ID),
    form("storage_snapshots", "new", Op::StorageSnapshotsNew, Fixed("new"), Need::Cap(C::CreateStorageSnapshot), "create_storage_snapshot", &[]),
    form("buckets", "new", Op::BucketsNew, Fixed("new"), Need::Cap(C::CreateBucket), "create_bucket", &[]),
    form("buckets", "new_blob_form", Op::BlobsNewForm, Action("new_blob_form_d15cfd90"), Need::Cap(C::CreateBlob), "create_blob", ID),
    form("addresses", "associate_form", Op::AddressesAssociateForm, Action("associate"), Need::Cap(C::AssociateAddress), "associate_address", ID),
    form("firewalls", "new", Op::FirewallsNew, Fixed("new"), Need::Cap(C::CreateFirewall), "create_firewall", &[]),
    form("firewalls", "new_rule", Op::FirewallsNewRule, Action("new_rule"), Need::Cap(C::CreateFirewallRule), "create_firewall_rule", ID),
    form("load_balancers", "new", Op::LoadBalancersNew, Fixed("new"), Need::Cap(C::CreateLoadBalancer), "create_load_balancer", &[]),
    form("networks", "new", Op::NetworksNew, Fixed("new"), Need::Cap(C::CreateNetwork), "create_network", &[]),
    form("subnets", "new", Op::SubnetsNew, Fixed("new"), Need::Cap(C::CreateSubnet), "create_subnet", &[]),
    form("network_interfaces", "new", Op::NetworkInterfacesNew, Fixed("new"), Need::Cap(C::CreateNetworkInterface), "create_network_interface", &[]),
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
    /// `/<coll>/<x>`: member `x`, or a fixed page such as `new`.
    Member(&'s str),
    /// `/<coll>/:id/<x>`: an action named `x`, or a sub-resource with id `x`.
    Three(&'s str),
    /// `/<coll>/:id/:sub/<x>`.
    Four(&'s str),
}

fn shape_of<'s>(segments: &[&'s str]) -> Option<(&'s str, At<'s>)> {
    match segments {
        [] => Some(("", At::Root)),
        [c] => Some((c, At::Coll)),
        [c, x] => Some((c, At::Member(x))),
        [c, _, a] => Some((c, At::Three(a))),
        [c, _, _, a] => Some((c, At::Four(a))),
        _ => None,
    }
}

fn same_shape(route: Shape, path: At<'_>) -> bool {
    match (route, path) {
        (Root, At::Root)
        | (Coll, At::Coll)
        | (Member, At::Member(_))
        | (SubMember, At::Three(_)) => true,
        (Action(a), At::Three(b)) | (SubAction(a), At::Four(b)) | (Fixed(a), At::Member(b)) => {
            a == b
        }
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

/// Look up `method` (`HEAD` included) on the path `segments`. A named action wins over a
/// sub-resource of the same shape (`POST /firewalls/:id/rules` is the action, not rule
/// `rules`); a `HEAD` without a route of its own behaves like the `GET` route (§6.4).
pub(crate) fn lookup(segments: &[&str], method: &str) -> Lookup {
    if let [c, ..] = segments
        && let Some(col) = collection(c)
        && !col.served
    {
        return Lookup::Unserved(col);
    }
    // A fixed page (`/<coll>/new`) wins over the member of the same name (§11).
    if let Some(r) = routes_at(segments).find(|r| {
        matches!(r.shape, Fixed(_))
            && (r.verb.as_str() == method || (method == "HEAD" && r.verb == Get))
    }) {
        return Lookup::Found(r);
    }
    let mut any = false;
    let mut get = None;
    let mut sub = None;
    for r in routes_at(segments) {
        any = true;
        if r.verb.as_str() == method {
            if r.shape == SubMember {
                sub = sub.or(Some(r));
            } else {
                return Lookup::Found(r);
            }
        } else if method == "HEAD" && r.verb == Get && get.is_none() {
            get = Some(r);
        }
    }
    if let Some(r) = sub.or(get) {
        return Lookup::Found(r);
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
                .find(|r| r.coll == *c && matches!(r.shape, Action(x) if x == *a))?;
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
        assert_eq!(found(&["firewalls"], "GET"), Some(Op::FirewallsIndex));
        assert_eq!(
            found(&["storage_volumes", "v", "attach"], "POST"),
            Some(Op::StorageVolumesAttach)
        );
        // Blobs live one level below their bucket.
        assert_eq!(found(&["buckets", "b", "x"], "GET"), Some(Op::BlobsShow));
        assert_eq!(found(&["buckets", "b", "x"], "PUT"), Some(Op::BlobsPut));
        assert_eq!(found(&["buckets", "b", "x"], "HEAD"), Some(Op::BlobsHead));
        assert_eq!(
            found(&["buckets", "b", "x"], "POST"),
            Some(Op::BlobsUpdateMetadata)
        );
        assert_eq!(
            found(&["buckets", "b", "x"], "DELETE"),
            Some(Op::BlobsDestroy)
        );
        assert_eq!(
            found(&["buckets", "b", "x", "content"], "GET"),
            Some(Op::BlobsContent)
        );
        assert_eq!(
            found(&["buckets", "b", "x", "content"], "HEAD"),
            Some(Op::BlobsContent)
        );
        assert_eq!(
            found(&["buckets", "b", "x", "metadata"], "HEAD"),
            Some(Op::BlobsHeadMetadata)
        );
        assert_eq!(
            found(&["buckets", "b", "x", "stream"], "PUT"),
            Some(Op::BlobsPutStream)
        );
        assert_eq!(found(&["buckets", "b"], "POST"), Some(Op::BlobsPostForm));
        // A named action wins over a sub-resource of the same shape.
        assert_eq!(
            found(&["firewalls", "f", "rules"], "POST"),
            Some(Op::FirewallsAddRule)
        );
        assert_eq!(
            found(&["firewalls", "f", "r1"], "DELETE"),
            Some(Op::FirewallsDeleteRule)
        );
        assert!(matches!(
            lookup(&["buckets", "b", "x", "nope"], "GET"),
            Lookup::NotFound
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
        assert_eq!(
            options_allow(&["firewalls"], None).as_deref(),
            Some("OPTIONS,GET,POST,DELETE")
        );
        assert_eq!(
            options_allow(&["storage_volumes", "v", "attach"], None).as_deref(),
            Some("id:string:required,instance_id:string:required,device:string:required")
        );
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
