//! Load balancers over classic Elastic Load Balancing (Query API 2012-06-01, `drivers.md`
//! §5.2): a load balancer's id is its name, its realms its availability zones, its public
//! address its DNS name. Calls go through the crate's Query API client (SigV4 for service
//! `elasticloadbalancing`, the same fault classification and read retries as EC2's).

use crate::Ec2Driver;
use crate::client::{Call, ELB, Params};
use crate::endpoint;
use async_trait::async_trait;
use deltacloud_core::driver::LoadBalancers;
use deltacloud_core::{
    Capability, CreateLoadBalancer, Error, ErrorKind, Filter, InstanceId, Listener, LoadBalancer,
    LoadBalancerId, RealmId, RequestContext, Result,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The load balancer capabilities this module serves.
pub(crate) const CAPABILITIES: &[Capability] = &[
    Capability::LoadBalancers,
    Capability::CreateLoadBalancer,
    Capability::DestroyLoadBalancer,
    Capability::LbRegisterInstance,
    Capability::LbUnregisterInstance,
];

/// ELB's `<xxx><member>…</member></xxx>` list.
#[derive(Debug, Deserialize)]
pub struct Members<T> {
    #[serde(default = "Vec::new")]
    pub member: Vec<T>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Self { member: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeLoadBalancersResponse {
    pub describe_load_balancers_result: DescribeLoadBalancersResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeLoadBalancersResult {
    #[serde(default)]
    pub load_balancer_descriptions: Members<Description>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Description {
    pub load_balancer_name: String,
    #[serde(rename = "DNSName", default)]
    pub dns_name: Option<String>,
    #[serde(default)]
    pub created_time: Option<String>,
    #[serde(default)]
    pub listener_descriptions: Members<ListenerDescription>,
    #[serde(default)]
    pub instances: Members<InstanceRef>,
    #[serde(default)]
    pub availability_zones: Members<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListenerDescription {
    pub listener: WireListener,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireListener {
    pub protocol: String,
    pub load_balancer_port: String,
    pub instance_port: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceRef {
    pub instance_id: String,
}

/// Any acknowledging answer (create, delete, register): only its success matters.
#[derive(Debug, Deserialize)]
pub struct Ack {}

impl From<Description> for LoadBalancer {
    fn from(d: Description) -> Self {
        Self {
            id: LoadBalancerId::new(d.load_balancer_name),
            realms: d
                .availability_zones
                .member
                .into_iter()
                .map(RealmId::new)
                .collect(),
            listeners: d
                .listener_descriptions
                .member
                .into_iter()
                .map(|l| Listener {
                    protocol: l.listener.protocol,
                    load_balancer_port: l.listener.load_balancer_port,
                    instance_port: l.listener.instance_port,
                })
                .collect(),
            instances: d
                .instances
                .member
                .into_iter()
                .map(|i| InstanceId::new(i.instance_id))
                .collect(),
            public_addresses: d.dns_name.into_iter().filter(|n| !n.is_empty()).collect(),
            created_at: d.created_time,
        }
    }
}

impl Ec2Driver {
    async fn elb<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        action: &str,
        params: Params,
        kind: Call,
    ) -> Result<T> {
        let creds = ctx.credentials()?;
        let ep = endpoint::resolve_other(self.flavor(), ctx.provider.as_deref(), "elb")?;
        self.client
            .call_service(ELB, &ep, creds, action, params, kind)
            .await
    }

    /// One load balancer by name (ELB answers `LoadBalancerNotFound` for a missing one).
    async fn load_balancer(
        &self,
        ctx: &RequestContext,
        id: &LoadBalancerId,
    ) -> Result<LoadBalancer> {
        self.load_balancers(ctx, &Filter::by_id(id.as_str()))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(format!("Load balancer '{id}' not found")))
    }

    async fn lb_members(
        &self,
        ctx: &RequestContext,
        action: &str,
        id: &LoadBalancerId,
        instance: &InstanceId,
    ) -> Result<LoadBalancer> {
        let _: Ack = self
            .elb(
                ctx,
                action,
                Params::new()
                    .set("LoadBalancerName", id.as_str())
                    .set("Instances.member.1.InstanceId", instance.as_str()),
                Call::Write,
            )
            .await?;
        self.load_balancer(ctx, id).await
    }
}

#[async_trait]
impl LoadBalancers for Ec2Driver {
    async fn load_balancers(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<LoadBalancer>> {
        let ids: Vec<String> = f.id.clone().unwrap_or_default();
        let r: Result<DescribeLoadBalancersResponse> = self
            .elb(
                ctx,
                "DescribeLoadBalancers",
                Params::new().list("LoadBalancerNames.member", &ids),
                Call::Read,
            )
            .await;
        let r = match r {
            Ok(r) => r,
            // A name that does not exist is an empty answer for a list, as for the other
            // collections.
            Err(e) if !ids.is_empty() && e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(r.describe_load_balancers_result
            .load_balancer_descriptions
            .member
            .into_iter()
            .map(LoadBalancer::from)
            .filter(|lb| f.pass_id(lb.id.as_str()))
            .collect())
    }

    async fn create_load_balancer(
        &self,
        ctx: &RequestContext,
        req: &CreateLoadBalancer,
    ) -> Result<LoadBalancer> {
        let _: Ack = self
            .elb(
                ctx,
                "CreateLoadBalancer",
                Params::new()
                    .set("LoadBalancerName", req.name.as_str())
                    .set("AvailabilityZones.member.1", req.realm_id.as_str())
                    .set(
                        "Listeners.member.1.Protocol",
                        req.listener.protocol.as_str(),
                    )
                    .set(
                        "Listeners.member.1.LoadBalancerPort",
                        req.listener.load_balancer_port.as_str(),
                    )
                    .set(
                        "Listeners.member.1.InstancePort",
                        req.listener.instance_port.as_str(),
                    ),
                Call::Write,
            )
            .await?;
        self.load_balancer(ctx, &LoadBalancerId::new(req.name.clone()))
            .await
    }

    async fn destroy_load_balancer(&self, ctx: &RequestContext, id: &LoadBalancerId) -> Result<()> {
        let _: Ack = self
            .elb(
                ctx,
                "DeleteLoadBalancer",
                Params::new().set("LoadBalancerName", id.as_str()),
                Call::Write,
            )
            .await?;
        Ok(())
    }

    async fn lb_register_instance(
        &self,
        ctx: &RequestContext,
        id: &LoadBalancerId,
        instance: &InstanceId,
    ) -> Result<LoadBalancer> {
        self.lb_members(ctx, "RegisterInstancesWithLoadBalancer", id, instance)
            .await
    }

    async fn lb_unregister_instance(
        &self,
        ctx: &RequestContext,
        id: &LoadBalancerId,
        instance: &InstanceId,
    ) -> Result<LoadBalancer> {
        self.lb_members(ctx, "DeregisterInstancesFromLoadBalancer", id, instance)
            .await
    }
}
