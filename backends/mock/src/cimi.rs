//! The mock cloud's CIMI-only entities (`cimi.md` §5.13–§5.15): systems and their members,
//! system templates, network ports, network and network-port configurations and templates,
//! forwarding-group templates and address templates.
//!
//! The original mock served them straight from its seed JSON files and never changed them
//! through the calls we offer, so they are read-only here: the files are embedded at compile
//! time and parsed once when the driver opens ([`Catalogue::load`]); no database table holds
//! them and a request costs no I/O. References in the files are `http://cimi.example.org/...`
//! URLs; we keep the ids they name (their last path segment) and let the frontend address them.

use crate::MockDriver;
use async_trait::async_trait;
use deltacloud_core::driver::CimiEntities;
use deltacloud_core::{
    AddressTemplate, AddressTemplateId, Capability, CimiCommon, ComponentDescriptor,
    ComponentTemplate, Error, Filter, ForwardingGroupTemplate, ForwardingGroupTemplateId,
    NetworkConfiguration, NetworkConfigurationId, NetworkPort, NetworkPortConfiguration,
    NetworkPortConfigurationId, NetworkPortId, NetworkPortTemplate, NetworkPortTemplateId,
    NetworkTemplate, NetworkTemplateId, RequestContext, Result, System, SystemComponent,
    SystemComponentKind, SystemId, SystemTemplate, SystemTemplateId,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What the mock declares on top of its Deltacloud capabilities.
pub const CAPABILITIES: &[Capability] = &[
    Capability::Systems,
    Capability::SystemTemplates,
    Capability::NetworkPorts,
    Capability::NetworkConfigurations,
    Capability::NetworkTemplates,
    Capability::NetworkPortConfigurations,
    Capability::NetworkPortTemplates,
    Capability::ForwardingGroupTemplates,
    Capability::AddressTemplates,
];

macro_rules! cimi_files {
    ($($dir:literal / $file:literal),* $(,)?) => {
        /// Every embedded CIMI seed file as `(directory, file name, contents)`, in name order.
        const FILES: &[(&str, &str, &str)] = &[
            $(($dir, $file, include_str!(concat!("../../../fixtures/mock/cimi/", $dir, "/", $file)))),*
        ];
    };
}

cimi_files!(
    "address_template" / "addr_template1.json",
    "address_template" / "addr_template2.json",
    "forwarding_group_template" / "template1.json",
    "network_configuration" / "network_config1.json",
    "network_configuration" / "network_config2.json",
    "network_port" / "network_port1.json",
    "network_port" / "network_port2.json",
    "network_port" / "network_port3.json",
    "network_port" / "network_port4.json",
    "network_port_configuration" / "portconfig1.json",
    "network_port_configuration" / "portconfig2.json",
    "network_port_template" / "template1.json",
    "network_port_template" / "template2.json",
    "network_template" / "template1.json",
    "network_template" / "template2.json",
    "system" / "system1.json",
    "system" / "system2.json",
    "system_address" / "sysaddress1.json",
    "system_forwarding_group" / "sysforwardinggroup1.json",
    "system_machine" / "sys_machine_1.json",
    "system_network" / "sysnet1.json",
    "system_template" / "template1.json",
    "system_volume" / "sys_volume_1.json",
);

/// A reference as the seed files write it.
#[derive(Debug, Default, Deserialize)]
struct Ref {
    #[serde(default)]
    href: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Op {
    rel: String,
}

/// Every attribute any of the seed files uses; each entity takes the ones it has.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Raw {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    operations: Vec<Op>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    network_type: Option<String>,
    #[serde(default)]
    mtu: Option<u32>,
    #[serde(default)]
    class_of_service: Option<String>,
    #[serde(default)]
    port_type: Option<String>,
    #[serde(default)]
    network: Option<Ref>,
    /// A list of references in a forwarding-group template, one reference in a system.
    #[serde(default)]
    networks: Option<Value>,
    #[serde(default)]
    network_config: Option<Ref>,
    #[serde(default)]
    network_port_config: Option<Ref>,
    #[serde(default)]
    forwarding_group: Option<Ref>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    allocation: Option<String>,
    #[serde(default)]
    default_gateway: Option<String>,
    #[serde(default)]
    dns: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    mask: Option<String>,
    // System sub-collections (their presence is what matters).
    #[serde(default)]
    systems: Option<Ref>,
    #[serde(default)]
    machines: Option<Ref>,
    #[serde(default)]
    credentials: Option<Ref>,
    #[serde(default)]
    volumes: Option<Ref>,
    #[serde(default)]
    network_ports: Option<Ref>,
    #[serde(default)]
    addresses: Option<Ref>,
    #[serde(default)]
    forwarding_groups: Option<Ref>,
    // System members: the linked resource (`forwarding_group` is spelt in snake case there).
    #[serde(default)]
    machine: Option<Ref>,
    #[serde(default)]
    volume: Option<Ref>,
    #[serde(default)]
    address: Option<Ref>,
    #[serde(default, rename = "forwarding_group")]
    forwarding_group_member: Option<Ref>,
    #[serde(default)]
    component_descriptors: Vec<RawDescriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, String>,
    #[serde(rename = "type")]
    resource_type: String,
    #[serde(default)]
    quantity: Option<u32>,
    /// The `<x>Template` member, whichever type it is.
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// The last path segment of a seed URL: the id it names.
fn last_segment(href: &str) -> &str {
    href.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(href)
}

fn id_of(r: Option<&Ref>) -> Option<String> {
    r.and_then(|r| r.href.as_deref())
        .map(|h| last_segment(h).to_owned())
}

impl Raw {
    fn common(&self) -> CimiCommon {
        CimiCommon {
            name: self.name.clone(),
            description: self.description.clone(),
            created: self.created.clone(),
            properties: BTreeMap::new(),
            operations: self.operations.iter().map(|o| o.rel.clone()).collect(),
        }
    }

    fn own_id(&self) -> String {
        last_segment(&self.id).to_owned()
    }
}

/// A component descriptor's template: a reference (`{"href"}` alone) or inline references.
fn descriptor(d: RawDescriptor) -> ComponentDescriptor {
    let template = d
        .rest
        .iter()
        .find(|(k, _)| k.ends_with("Template"))
        .and_then(|(_, v)| v.as_object())
        .map(|t| {
            let refs: BTreeMap<String, String> = t
                .iter()
                .filter_map(|(k, v)| {
                    let h = v.as_object()?.get("href")?.as_str()?;
                    Some((k.clone(), h.to_owned()))
                })
                .collect();
            match t.get("href").and_then(Value::as_str) {
                Some(h) if t.len() == 1 => ComponentTemplate::Reference(h.to_owned()),
                _ => ComponentTemplate::Inline(refs),
            }
        });
    ComponentDescriptor {
        name: d.name,
        description: d.description,
        properties: d.properties,
        resource_type: last_segment(&d.resource_type).to_owned(),
        template,
        quantity: d.quantity,
    }
}

/// The parsed seed entities, in file-name order.
#[derive(Debug, Default)]
pub struct Catalogue {
    systems: Vec<System>,
    components: Vec<SystemComponent>,
    system_templates: Vec<SystemTemplate>,
    network_ports: Vec<NetworkPort>,
    network_configurations: Vec<NetworkConfiguration>,
    network_templates: Vec<NetworkTemplate>,
    network_port_configurations: Vec<NetworkPortConfiguration>,
    network_port_templates: Vec<NetworkPortTemplate>,
    forwarding_group_templates: Vec<ForwardingGroupTemplate>,
    address_templates: Vec<AddressTemplate>,
}

impl Catalogue {
    /// Parse the embedded files. They are part of the build, so a failure is a packaging bug;
    /// it is reported (naming the file) rather than panicking.
    pub fn load() -> Result<Self> {
        let mut c = Self::default();
        for (dir, file, text) in FILES {
            let raw: Raw = serde_json::from_str(text).map_err(|e| {
                Error::internal(format!("Cannot read the CIMI seed file {dir}/{file}"))
                    .with_cause(e)
            })?;
            c.add(dir, raw)?;
        }
        Ok(c)
    }

    fn add(&mut self, dir: &str, r: Raw) -> Result<()> {
        let common = r.common();
        let id = r.own_id();
        match dir {
            "address_template" => self.address_templates.push(AddressTemplate {
                id: AddressTemplateId::new(id),
                network: id_of(r.network.as_ref()).map(Into::into),
                ip: r.ip,
                hostname: r.hostname,
                allocation: r.allocation,
                default_gateway: r.default_gateway,
                dns: r.dns,
                protocol: r.protocol,
                mask: r.mask,
                common,
            }),
            "forwarding_group_template" => {
                self.forwarding_group_templates
                    .push(ForwardingGroupTemplate {
                        id: ForwardingGroupTemplateId::new(id),
                        networks: r
                            .networks
                            .as_ref()
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|n| n.get("href")?.as_str())
                            .map(|h| last_segment(h).into())
                            .collect(),
                        common,
                    });
            }
            "network_configuration" => self.network_configurations.push(NetworkConfiguration {
                id: NetworkConfigurationId::new(id),
                network_type: r.network_type,
                mtu: r.mtu,
                class_of_service: r.class_of_service,
                common,
            }),
            "network_port" => self.network_ports.push(NetworkPort {
                id: NetworkPortId::new(id),
                state: r.state,
                network: id_of(r.network.as_ref()).map(Into::into),
                port_type: r.port_type,
                class_of_service: r.class_of_service,
                common,
            }),
            "network_port_configuration" => {
                self.network_port_configurations
                    .push(NetworkPortConfiguration {
                        id: NetworkPortConfigurationId::new(id),
                        port_type: r.port_type,
                        class_of_service: r.class_of_service,
                        common,
                    });
            }
            "network_port_template" => self.network_port_templates.push(NetworkPortTemplate {
                id: NetworkPortTemplateId::new(id),
                network: id_of(r.network.as_ref()).map(Into::into),
                network_port_config: id_of(r.network_port_config.as_ref()).map(Into::into),
                common,
            }),
            "network_template" => self.network_templates.push(NetworkTemplate {
                id: NetworkTemplateId::new(id),
                network_config: id_of(r.network_config.as_ref()).map(Into::into),
                forwarding_group: id_of(r.forwarding_group.as_ref()).map(Into::into),
                common,
            }),
            "system" => {
                use SystemComponentKind as K;
                let present = [
                    (K::System, r.systems.is_some()),
                    (K::Machine, r.machines.is_some()),
                    (K::Credential, r.credentials.is_some()),
                    (K::Volume, r.volumes.is_some()),
                    (K::Network, r.networks.is_some()),
                    (K::NetworkPort, r.network_ports.is_some()),
                    (K::Address, r.addresses.is_some()),
                    (K::ForwardingGroup, r.forwarding_groups.is_some()),
                ];
                self.systems.push(System {
                    id: SystemId::new(id),
                    state: r.state.clone(),
                    collections: present
                        .iter()
                        .filter(|(_, p)| *p)
                        .map(|(k, _)| *k)
                        .collect(),
                    common,
                });
            }
            "system_template" => self.system_templates.push(SystemTemplate {
                id: SystemTemplateId::new(id),
                component_descriptors: r
                    .component_descriptors
                    .into_iter()
                    .map(descriptor)
                    .collect(),
                common,
            }),
            member => {
                let (kind, target) = match member {
                    "system_machine" => (SystemComponentKind::Machine, &r.machine),
                    "system_volume" => (SystemComponentKind::Volume, &r.volume),
                    "system_network" => (SystemComponentKind::Network, &r.network),
                    "system_address" => (SystemComponentKind::Address, &r.address),
                    "system_forwarding_group" => (
                        SystemComponentKind::ForwardingGroup,
                        &r.forwarding_group_member,
                    ),
                    other => {
                        return Err(Error::internal(format!(
                            "Unknown CIMI seed directory '{other}'"
                        )));
                    }
                };
                // `http://cimi.example.org/systems/<system>/<kind>/<id>`
                let system =
                    r.id.split("/systems/")
                        .nth(1)
                        .and_then(|rest| rest.split('/').next())
                        .unwrap_or_default()
                        .to_owned();
                let target = id_of(target.as_ref()).ok_or_else(|| {
                    Error::internal(format!("CIMI seed member {} links nothing", r.id))
                })?;
                self.components.push(SystemComponent {
                    id,
                    system: SystemId::new(system),
                    kind,
                    target,
                    common,
                });
            }
        }
        Ok(())
    }
}

fn pick<T: Clone>(all: &[T], f: &Filter, id: impl Fn(&T) -> &str) -> Vec<T> {
    all.iter().filter(|e| f.pass_id(id(e))).cloned().collect()
}

/// Every call checks the credentials, like the rest of the mock, then answers from memory.
#[async_trait]
impl CimiEntities for MockDriver {
    async fn systems(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<System>> {
        self.authenticate(ctx)?;
        Ok(pick(&self.cimi.systems, f, |e| &e.id))
    }

    async fn system_components(
        &self,
        ctx: &RequestContext,
        system: &SystemId,
    ) -> Result<Vec<SystemComponent>> {
        self.authenticate(ctx)?;
        Ok(self
            .cimi
            .components
            .iter()
            .filter(|c| c.system == *system)
            .cloned()
            .collect())
    }

    async fn system_templates(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<SystemTemplate>> {
        self.authenticate(ctx)?;
        Ok(pick(&self.cimi.system_templates, f, |e| &e.id))
    }

    async fn network_ports(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<NetworkPort>> {
        self.authenticate(ctx)?;
        Ok(pick(&self.cimi.network_ports, f, |e| &e.id))
    }

    async fn network_configurations(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<NetworkConfiguration>> {
        self.authenticate(ctx)?;
        Ok(pick(&self.cimi.network_configurations, f, |e| &e.id))
    }

    async fn network_templates(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<NetworkTemplate>> {
        self.authenticate(ctx)?;
        Ok(pick(&self.cimi.network_templates, f, |e| &e.id))
    }

    async fn network_port_configurations(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<NetworkPortConfiguration>> {
        self.authenticate(ctx)?;
        Ok(pick(&self.cimi.network_port_configurations, f, |e| &e.id))
    }

    async fn network_port_templates(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<NetworkPortTemplate>> {
        self.authenticate(ctx)?;
        Ok(pick(&self.cimi.network_port_templates, f, |e| &e.id))
    }

    async fn forwarding_group_templates(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<ForwardingGroupTemplate>> {
        self.authenticate(ctx)?;
        Ok(pick(&self.cimi.forwarding_group_templates, f, |e| &e.id))
    }

    async fn address_templates(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<AddressTemplate>> {
        self.authenticate(ctx)?;
        Ok(pick(&self.cimi.address_templates, f, |e| &e.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{Cloud, anonymous, ctx};
    use deltacloud_core::{Driver, ErrorKind};

    #[test]
    fn every_seed_file_parses_into_its_entity() {
        let c = Catalogue::load().expect("catalogue");
        let ids = |v: Vec<&str>| v.join(",");
        assert_eq!(
            ids(c.systems.iter().map(|s| s.id.as_str()).collect()),
            "system1,system2"
        );
        assert_eq!(
            c.systems[0].collections,
            [
                SystemComponentKind::Machine,
                SystemComponentKind::Credential,
                SystemComponentKind::Volume,
                SystemComponentKind::Network,
                SystemComponentKind::NetworkPort,
                SystemComponentKind::Address,
                SystemComponentKind::ForwardingGroup,
            ]
        );
        assert_eq!(c.systems[1].collections, [SystemComponentKind::Machine]);
        assert_eq!(c.systems[0].state.as_deref(), Some("STOPPED"));
        assert_eq!(
            c.systems[0].common.operations,
            [
                "http://schemas.dmtf.org/cimi/1/action/start",
                "http://schemas.dmtf.org/cimi/1/action/export",
                "edit",
                "delete"
            ]
        );
        assert_eq!(c.components.len(), 5);
        let m = c
            .components
            .iter()
            .find(|m| m.kind == SystemComponentKind::Machine)
            .expect("machine member");
        assert_eq!(
            (m.id.as_str(), m.system.as_str(), m.target.as_str()),
            ("sys_machine_1", "system1", "inst0")
        );
        let fg = c
            .components
            .iter()
            .find(|m| m.kind == SystemComponentKind::ForwardingGroup)
            .expect("forwarding group member");
        assert_eq!(fg.target, "group1");
        assert_eq!(c.network_ports.len(), 4);
        assert_eq!(c.network_ports[2].network.as_deref(), Some("network2"));
        assert_eq!(c.network_configurations[0].mtu, Some(1500));
        assert_eq!(
            c.network_configurations[1].class_of_service.as_deref(),
            Some("GOLD")
        );
        assert_eq!(
            c.network_port_templates[1].network_port_config.as_deref(),
            Some("portconfig2")
        );
        assert_eq!(
            c.network_templates[0].forwarding_group.as_deref(),
            Some("group1")
        );
        assert_eq!(c.forwarding_group_templates[0].id, "template1");
        assert_eq!(c.forwarding_group_templates[0].networks.len(), 2);
        assert_eq!(c.address_templates[1].hostname.as_deref(), Some("foo.bar"));
        let t = &c.system_templates[0];
        assert_eq!(t.component_descriptors.len(), 3);
        assert_eq!(t.component_descriptors[0].resource_type, "Machine");
        assert_eq!(t.component_descriptors[0].quantity, Some(2));
        assert!(matches!(
            &t.component_descriptors[0].template,
            Some(ComponentTemplate::Inline(refs)) if refs.get("machineConfig").map(String::as_str) == Some("http://example.com/configs/m1-small")
        ));
        assert_eq!(
            t.component_descriptors[2].template,
            Some(ComponentTemplate::Reference(
                "http://example.com/machine_templates/1".into()
            ))
        );
    }

    #[tokio::test]
    async fn the_driver_serves_them_by_id_and_only_to_its_user() {
        let c = Cloud::new();
        let e = c.d.cimi_entities();
        let all = e.network_ports(&ctx(), &Filter::default()).await.unwrap();
        assert_eq!(all.len(), 4);
        let one = e
            .network_ports(&ctx(), &Filter::by_id("network_port3"))
            .await
            .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].common.name, "network_port3");
        assert!(
            e.address_templates(&ctx(), &Filter::by_id("nope"))
                .await
                .unwrap()
                .is_empty()
        );
        let members = e
            .system_components(&ctx(), &"system2".into())
            .await
            .unwrap();
        assert!(members.is_empty());
        assert_eq!(
            e.systems(&anonymous(), &Filter::default())
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::AuthRequired
        );
        for cap in CAPABILITIES {
            assert!(c.d.capabilities().has(*cap), "{cap} declared");
        }
    }
}
