//! A small in-memory driver implementing core's traits with a few fixed resources, and the
//! harness that mounts `/api` on it in-process.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::{App, test, web};
use async_trait::async_trait;
use base64::Engine as _;
use deltacloud_core::driver::*;
use deltacloud_core::features::{DriverFeature, FeatureName};
use deltacloud_core::hardware::{HardwareProperty, PropertyName as P};
use deltacloud_core::registry::{DriverInfo, Registry};
use deltacloud_core::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub const USER: &str = "user";
pub const PASSWORD: &str = "secret-pw";

#[derive(Default)]
pub struct State {
    pub instances: Vec<Instance>,
    pub keys: Vec<Key>,
    pub images: Vec<Image>,
    pub last_create: Option<CreateInstance>,
    /// Security groups (only the `cloud` driver has them).
    pub firewalls: Vec<Firewall>,
    /// Elastic load balancers (only the `cloud` driver has them).
    pub load_balancers: Vec<LoadBalancer>,
    /// Driver calls that changed something, for "was the driver called?" assertions.
    pub mutations: Vec<String>,
}

pub struct Fake {
    name: &'static str,
    caps: CapabilitySet,
    feats: Vec<DriverFeature>,
    machine: StateMachine,
    profiles: Vec<HardwareProfile>,
    pub state: Mutex<State>,
}

fn instance(id: &str, state: InstanceState, machine: &StateMachine) -> Instance {
    Instance {
        id: id.into(),
        name: Some(format!("name of {id}")),
        owner_id: Some(USER.into()),
        image_id: Some("img1".into()),
        realm_id: Some("us".into()),
        state,
        actions: machine.actions_for(state),
        public_addresses: vec![InstanceAddress::hostname(format!("{id}.public.example"))],
        private_addresses: vec![],
        profile: Some(InstanceProfile {
            id: "m1-small".into(),
            overrides: BTreeMap::new(),
        }),
        launch_time: None,
        keyname: None,
        username: None,
        password: None,
        authn_error: None,
        create_image: true,
        firewalls: None,
        storage_volumes: Some(vec![]),
        network_interfaces: None,
    }
}

impl Fake {
    /// A compute driver without firewalls and load balancers (like the mock).
    pub fn full() -> Self {
        use Capability as C;
        let machine = StateMachine::mock();
        let state = State {
            instances: vec![
                instance("inst0", InstanceState::Running, &machine),
                instance("inst1", InstanceState::Stopped, &machine),
            ],
            keys: vec![Key {
                id: "test-key".into(),
                name: "test-key".into(),
                credential_type: CredentialType::Key,
                fingerprint: Some("aa:bb".into()),
                pem_rsa_key: None,
                username: None,
                password: None,
                state: None,
            }],
            images: vec![Image {
                id: "img1".into(),
                name: "img1".into(),
                description: "Fedora 10".into(),
                owner_id: "fedoraproject".into(),
                architecture: "x86_64".into(),
                state: Some("AVAILABLE".into()),
                creation_time: None,
                root_type: None,
                hardware_profiles: Some(vec!["m1-small".into()]),
            }],
            ..State::default()
        };
        Self {
            name: "fake",
            caps: CapabilitySet::new(&[
                C::Realms,
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
            ]),
            feats: vec![
                DriverFeature::new(FeatureName::AuthenticationKey),
                DriverFeature::new(FeatureName::UserName).with_constraint("max_length", "50"),
            ],
            profiles: vec![
                HardwareProfile::new("opaque", vec![]),
                HardwareProfile::new(
                    "m1-large",
                    vec![
                        HardwareProperty::range(P::Cpu, 1, 6, None),
                        HardwareProperty::range(P::Memory, 7680, 15360, Some(10240.into())),
                    ],
                ),
                HardwareProfile::new(
                    "m1-small",
                    vec![
                        HardwareProperty::fixed(P::Cpu, 1),
                        HardwareProperty::fixed(P::Memory, 1740.8),
                    ],
                ),
            ],
            machine,
            state: Mutex::new(state),
        }
    }

    /// An EC2-like driver: the compute collections of [`Fake::full`] plus security groups
    /// (firewalls) and elastic load balancers, seeded with one group and one balancer.
    pub fn cloud() -> Self {
        use Capability as C;
        let mut f = Self::full();
        f.name = "cloud";
        let mut caps: Vec<Capability> = f.caps.iter().collect();
        caps.extend([
            C::Firewalls,
            C::CreateFirewall,
            C::DeleteFirewall,
            C::CreateFirewallRule,
            C::DeleteFirewallRule,
            C::LoadBalancers,
            C::CreateLoadBalancer,
            C::DestroyLoadBalancer,
            C::LbRegisterInstance,
            C::LbUnregisterInstance,
        ]);
        f.caps = CapabilitySet::new(&caps);
        f.feats.extend([
            DriverFeature::new(FeatureName::Firewalls),
            DriverFeature::new(FeatureName::RegisterToLoadBalancer),
        ]);
        {
            let mut st = f.st();
            let mut default = Firewall {
                id: "default".into(),
                name: "default".into(),
                description: "default group".into(),
                owner_id: Some(OWNER.into()),
                rules: vec![],
            };
            default.rules.push(ec2_rule(&CreateFirewallRule {
                protocol: "tcp".into(),
                port_from: "22".into(),
                port_to: "22".into(),
                addresses: vec!["10.1.2.3/24".into()],
                groups: vec![("default".into(), OWNER.into())],
            }));
            st.firewalls = vec![
                default,
                Firewall {
                    id: "web".into(),
                    name: "web".into(),
                    description: "web servers".into(),
                    owner_id: Some(OWNER.into()),
                    rules: vec![],
                },
            ];
            st.load_balancers = vec![LoadBalancer {
                id: "lb1".into(),
                realms: vec!["us".into()],
                listeners: vec![Listener {
                    protocol: "HTTP".into(),
                    load_balancer_port: "80".into(),
                    instance_port: "3001".into(),
                }],
                instances: vec!["inst0".into()],
                public_addresses: vec!["lb1-1234567890.us-east-1.elb.amazonaws.com".into()],
                created_at: Some("Thu Jul 28 13:29:52 UTC 2011".into()),
            }];
        }
        f
    }

    /// A driver offering realms only.
    pub fn bare() -> Self {
        Self {
            name: "bare",
            caps: CapabilitySet::new(&[Capability::Realms]),
            feats: vec![],
            machine: StateMachine::mock(),
            profiles: vec![],
            state: Mutex::new(State::default()),
        }
    }

    fn check<'c>(&self, ctx: &'c RequestContext) -> Result<&'c Credentials> {
        let c = ctx.credentials()?;
        if c.user == USER && c.password.ct_eq(PASSWORD) {
            Ok(c)
        } else {
            Err(Error::auth_failed("Authentication Failure"))
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn act(&self, id: &InstanceId, to: InstanceState, what: &str) -> Result<Instance> {
        let mut st = self.st();
        st.mutations.push(format!("{what} {id}"));
        let i = st
            .instances
            .iter_mut()
            .find(|i| i.id == *id)
            .ok_or_else(|| Error::not_found("no such instance"))?;
        i.state = to;
        i.actions = self.machine.actions_for(to);
        Ok(i.clone())
    }
}

#[async_trait]
impl Realms for Fake {
    async fn realms(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Realm>> {
        self.check(ctx)?;
        if f.id
            .as_ref()
            .is_some_and(|ids| ids.iter().any(|i| i == "500"))
        {
            return Err(Error::internal("DeltacloudErrorMessage"));
        }
        let all = [("us", "United States"), ("eu", "Europe")];
        Ok(all
            .iter()
            .filter(|(id, _)| f.pass_id(id))
            .map(|(id, name)| Realm {
                id: (*id).into(),
                name: (*name).into(),
                state: "AVAILABLE".into(),
                limit: None,
            })
            .collect())
    }
}

#[async_trait]
impl HardwareProfiles for Fake {
    fn static_hardware_profiles(&self) -> &[HardwareProfile] {
        &self.profiles
    }
}

#[async_trait]
impl Images for Fake {
    async fn images(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Image>> {
        self.check(ctx)?;
        Ok(self
            .st()
            .images
            .iter()
            .filter(|i| f.pass_id(&i.id))
            .cloned()
            .collect())
    }
    async fn create_image(&self, ctx: &RequestContext, req: &CreateImage) -> Result<Image> {
        self.check(ctx)?;
        let mut st = self.st();
        if !st.instances.iter().any(|i| i.id == req.instance_id) {
            return Err(Error::not_found("Instance not found"));
        }
        let name = req.name.clone().unwrap_or_else(|| "snap".into());
        let img = Image {
            id: name.as_str().into(),
            name,
            description: req.description.clone().unwrap_or_default(),
            owner_id: USER.into(),
            architecture: "i386".into(),
            state: Some("AVAILABLE".into()),
            creation_time: None,
            root_type: None,
            hardware_profiles: None,
        };
        st.images.push(img.clone());
        Ok(img)
    }
    async fn destroy_image(&self, ctx: &RequestContext, id: &ImageId) -> Result<()> {
        self.check(ctx)?;
        self.st().images.retain(|i| i.id != *id);
        Ok(())
    }
}

#[async_trait]
impl Instances for Fake {
    async fn instances(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Instance>> {
        self.check(ctx)?;
        Ok(self
            .st()
            .instances
            .iter()
            .filter(|i| f.pass_id(&i.id) && Filter::pass(f.state.as_ref(), Some(i.state.as_str())))
            .cloned()
            .collect())
    }
    async fn create_instance(
        &self,
        ctx: &RequestContext,
        req: &CreateInstance,
    ) -> Result<Vec<Instance>> {
        self.check(ctx)?;
        let mut st = self.st();
        st.last_create = Some(req.clone());
        let mut out = Vec::new();
        for _ in 0..req.instance_count.unwrap_or(1) {
            let id = format!("inst{}", st.instances.len());
            let mut i = instance(&id, InstanceState::Running, &self.machine);
            i.image_id = Some(req.image_id.clone());
            i.name = req.name.clone();
            i.keyname = req.keyname.clone();
            st.instances.push(i.clone());
            out.push(i);
        }
        Ok(out)
    }
    async fn start_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.check(ctx)?;
        self.act(id, InstanceState::Running, "start")
    }
    async fn stop_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.check(ctx)?;
        self.act(id, InstanceState::Stopped, "stop")
    }
    async fn reboot_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<Instance> {
        self.check(ctx)?;
        self.act(id, InstanceState::Running, "reboot")
    }
    async fn destroy_instance(&self, ctx: &RequestContext, id: &InstanceId) -> Result<()> {
        self.check(ctx)?;
        let mut st = self.st();
        st.mutations.push(format!("destroy {id}"));
        st.instances.retain(|i| i.id != *id);
        Ok(())
    }
    async fn run_on_instance(
        &self,
        ctx: &RequestContext,
        id: &InstanceId,
        cmd: &RunCommand,
    ) -> Result<RunResult> {
        self.check(ctx)?;
        Ok(RunResult {
            instance_id: id.clone(),
            public_address: Some(format!("{id}.public.example")),
            command: cmd.cmd.clone(),
            output: format!("ran '{}' on port {}", cmd.cmd, cmd.port),
        })
    }
}

#[async_trait]
impl Keys for Fake {
    async fn keys(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Key>> {
        self.check(ctx)?;
        Ok(self
            .st()
            .keys
            .iter()
            .filter(|k| f.pass_id(&k.id))
            .cloned()
            .collect())
    }
    async fn create_key(&self, ctx: &RequestContext, req: &CreateKey) -> Result<Key> {
        self.check(ctx)?;
        let mut st = self.st();
        if st.keys.iter().any(|k| k.id == req.name.as_str()) {
            return Err(Error::forbidden("Key with same name already exists"));
        }
        let k = Key {
            id: req.name.as_str().into(),
            name: req.name.clone(),
            credential_type: CredentialType::Key,
            fingerprint: Some("cc:dd".into()),
            pem_rsa_key: Some(
                "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----".into(),
            ),
            username: None,
            password: None,
            state: None,
        };
        st.keys.push(k.clone());
        Ok(k)
    }
    async fn destroy_key(&self, ctx: &RequestContext, id: &KeyId) -> Result<()> {
        self.check(ctx)?;
        let mut st = self.st();
        let before = st.keys.len();
        st.keys.retain(|k| k.id != *id);
        if st.keys.len() == before {
            Err(Error::not_found("Key not found"))
        } else {
            Ok(())
        }
    }
}

impl StorageVolumes for Fake {}
impl StorageSnapshots for Fake {}
impl Buckets for Fake {}
impl Addresses for Fake {}
#[async_trait]
impl Firewalls for Fake {
    async fn firewalls(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Firewall>> {
        self.check(ctx)?;
        Ok(self
            .st()
            .firewalls
            .iter()
            .filter(|g| f.pass_id(&g.id))
            .cloned()
            .collect())
    }
    async fn create_firewall(
        &self,
        ctx: &RequestContext,
        name: &str,
        description: &str,
    ) -> Result<Firewall> {
        self.check(ctx)?;
        let mut st = self.st();
        if st.firewalls.iter().any(|g| g.name == name) {
            // EC2's InvalidGroup.Duplicate.
            return Err(Error::conflict(format!(
                "The security group '{name}' already exists"
            )));
        }
        st.mutations.push(format!("create_firewall {name}"));
        let g = Firewall {
            id: name.into(),
            name: name.to_owned(),
            description: description.to_owned(),
            owner_id: Some(OWNER.into()),
            rules: vec![],
        };
        st.firewalls.push(g.clone());
        Ok(g)
    }
    async fn delete_firewall(&self, ctx: &RequestContext, id: &FirewallId) -> Result<()> {
        self.check(ctx)?;
        let mut st = self.st();
        let before = st.firewalls.len();
        st.firewalls.retain(|g| g.id != *id);
        if st.firewalls.len() == before {
            return Err(Error::not_found(format!(
                "The security group '{id}' does not exist"
            )));
        }
        st.mutations.push(format!("delete_firewall {id}"));
        Ok(())
    }
    async fn create_firewall_rule(
        &self,
        ctx: &RequestContext,
        id: &FirewallId,
        rule: &CreateFirewallRule,
    ) -> Result<Firewall> {
        self.check(ctx)?;
        let mut st = self.st();
        st.mutations.push(format!("create_firewall_rule {id}"));
        let g = st
            .firewalls
            .iter_mut()
            .find(|g| g.id == *id)
            .ok_or_else(|| Error::not_found(format!("The security group '{id}' does not exist")))?;
        let r = ec2_rule(rule);
        if g.rules.iter().any(|x| x.id == r.id) {
            return Err(Error::conflict("the specified rule already exists"));
        }
        g.rules.push(r);
        Ok(g.clone())
    }
    async fn delete_firewall_rule(
        &self,
        ctx: &RequestContext,
        id: &FirewallId,
        rule: &FirewallRuleId,
    ) -> Result<()> {
        self.check(ctx)?;
        let mut st = self.st();
        let g = st
            .firewalls
            .iter_mut()
            .find(|g| g.id == *id)
            .ok_or_else(|| Error::not_found(format!("The security group '{id}' does not exist")))?;
        let before = g.rules.len();
        g.rules.retain(|r| r.id != *rule);
        if g.rules.len() == before {
            return Err(Error::not_found("the specified rule does not exist"));
        }
        st.mutations
            .push(format!("delete_firewall_rule {id} {rule}"));
        Ok(())
    }
}

#[async_trait]
impl LoadBalancers for Fake {
    async fn load_balancers(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<LoadBalancer>> {
        self.check(ctx)?;
        Ok(self
            .st()
            .load_balancers
            .iter()
            .filter(|b| f.pass_id(&b.id))
            .cloned()
            .collect())
    }
    async fn create_load_balancer(
        &self,
        ctx: &RequestContext,
        req: &CreateLoadBalancer,
    ) -> Result<LoadBalancer> {
        self.check(ctx)?;
        if !["us", "eu"].contains(&req.realm_id.as_str()) {
            return Err(Error::validation(format!(
                "Invalid availability zone: [{}]",
                req.realm_id
            )));
        }
        let mut st = self.st();
        if st.load_balancers.iter().any(|b| b.id == req.name.as_str()) {
            return Err(Error::conflict(format!(
                "Load balancer name '{}' is already in use",
                req.name
            )));
        }
        st.mutations
            .push(format!("create_load_balancer {}", req.name));
        let b = LoadBalancer {
            id: req.name.as_str().into(),
            realms: vec![req.realm_id.clone()],
            listeners: vec![req.listener.clone()],
            instances: vec![],
            public_addresses: vec![format!(
                "{}-987654321.us-east-1.elb.amazonaws.com",
                req.name
            )],
            created_at: Some("Fri Nov 20 10:00:00 UTC 2026".into()),
        };
        st.load_balancers.push(b.clone());
        Ok(b)
    }
    async fn destroy_load_balancer(&self, ctx: &RequestContext, id: &LoadBalancerId) -> Result<()> {
        self.check(ctx)?;
        let mut st = self.st();
        let before = st.load_balancers.len();
        st.load_balancers.retain(|b| b.id != *id);
        if st.load_balancers.len() == before {
            return Err(Error::not_found(format!(
                "There is no load balancer '{id}'"
            )));
        }
        st.mutations.push(format!("destroy_load_balancer {id}"));
        Ok(())
    }
    async fn lb_register_instance(
        &self,
        ctx: &RequestContext,
        id: &LoadBalancerId,
        instance: &InstanceId,
    ) -> Result<LoadBalancer> {
        self.check(ctx)?;
        let mut st = self.st();
        if !st.instances.iter().any(|i| i.id == *instance) {
            return Err(Error::not_found(format!(
                "There is no instance '{instance}'"
            )));
        }
        st.mutations
            .push(format!("lb_register_instance {id} {instance}"));
        let b = st
            .load_balancers
            .iter_mut()
            .find(|b| b.id == *id)
            .ok_or_else(|| Error::not_found(format!("There is no load balancer '{id}'")))?;
        if !b.instances.contains(instance) {
            b.instances.push(instance.clone());
        }
        Ok(b.clone())
    }
    async fn lb_unregister_instance(
        &self,
        ctx: &RequestContext,
        id: &LoadBalancerId,
        instance: &InstanceId,
    ) -> Result<LoadBalancer> {
        self.check(ctx)?;
        let mut st = self.st();
        st.mutations
            .push(format!("lb_unregister_instance {id} {instance}"));
        let b = st
            .load_balancers
            .iter_mut()
            .find(|b| b.id == *id)
            .ok_or_else(|| Error::not_found(format!("There is no load balancer '{id}'")))?;
        if !b.instances.contains(instance) {
            return Err(Error::not_found(format!(
                "Instance '{instance}' is not registered with '{id}'"
            )));
        }
        b.instances.retain(|i| i != instance);
        Ok(b.clone())
    }
}

/// The AWS account that owns the `cloud` driver's security groups.
pub const OWNER: &str = "393485797142";

/// A rule as EC2 reports it, with the id the EC2 driver builds:
/// `owner~protocol~from~to~@group,<owner>,<name>,@address,<family>,<address>,<prefix>`.
pub fn ec2_rule(r: &CreateFirewallRule) -> FirewallRule {
    let mut sources = Vec::new();
    for (name, owner) in &r.groups {
        sources.push(FirewallSource::Group {
            name: name.clone(),
            owner: owner.clone(),
        });
    }
    for cidr in &r.addresses {
        let (address, prefix) = cidr.split_once('/').unwrap_or((cidr.as_str(), "32"));
        let family = if address.contains(':') {
            "ipv6"
        } else {
            "ipv4"
        };
        sources.push(FirewallSource::Address {
            family: family.into(),
            address: address.into(),
            prefix: prefix.into(),
        });
    }
    let parts: Vec<String> = sources
        .iter()
        .map(|s| match s {
            FirewallSource::Group { name, owner } => format!("@group,{owner},{name}"),
            FirewallSource::Address {
                family,
                address,
                prefix,
            } => format!("@address,{family},{address},{prefix}"),
        })
        .collect();
    FirewallRule {
        id: format!(
            "{OWNER}~{}~{}~{}~{}",
            r.protocol,
            r.port_from,
            r.port_to,
            parts.join(",")
        )
        .into(),
        allow_protocol: Some(r.protocol.clone()),
        port_from: Some(r.port_from.clone()),
        port_to: Some(r.port_to.clone()),
        sources,
        direction: Some("ingress".into()),
        rule_action: None,
        log_rule: None,
    }
}
impl Metrics for Fake {}
impl Networks for Fake {}

#[async_trait]
impl Driver for Fake {
    fn name(&self) -> &str {
        self.name
    }
    fn capabilities(&self) -> &CapabilitySet {
        &self.caps
    }
    fn features(&self) -> &[DriverFeature] {
        &self.feats
    }
    fn state_machine(&self) -> Option<&StateMachine> {
        (self.name != "bare").then_some(&self.machine)
    }
    async fn valid_credentials(&self, ctx: &RequestContext) -> Result<bool> {
        Ok(self.check(ctx).is_ok())
    }
}

/// The gateway with `fake` (default) and `bare`, plus a catalogue-only `ec2` entry.
pub fn gateway(fixed: Option<Credentials>) -> (Gateway, Arc<Fake>) {
    let fake = Arc::new(Fake::full());
    let mut registry = Registry::new();
    registry.add_driver(DriverInfo::new("fake", "Fake"), fake.clone());
    registry.add_driver(DriverInfo::new("bare", "Bare"), Arc::new(Fake::bare()));
    let mut ec2 = DriverInfo::new("ec2", "EC2");
    ec2.entrypoints = vec![(
        "ec2".into(),
        vec![("us-east-1".into(), "ec2.us-east-1.amazonaws.com".into())],
    )];
    registry.add_info(ec2);
    let gw = Gateway {
        registry,
        default_driver: "fake".into(),
        default_provider: None,
        fixed_credentials: fixed,
        hostname: "testhost".into(),
    };
    (gw, fake)
}

/// A gateway whose default driver is [`Fake::cloud`] (EC2-like: firewalls, load balancers).
pub fn cloud_gateway() -> (Gateway, Arc<Fake>) {
    let cloud = Arc::new(Fake::cloud());
    let mut registry = Registry::new();
    registry.add_driver(DriverInfo::new("cloud", "Cloud"), cloud.clone());
    registry.add_driver(DriverInfo::new("bare", "Bare"), Arc::new(Fake::bare()));
    let gw = Gateway {
        registry,
        default_driver: "cloud".into(),
        default_provider: None,
        fixed_credentials: None,
        hostname: "testhost".into(),
    };
    (gw, cloud)
}

pub async fn app(
    gw: Gateway,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .app_data(web::Data::new(gw))
            .wrap(deltacloud_frontend_api::MatrixParams)
            .configure(deltacloud_frontend_api::configure),
    )
    .await
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn ctype(&self) -> Option<&str> {
        self.header("content-type")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", self.body))
    }
    pub fn xml(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.body)
            .unwrap_or_else(|e| panic!("bad XML ({e}): {}", self.body))
    }
    /// Text of the root's first child element `name`.
    pub fn xml_text(&self, name: &str) -> Option<String> {
        let doc = self.xml();
        let n = doc
            .root_element()
            .children()
            .find(|c| c.has_tag_name(name))?;
        Some(n.text().unwrap_or_default().to_owned())
    }
    /// `id` attributes of the root's children named `name`.
    pub fn ids(&self, name: &str) -> Vec<String> {
        let doc = self.xml();
        doc.root_element()
            .children()
            .filter(|c| c.has_tag_name(name))
            .filter_map(|c| c.attribute("id").map(str::to_owned))
            .collect()
    }
}

pub fn basic(user: &str, pw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
    )
}

/// A request builder with a Host header.
pub fn req(method: actix_web::http::Method, uri: &str) -> test::TestRequest {
    test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(("Host", "localhost:3001"))
}

pub fn get(uri: &str) -> test::TestRequest {
    req(actix_web::http::Method::GET, uri)
}

/// Authenticated request with an Accept header.
pub fn authed(method: actix_web::http::Method, uri: &str, accept: &str) -> test::TestRequest {
    req(method, uri)
        .insert_header(("Accept", accept))
        .insert_header(("Authorization", basic(USER, PASSWORD)))
}

pub fn form(
    method: actix_web::http::Method,
    uri: &str,
    accept: &str,
    body: &str,
) -> test::TestRequest {
    authed(method, uri, accept)
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(body.to_owned())
}

pub async fn call<S, B>(app: &S, r: test::TestRequest) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let resp = test::call_service(app, r.to_request()).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = test::read_body(resp).await;
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
