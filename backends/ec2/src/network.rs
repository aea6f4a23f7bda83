//! Elastic IP addresses and security groups (firewalls).
//!
//! Firewall ids are group names (what classic EC2 and Eucalyptus key groups by, and what the
//! original used); an id of the form `sg-…` is taken as a group id instead, so VPC groups can be
//! addressed too. Rule ids follow `deltacloud-api.md` §8.11:
//! `owner~protocol~from~to~@group,OWNER,NAME,@address,ipv4,10.1.2.3,24`.

use crate::client::{Call, Params};
use crate::wire::{self, nonempty};
use crate::{Ec2Driver, empty_if_not_found};
use async_trait::async_trait;
use deltacloud_core::driver::{Addresses, Firewalls};
use deltacloud_core::{
    Address, AddressId, CreateFirewallRule, Error, Filter, Firewall, FirewallId, FirewallRule,
    FirewallRuleId, FirewallSource, InstanceId, RequestContext, Result,
};

/// `GroupId` for `sg-…` ids, else `GroupName`.
fn group_param(id: &str) -> &'static str {
    if id.starts_with("sg-") {
        "GroupId"
    } else {
        "GroupName"
    }
}

fn rule_id(
    owner: &str,
    protocol: &str,
    from: &str,
    to: &str,
    sources: &[FirewallSource],
) -> String {
    let mut parts = Vec::new();
    for s in sources {
        match s {
            FirewallSource::Group { name, owner } => {
                parts.push(format!("@group,{owner},{name}"));
            }
            FirewallSource::Address {
                family,
                address,
                prefix,
            } => parts.push(format!("@address,{family},{address},{prefix}")),
        }
    }
    format!("{owner}~{protocol}~{from}~{to}~{}", parts.join(","))
}

/// A parsed rule id: what `RevokeSecurityGroupIngress` needs.
#[derive(Debug, PartialEq, Eq)]
struct ParsedRule {
    protocol: String,
    from: String,
    to: String,
    sources: Vec<FirewallSource>,
}

fn parse_rule_id(id: &str) -> Result<ParsedRule> {
    let bad = || Error::not_found(format!("No firewall rule '{id}'"));
    let mut it = id.splitn(5, '~');
    let (Some(_owner), Some(protocol), Some(from), Some(to), Some(srcs)) =
        (it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err(bad());
    };
    let mut sources = Vec::new();
    for chunk in srcs.split('@').filter(|c| !c.is_empty()) {
        let fields: Vec<&str> = chunk.trim_end_matches(',').split(',').collect();
        match fields.as_slice() {
            ["group", owner, name] => sources.push(FirewallSource::Group {
                name: (*name).to_owned(),
                owner: (*owner).to_owned(),
            }),
            ["address", family, address, prefix] => sources.push(FirewallSource::Address {
                family: (*family).to_owned(),
                address: (*address).to_owned(),
                prefix: (*prefix).to_owned(),
            }),
            _ => return Err(bad()),
        }
    }
    if sources.is_empty() {
        return Err(bad());
    }
    Ok(ParsedRule {
        protocol: protocol.to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
        sources,
    })
}

fn cidr_source(cidr: &str) -> FirewallSource {
    let (address, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
    FirewallSource::Address {
        family: if address.contains(':') {
            "ipv6"
        } else {
            "ipv4"
        }
        .to_owned(),
        address: address.to_owned(),
        prefix: prefix.to_owned(),
    }
}

fn convert_group(g: wire::SecurityGroup) -> Firewall {
    let owner = nonempty(g.owner_id.as_ref()).unwrap_or_default();
    let rules = g
        .ip_permissions
        .item
        .iter()
        .map(|p| {
            let protocol = nonempty(p.ip_protocol.as_ref()).unwrap_or_else(|| "-1".into());
            let from = nonempty(p.from_port.as_ref()).unwrap_or_default();
            let to = nonempty(p.to_port.as_ref()).unwrap_or_default();
            let mut sources: Vec<FirewallSource> = p
                .groups
                .item
                .iter()
                .map(|u| FirewallSource::Group {
                    name: nonempty(u.group_name.as_ref())
                        .or_else(|| nonempty(u.group_id.as_ref()))
                        .unwrap_or_default(),
                    owner: nonempty(u.user_id.as_ref()).unwrap_or_else(|| owner.clone()),
                })
                .collect();
            sources.extend(p.ip_ranges.item.iter().map(|r| cidr_source(&r.cidr_ip)));
            FirewallRule {
                id: FirewallRuleId::new(rule_id(&owner, &protocol, &from, &to, &sources)),
                allow_protocol: Some(protocol),
                port_from: Some(from),
                port_to: Some(to),
                sources,
                direction: Some("ingress".to_owned()),
                rule_action: None,
                log_rule: None,
            }
        })
        .collect();
    Firewall {
        id: FirewallId::new(g.group_name.clone()),
        name: g.group_name,
        description: nonempty(g.group_description.as_ref()).unwrap_or_default(),
        owner_id: Some(owner).filter(|o| !o.is_empty()),
        rules,
    }
}

/// `IpPermissions.1.*` for one rule.
fn permission_params(
    mut p: Params,
    protocol: &str,
    from: &str,
    to: &str,
    sources: &[FirewallSource],
) -> Params {
    p = p
        .set("IpPermissions.1.IpProtocol", protocol)
        .set("IpPermissions.1.FromPort", from)
        .set("IpPermissions.1.ToPort", to);
    let (mut g, mut r) = (0, 0);
    for s in sources {
        match s {
            FirewallSource::Group { name, owner } => {
                g += 1;
                p = p.set(
                    &format!("IpPermissions.1.Groups.{g}.{}", group_param(name)),
                    name.as_str(),
                );
                if !owner.is_empty() {
                    p = p.set(
                        &format!("IpPermissions.1.Groups.{g}.UserId"),
                        owner.as_str(),
                    );
                }
            }
            FirewallSource::Address {
                address, prefix, ..
            } => {
                r += 1;
                p = p.set(
                    &format!("IpPermissions.1.IpRanges.{r}.CidrIp"),
                    format!("{address}/{prefix}"),
                );
            }
        }
    }
    p
}

impl Ec2Driver {
    async fn describe_groups(&self, ctx: &RequestContext, ids: &[&str]) -> Result<Vec<Firewall>> {
        let (by_id, by_name): (Vec<&str>, Vec<&str>) =
            ids.iter().partition(|i| i.starts_with("sg-"));
        let r: wire::DescribeSecurityGroups = self
            .call(
                ctx,
                "DescribeSecurityGroups",
                Params::new()
                    .list("GroupName", &by_name)
                    .list("GroupId", &by_id),
                Call::Read,
            )
            .await?;
        Ok(r.security_group_info
            .item
            .into_iter()
            .map(convert_group)
            .collect())
    }

    async fn firewall(&self, ctx: &RequestContext, id: &FirewallId) -> Result<Firewall> {
        self.describe_groups(ctx, &[id.as_str()])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(format!("The security group '{id}' does not exist")))
    }
}

#[async_trait]
impl Addresses for Ec2Driver {
    async fn addresses(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Address>> {
        let ids: Vec<&str> = f.id.iter().flatten().map(String::as_str).collect();
        let r: Result<wire::DescribeAddresses> = self
            .call(
                ctx,
                "DescribeAddresses",
                Params::new().list("PublicIp", &ids),
                Call::Read,
            )
            .await;
        empty_if_not_found(
            f.id.is_some(),
            r.map(|r| {
                r.addresses_set
                    .item
                    .into_iter()
                    .map(|a| Address {
                        instance_id: nonempty(a.instance_id.as_ref()).map(InstanceId::new),
                        id: AddressId::new(a.public_ip),
                    })
                    .collect()
            }),
        )
    }

    async fn create_address(&self, ctx: &RequestContext) -> Result<Address> {
        let r: wire::AllocateAddress = self
            .call(ctx, "AllocateAddress", Params::new(), Call::Write)
            .await?;
        Ok(Address {
            id: AddressId::new(r.public_ip),
            instance_id: None,
        })
    }

    async fn destroy_address(&self, ctx: &RequestContext, id: &AddressId) -> Result<()> {
        self.call_ack(
            ctx,
            "ReleaseAddress",
            Params::new().set("PublicIp", id.as_str()),
            Call::Write,
        )
        .await
    }

    async fn associate_address(
        &self,
        ctx: &RequestContext,
        id: &AddressId,
        instance: &InstanceId,
    ) -> Result<()> {
        self.call_ack(
            ctx,
            "AssociateAddress",
            Params::new()
                .set("PublicIp", id.as_str())
                .set("InstanceId", instance.as_str()),
            Call::Write,
        )
        .await
    }

    async fn disassociate_address(&self, ctx: &RequestContext, id: &AddressId) -> Result<()> {
        self.call_ack(
            ctx,
            "DisassociateAddress",
            Params::new().set("PublicIp", id.as_str()),
            Call::Write,
        )
        .await
    }
}

#[async_trait]
impl Firewalls for Ec2Driver {
    async fn firewalls(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Firewall>> {
        let ids: Vec<&str> = f.id.iter().flatten().map(String::as_str).collect();
        let mut out = empty_if_not_found(f.id.is_some(), self.describe_groups(ctx, &ids).await)?;
        if let Some(want) = &f.id {
            // An `sg-…` id finds the group, whose id here is its name: keep both spellings.
            out.retain(|fw| want.iter().any(|w| *w == fw.id.0 || w.starts_with("sg-")));
        }
        Ok(out)
    }

    async fn create_firewall(
        &self,
        ctx: &RequestContext,
        name: &str,
        description: &str,
    ) -> Result<Firewall> {
        if name.trim().is_empty() || description.trim().is_empty() {
            return Err(Error::validation(
                "A firewall needs a name and a description",
            ));
        }
        self.call_ack(
            ctx,
            "CreateSecurityGroup",
            Params::new()
                .set("GroupName", name)
                .set("GroupDescription", description),
            Call::Write,
        )
        .await?;
        self.firewall(ctx, &FirewallId::new(name)).await
    }

    async fn delete_firewall(&self, ctx: &RequestContext, id: &FirewallId) -> Result<()> {
        self.call_ack(
            ctx,
            "DeleteSecurityGroup",
            Params::new().set(group_param(id), id.as_str()),
            Call::Write,
        )
        .await
    }

    async fn create_firewall_rule(
        &self,
        ctx: &RequestContext,
        id: &FirewallId,
        rule: &CreateFirewallRule,
    ) -> Result<Firewall> {
        let mut sources: Vec<FirewallSource> = rule
            .groups
            .iter()
            .map(|(name, owner)| FirewallSource::Group {
                name: name.clone(),
                owner: owner.clone(),
            })
            .collect();
        sources.extend(rule.addresses.iter().map(|a| cidr_source(a)));
        if sources.is_empty() {
            return Err(Error::validation(
                "No sources. Specify at least one source ip address or group.",
            ));
        }
        let p = permission_params(
            Params::new().set(group_param(id), id.as_str()),
            &rule.protocol,
            &rule.port_from,
            &rule.port_to,
            &sources,
        );
        self.call_ack(ctx, "AuthorizeSecurityGroupIngress", p, Call::Write)
            .await?;
        self.firewall(ctx, id).await
    }

    async fn delete_firewall_rule(
        &self,
        ctx: &RequestContext,
        id: &FirewallId,
        rule: &FirewallRuleId,
    ) -> Result<()> {
        let r = parse_rule_id(rule)?;
        let p = permission_params(
            Params::new().set(group_param(id), id.as_str()),
            &r.protocol,
            &r.from,
            &r.to,
            &r.sources,
        );
        self.call_ack(ctx, "RevokeSecurityGroupIngress", p, Call::Write)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip() {
        let sources = vec![
            FirewallSource::Group {
                name: "default".into(),
                owner: "393485797142".into(),
            },
            cidr_source("10.1.2.3/24"),
        ];
        let id = rule_id("393485797142", "tcp", "22", "22", &sources);
        assert_eq!(
            id,
            "393485797142~tcp~22~22~@group,393485797142,default,@address,ipv4,10.1.2.3,24"
        );
        let parsed = parse_rule_id(&id).ok();
        assert_eq!(
            parsed,
            Some(ParsedRule {
                protocol: "tcp".into(),
                from: "22".into(),
                to: "22".into(),
                sources,
            })
        );
        for bad in ["", "a~b", "o~tcp~1~2~", "o~tcp~1~2~@weird,x"] {
            assert!(parse_rule_id(bad).is_err(), "{bad}");
        }
    }
}
