//! Entities that only the DMTF CIMI model has and that some drivers hold themselves (the
//! original's mock served them from seed files): systems and system templates, network ports,
//! network and network-port configurations and templates, forwarding-group templates and
//! address templates (`cimi.md` §5.13–§5.15).
//!
//! Plain data, like [`crate::model`]: references to other resources are typed ids, never URLs,
//! so the frontend decides how to address them. Timestamps are the driver's strings (the
//! frontend normalizes them, as it does for instances and images).

use crate::ids::*;
use std::collections::BTreeMap;

/// What every CIMI entity has besides its id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CimiCommon {
    pub name: String,
    pub description: Option<String>,
    /// Creation time as the driver knows it (RFC 3339 or Ruby's `Fri Mar 16 17:06:41 EET 2012`).
    pub created: Option<String>,
    pub properties: BTreeMap<String, String>,
    /// The operations the driver says the entity supports, as CIMI `rel` values (`edit`,
    /// `delete`, `http://schemas.dmtf.org/cimi/1/action/start`, …). Frontends list only the
    /// ones they can actually perform.
    pub operations: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfiguration {
    pub id: NetworkConfigurationId,
    pub common: CimiCommon,
    pub network_type: Option<String>,
    pub mtu: Option<u32>,
    pub class_of_service: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkTemplate {
    pub id: NetworkTemplateId,
    pub common: CimiCommon,
    pub network_config: Option<NetworkConfigurationId>,
    /// A forwarding group is a Deltacloud network.
    pub forwarding_group: Option<NetworkId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPort {
    pub id: NetworkPortId,
    pub common: CimiCommon,
    pub state: Option<String>,
    /// A CIMI network is a Deltacloud subnet.
    pub network: Option<SubnetId>,
    pub port_type: Option<String>,
    pub class_of_service: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPortConfiguration {
    pub id: NetworkPortConfigurationId,
    pub common: CimiCommon,
    pub port_type: Option<String>,
    pub class_of_service: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPortTemplate {
    pub id: NetworkPortTemplateId,
    pub common: CimiCommon,
    pub network: Option<SubnetId>,
    pub network_port_config: Option<NetworkPortConfigurationId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardingGroupTemplate {
    pub id: ForwardingGroupTemplateId,
    pub common: CimiCommon,
    pub networks: Vec<SubnetId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressTemplate {
    pub id: AddressTemplateId,
    pub common: CimiCommon,
    pub ip: Option<String>,
    pub hostname: Option<String>,
    pub allocation: Option<String>,
    pub default_gateway: Option<String>,
    pub dns: Option<String>,
    pub protocol: Option<String>,
    pub mask: Option<String>,
    pub network: Option<SubnetId>,
}

/// The kinds of resources a system groups, each one a sub-collection of the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SystemComponentKind {
    System,
    Machine,
    Credential,
    Volume,
    Network,
    NetworkPort,
    Address,
    ForwardingGroup,
}

impl SystemComponentKind {
    /// In the order CIMI lists a system's sub-collections.
    pub const ALL: &'static [Self] = &[
        Self::System,
        Self::Machine,
        Self::Credential,
        Self::Volume,
        Self::Network,
        Self::NetworkPort,
        Self::Address,
        Self::ForwardingGroup,
    ];
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct System {
    pub id: SystemId,
    pub common: CimiCommon,
    pub state: Option<String>,
    /// The sub-collections this system has (in [`SystemComponentKind::ALL`] order).
    pub collections: Vec<SystemComponentKind>,
}

/// One member of a system: a link from the system to a resource of `kind`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemComponent {
    /// The link's own id, unique within the system and kind.
    pub id: String,
    pub system: SystemId,
    pub kind: SystemComponentKind,
    pub common: CimiCommon,
    /// The backend id of the linked resource (`inst0`, `vol1`, …).
    pub target: String,
}

/// How a component descriptor names its template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComponentTemplate {
    /// A reference, as the driver spells it (it may point outside this gateway).
    Reference(String),
    /// An inline template: attribute name ⇒ referenced href (`machineConfig` ⇒ …).
    Inline(BTreeMap<String, String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentDescriptor {
    pub name: String,
    pub description: Option<String>,
    pub properties: BTreeMap<String, String>,
    /// The component's resource type name (`Machine`, `Volume`, …).
    pub resource_type: String,
    pub template: Option<ComponentTemplate>,
    /// How many copies; `None` means one.
    pub quantity: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemTemplate {
    pub id: SystemTemplateId,
    pub common: CimiCommon,
    pub component_descriptors: Vec<ComponentDescriptor>,
}

#[cfg(test)]
mod tests {
    use crate::driver::{CimiEntities, NoCimiEntities};
    use crate::{Capability, ErrorKind, Filter, RequestContext};

    #[tokio::test]
    async fn a_driver_without_cimi_entities_answers_not_supported_naming_the_capability() {
        let (n, c, f) = (NoCimiEntities, RequestContext::default(), Filter::default());
        let checks = [
            (n.systems(&c, &f).await.err(), Capability::Systems),
            (
                n.system_components(&c, &"s".into()).await.err(),
                Capability::Systems,
            ),
            (
                n.system_templates(&c, &f).await.err(),
                Capability::SystemTemplates,
            ),
            (
                n.network_ports(&c, &f).await.err(),
                Capability::NetworkPorts,
            ),
            (
                n.network_configurations(&c, &f).await.err(),
                Capability::NetworkConfigurations,
            ),
            (
                n.network_templates(&c, &f).await.err(),
                Capability::NetworkTemplates,
            ),
            (
                n.network_port_configurations(&c, &f).await.err(),
                Capability::NetworkPortConfigurations,
            ),
            (
                n.network_port_templates(&c, &f).await.err(),
                Capability::NetworkPortTemplates,
            ),
            (
                n.forwarding_group_templates(&c, &f).await.err(),
                Capability::ForwardingGroupTemplates,
            ),
            (
                n.address_templates(&c, &f).await.err(),
                Capability::AddressTemplates,
            ),
        ];
        for (err, cap) in checks {
            let err = err.unwrap_or_else(|| panic!("{cap} answered Ok"));
            assert_eq!(err.kind(), ErrorKind::NotSupported, "{cap}");
            assert!(err.to_string().contains(cap.as_str()), "{cap}: {err}");
        }
    }

    #[test]
    fn cimi_capability_names_are_the_collection_names() {
        let names: Vec<&str> = [
            Capability::Systems,
            Capability::SystemTemplates,
            Capability::NetworkPorts,
            Capability::ForwardingGroupTemplates,
            Capability::AddressTemplates,
        ]
        .iter()
        .map(|c| c.as_str())
        .collect();
        assert_eq!(
            names,
            [
                "systems",
                "system_templates",
                "network_ports",
                "forwarding_group_templates",
                "address_templates"
            ]
        );
    }
}
