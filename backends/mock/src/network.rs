//! Addresses (`mock-driver.md` §2.9, §5.6) and networks, subnets and network interfaces
//! (§2.10, §5.7).

use crate::MockDriver;
use crate::compute::instance_visible;
use crate::db::DbResult;
use crate::util::{AddressJson, check_name, epoch_id, exists};
use async_trait::async_trait;
use deltacloud_core::driver::{Addresses, Networks};
use deltacloud_core::{
    Address, AddressId, Error, Filter, InstanceId, Network, NetworkId, NetworkInterface,
    NetworkInterfaceId, RequestContext, Result, Subnet, SubnetId,
};
use rand::Rng as _;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

// ---------------------------------------------------------------------------------------------
// Addresses

fn address_from_row(r: &Row<'_>) -> rusqlite::Result<Address> {
    Ok(Address {
        id: AddressId::new(r.get::<_, String>(0)?),
        instance_id: r.get::<_, Option<String>>(1)?.map(InstanceId::new),
    })
}

fn load_address(tx: &Transaction<'_>, id: &str) -> DbResult<Address> {
    tx.prepare_cached("SELECT id, instance_id FROM addresses WHERE id = ?1")?
        .query_row([id], address_from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("Address '{id}' not found")).into())
}

fn set_public_addresses(
    tx: &Transaction<'_>,
    instance: &str,
    list: &[AddressJson],
) -> DbResult<()> {
    tx.execute(
        "UPDATE instances SET public_addresses = ?2 WHERE id = ?1",
        params![instance, serde_json::to_string(list)?],
    )?;
    Ok(())
}

#[async_trait]
impl Addresses for MockDriver {
    /// In numeric address order.
    async fn addresses(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Address>> {
        self.authenticate(ctx)?;
        let all = self
            .read(|tx| {
                let mut st =
                    tx.prepare_cached("SELECT id, instance_id FROM addresses ORDER BY ip")?;
                Ok(st
                    .query_map([], address_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        Ok(all.into_iter().filter(|a| f.pass_id(&a.id)).collect())
    }

    /// The next IPv4 address after the numerically highest one (`192.168.0.5` on the seed);
    /// `192.168.0.1` if there is none.
    async fn create_address(&self, ctx: &RequestContext) -> Result<Address> {
        self.authenticate(ctx)?;
        self.write(|tx| {
            let max: Option<i64> =
                tx.query_row("SELECT MAX(ip) FROM addresses", [], |r| r.get(0))?;
            let next = match max {
                None => i64::from(u32::from(Ipv4Addr::new(192, 168, 0, 1))),
                Some(m) => m + 1,
            };
            let ip = u32::try_from(next)
                .map_err(|_| Error::internal("The IPv4 address space is exhausted"))?;
            let id = Ipv4Addr::from(ip).to_string();
            tx.execute(
                "INSERT INTO addresses (id, ip) VALUES (?1, ?2)",
                params![id, next],
            )?;
            Ok(Address {
                id: AddressId::new(id),
                instance_id: None,
            })
        })
        .await
    }

    /// Unknown ⇒ 404; associated ⇒ 403 `AddressInUse`.
    async fn destroy_address(&self, ctx: &RequestContext, id: &AddressId) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            let a = load_address(tx, &id)?;
            if a.instance_id.is_some() {
                return Err(Error::forbidden("AddressInUse").into());
            }
            tx.execute("DELETE FROM addresses WHERE id = ?1", [&id])?;
            Ok(())
        })
        .await
    }

    /// Associate with one of the caller's instances, whose public addresses become `[<ip>]`.
    /// Already associated ⇒ 403 `AddressInUse`; unknown address or instance ⇒ 404.
    async fn associate_address(
        &self,
        ctx: &RequestContext,
        id: &AddressId,
        instance: &InstanceId,
    ) -> Result<()> {
        let user = self.authenticate(ctx)?.to_owned();
        let (id, instance) = (id.to_string(), instance.to_string());
        self.write(move |tx| {
            let a = load_address(tx, &id)?;
            if a.instance_id.is_some() {
                return Err(Error::forbidden("AddressInUse").into());
            }
            if !instance_visible(tx, &user, &instance)? {
                return Err(Error::not_found(format!("Instance '{instance}' not found")).into());
            }
            tx.execute(
                "UPDATE addresses SET instance_id = ?2 WHERE id = ?1",
                params![id, instance],
            )?;
            set_public_addresses(tx, &instance, &[AddressJson::ipv4(id.clone())])?;
            Ok(())
        })
        .await
    }

    /// Not associated ⇒ 403 `AddressNotInUse`; the instance (if it still exists) gets its
    /// `<image_id>.<id>.public.com` hostname back.
    async fn disassociate_address(&self, ctx: &RequestContext, id: &AddressId) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            let a = load_address(tx, &id)?;
            let Some(instance) = a.instance_id else {
                return Err(Error::forbidden("AddressNotInUse").into());
            };
            tx.execute(
                "UPDATE addresses SET instance_id = NULL WHERE id = ?1",
                [&id],
            )?;
            let image: Option<Option<String>> = tx
                .prepare_cached("SELECT image_id FROM instances WHERE id = ?1")?
                .query_row([instance.as_str()], |r| r.get(0))
                .optional()?;
            if let Some(image) = image {
                let host = format!("{}.{instance}.public.com", image.unwrap_or_default());
                set_public_addresses(tx, &instance, &[AddressJson::hostname(host)])?;
            }
            Ok(())
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Networks, subnets, network interfaces

/// Parse `a.b.c.d/n` (or an IPv6 block) into address and prefix length.
fn parse_cidr(block: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = block.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((addr, prefix))
}

fn check_cidr(block: &str) -> Result<()> {
    parse_cidr(block).map(|_| ()).ok_or_else(|| {
        Error::validation(format!(
            "Invalid address block '{block}': expected CIDR notation like 10.0.0.0/8"
        ))
    })
}

/// A random host address inside an IPv4 block (network and broadcast addresses excluded when
/// the block has room for hosts), as the original picked one "sloppily" at random.
fn random_ipv4_in(block: &str) -> Result<String> {
    let Some((IpAddr::V4(base), prefix)) = parse_cidr(block) else {
        return Err(Error::validation(format!(
            "Cannot allocate an IPv4 address in block '{block}'"
        )));
    };
    let host_bits = 32 - u32::from(prefix);
    let size: u64 = 1u64 << host_bits;
    let network = u64::from(u32::from(base)) & !(size - 1);
    let offset = if size > 2 {
        rand::rng().random_range(1..size - 1)
    } else {
        rand::rng().random_range(0..size)
    };
    let ip = u32::try_from(network + offset)
        .map_err(|_| Error::internal("Address arithmetic overflow"))?;
    Ok(Ipv4Addr::from(ip).to_string())
}

fn subnet_from_row(r: &Row<'_>) -> rusqlite::Result<Subnet> {
    Ok(Subnet {
        id: SubnetId::new(r.get::<_, String>(0)?),
        name: r.get(1)?,
        network: r.get::<_, Option<String>>(2)?.map(NetworkId::new),
        address_block: r.get(3)?,
        state: r.get(4)?,
        kind: r.get(5)?,
    })
}

const SUBNET_COLS: &str = "id, name, network, address_block, state, type";

fn load_networks(tx: &Transaction<'_>) -> DbResult<Vec<Network>> {
    let mut subnets: BTreeMap<String, Vec<SubnetId>> = BTreeMap::new();
    {
        let mut st = tx.prepare_cached(
            "SELECT network, id FROM subnets WHERE network IS NOT NULL ORDER BY rowid",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (net, id) = row?;
            subnets.entry(net).or_default().push(SubnetId::new(id));
        }
    }
    let rows: Vec<(String, String, Option<String>, String)> = tx
        .prepare_cached("SELECT id, name, state, address_blocks FROM networks ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(id, name, state, blocks)| {
            Ok(Network {
                subnets: subnets.remove(&id).unwrap_or_default(),
                id: NetworkId::new(id),
                name,
                state,
                address_blocks: serde_json::from_str(&blocks)?,
            })
        })
        .collect()
}

const NIC_COLS: &str = "id, name, instance, network, ip_address";

fn nic_from_row(r: &Row<'_>) -> rusqlite::Result<NetworkInterface> {
    Ok(NetworkInterface {
        id: NetworkInterfaceId::new(r.get::<_, String>(0)?),
        name: r.get(1)?,
        instance: r.get::<_, Option<String>>(2)?.map(InstanceId::new),
        network: r.get(3)?,
        ip_address: r.get(4)?,
    })
}

/// Read, edit and store an instance's `network_interfaces` list (if the instance exists).
fn edit_instance_nics(
    tx: &Transaction<'_>,
    instance: &str,
    edit: impl FnOnce(&mut Vec<String>),
) -> DbResult<()> {
    let raw: Option<Option<String>> = tx
        .prepare_cached("SELECT network_interfaces FROM instances WHERE id = ?1")?
        .query_row([instance], |r| r.get(0))
        .optional()?;
    let Some(raw) = raw else { return Ok(()) };
    let mut list: Vec<String> = raw
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?
        .unwrap_or_default();
    edit(&mut list);
    if raw.is_none() && list.is_empty() {
        // Keep "no list at all" (inst2 in the seed) distinct from an empty list.
        return Ok(());
    }
    tx.execute(
        "UPDATE instances SET network_interfaces = ?2 WHERE id = ?1",
        params![instance, serde_json::to_string(&list)?],
    )?;
    Ok(())
}

/// The id for a new network/subnet/interface: the client's name (409 if taken) or
/// `<prefix><epoch>` bumped until free.
fn new_id(
    tx: &Transaction<'_>,
    table: &str,
    prefix: &str,
    what: &str,
    name: Option<String>,
) -> DbResult<String> {
    match name {
        Some(n) => {
            if exists(tx, table, &n)? {
                return Err(Error::conflict(format!("A {what} named '{n}' already exists")).into());
            }
            Ok(n)
        }
        None => epoch_id(tx, table, prefix),
    }
}

fn checked_name(what: &str, name: Option<&str>) -> Result<Option<String>> {
    match name.filter(|n| !n.is_empty()) {
        Some(n) => {
            check_name(what, n)?;
            Ok(Some(n.to_owned()))
        }
        None => Ok(None),
    }
}

#[async_trait]
impl Networks for MockDriver {
    async fn networks(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Network>> {
        self.authenticate(ctx)?;
        let all = self.read(load_networks).await?;
        Ok(all.into_iter().filter(|n| f.pass_id(&n.id)).collect())
    }

    /// Id = `name` or `net_<epoch>`; state `UP`; no subnets yet.
    async fn create_network(
        &self,
        ctx: &RequestContext,
        address_block: &str,
        name: Option<&str>,
    ) -> Result<Network> {
        self.authenticate(ctx)?;
        check_cidr(address_block)?;
        let name = checked_name("network", name)?;
        let block = address_block.to_owned();
        self.write(move |tx| {
            let id = new_id(tx, "networks", "net_", "network", name)?;
            tx.execute(
                "INSERT INTO networks (id, name, state, address_blocks) VALUES (?1, ?1, 'UP', ?2)",
                params![id, serde_json::to_string(&[&block])?],
            )?;
            Ok(Network {
                id: NetworkId::new(id.clone()),
                name: id,
                state: Some("UP".to_owned()),
                address_blocks: vec![block],
                subnets: Vec::new(),
            })
        })
        .await
    }

    /// Also destroys the network's subnets. Unknown ⇒ 404.
    async fn destroy_network(&self, ctx: &RequestContext, id: &NetworkId) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM subnets WHERE network = ?1", [&id])?;
            if tx.execute("DELETE FROM networks WHERE id = ?1", [&id])? == 0 {
                return Err(Error::not_found(format!("Network '{id}' not found")).into());
            }
            Ok(())
        })
        .await
    }

    async fn subnets(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Subnet>> {
        self.authenticate(ctx)?;
        let all = self
            .read(|tx| {
                let mut st =
                    tx.prepare_cached(&format!("SELECT {SUBNET_COLS} FROM subnets ORDER BY id"))?;
                Ok(st
                    .query_map([], subnet_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        Ok(all.into_iter().filter(|s| f.pass_id(&s.id)).collect())
    }

    /// Id = `name` or `subnet_<epoch>`; state `UP`; appended to its network. Unknown network ⇒
    /// 404.
    async fn create_subnet(
        &self,
        ctx: &RequestContext,
        network: &NetworkId,
        address_block: &str,
        name: Option<&str>,
    ) -> Result<Subnet> {
        self.authenticate(ctx)?;
        check_cidr(address_block)?;
        let name = checked_name("subnet", name)?;
        let (network, block) = (network.to_string(), address_block.to_owned());
        self.write(move |tx| {
            if !exists(tx, "networks", &network)? {
                return Err(Error::not_found(format!("Network '{network}' not found")).into());
            }
            let id = new_id(tx, "subnets", "subnet_", "subnet", name)?;
            tx.execute(
                "INSERT INTO subnets (id, name, network, address_block, state) VALUES (?1, ?1, ?2, ?3, 'UP')",
                params![id, network, block],
            )?;
            Ok(tx
                .prepare_cached(&format!("SELECT {SUBNET_COLS} FROM subnets WHERE id = ?1"))?
                .query_row([&id], subnet_from_row)?)
        })
        .await
    }

    /// Removes the subnet (and so its entry in the network's list). Unknown ⇒ 404.
    async fn destroy_subnet(&self, ctx: &RequestContext, id: &SubnetId) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            if tx.execute("DELETE FROM subnets WHERE id = ?1", [&id])? == 0 {
                return Err(Error::not_found(format!("Subnet '{id}' not found")).into());
            }
            Ok(())
        })
        .await
    }

    async fn network_interfaces(
        &self,
        ctx: &RequestContext,
        f: &Filter,
    ) -> Result<Vec<NetworkInterface>> {
        self.authenticate(ctx)?;
        let all = self
            .read(|tx| {
                let mut st = tx.prepare_cached(&format!(
                    "SELECT {NIC_COLS} FROM network_interfaces ORDER BY id"
                ))?;
                Ok(st
                    .query_map([], nic_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        Ok(all.into_iter().filter(|n| f.pass_id(&n.id)).collect())
    }

    /// A new interface on one of the caller's instances, in `network` — a subnet id (the usual
    /// case: the original drew the address from the subnet) or a network id (its first block).
    /// The IP is random inside that block. Unknown instance or network ⇒ 404.
    async fn create_network_interface(
        &self,
        ctx: &RequestContext,
        instance: &InstanceId,
        network: &str,
        name: Option<&str>,
    ) -> Result<NetworkInterface> {
        let user = self.authenticate(ctx)?.to_owned();
        let name = checked_name("network interface", name)?;
        let (instance, network) = (instance.to_string(), network.to_owned());
        self.write(move |tx| {
            if !instance_visible(tx, &user, &instance)? {
                return Err(Error::not_found(format!("Instance '{instance}' not found")).into());
            }
            let subnet_block: Option<Option<String>> = tx
                .prepare_cached("SELECT address_block FROM subnets WHERE id = ?1")?
                .query_row([&network], |r| r.get(0))
                .optional()?;
            let block = match subnet_block {
                Some(b) => b,
                None => {
                    let blocks: Option<String> = tx
                        .prepare_cached("SELECT address_blocks FROM networks WHERE id = ?1")?
                        .query_row([&network], |r| r.get(0))
                        .optional()?;
                    let Some(blocks) = blocks else {
                        return Err(Error::not_found(format!("Network '{network}' not found")).into());
                    };
                    serde_json::from_str::<Vec<String>>(&blocks)?.into_iter().next()
                }
            };
            let block = block.ok_or_else(|| Error::validation(format!("Network '{network}' has no address block")))?;
            let ip = random_ipv4_in(&block)?;
            let id = new_id(tx, "network_interfaces", "nic_", "network interface", name)?;
            tx.execute(
                "INSERT INTO network_interfaces (id, name, instance, network, ip_address) VALUES (?1, ?1, ?2, ?3, ?4)",
                params![id, instance, network, ip],
            )?;
            let nic_id = id.clone();
            edit_instance_nics(tx, &instance, move |l| l.push(nic_id))?;
            Ok(tx
                .prepare_cached(&format!("SELECT {NIC_COLS} FROM network_interfaces WHERE id = ?1"))?
                .query_row([&id], nic_from_row)?)
        })
        .await
    }

    /// Removes the interface and its entry in the instance's list. Unknown ⇒ 404.
    async fn destroy_network_interface(
        &self,
        ctx: &RequestContext,
        id: &NetworkInterfaceId,
    ) -> Result<()> {
        self.authenticate(ctx)?;
        let id = id.to_string();
        self.write(move |tx| {
            let instance: Option<Option<String>> = tx
                .prepare_cached("SELECT instance FROM network_interfaces WHERE id = ?1")?
                .query_row([&id], |r| r.get(0))
                .optional()?;
            let Some(instance) = instance else {
                return Err(Error::not_found(format!("Network interface '{id}' not found")).into());
            };
            tx.execute("DELETE FROM network_interfaces WHERE id = ?1", [&id])?;
            if let Some(instance) = instance {
                edit_instance_nics(tx, &instance, |l| l.retain(|n| n != &id))?;
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
    fn cidr_parsing_and_random_hosts() {
        assert!(parse_cidr("192.168.1.0/24").is_some());
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("fe80::/64").is_some());
        assert!(parse_cidr("nonsense").is_none());
        for _ in 0..200 {
            let ip: Ipv4Addr = random_ipv4_in("192.168.1.0/24")
                .expect("ip")
                .parse()
                .expect("v4");
            let o = ip.octets();
            assert_eq!(&o[..3], &[192, 168, 1]);
            assert!(o[3] != 0 && o[3] != 255);
        }
        assert_eq!(random_ipv4_in("10.0.0.7/32").expect("ip"), "10.0.0.7");
        assert!(random_ipv4_in("fe80::/64").is_err());
    }
}
