//! Credentials are checked on every operation that touches the cloud, including the ones the
//! original forgot (start/stop/reboot/run).

use super::capabilities::invoke;
use super::*;
use deltacloud_core::driver::{HardwareProfiles, Instances};
use deltacloud_core::{Capability, Credentials, Driver, ErrorKind, Filter};

#[tokio::test]
async fn every_declared_operation_needs_valid_credentials() {
    let c = Cloud::new();
    let declared = c.d.capabilities().clone();
    let others = [
        RequestContext::new(Some(Credentials::new("mockuser2", "mockpassword")), None),
        RequestContext::new(Some(Credentials::new("MockUser", "mockpassword")), None),
        RequestContext::new(Some(Credentials::new("mockuser", "")), None),
        RequestContext::new(Some(Credentials::new("mockuser", "mockpassword ")), None),
        wrong_password(),
    ];
    for &cap in Capability::ALL {
        if !declared.has(cap) || cap == Capability::HardwareProfiles {
            continue;
        }
        assert_eq!(
            kind(invoke(&c.d, &anonymous(), cap).await),
            ErrorKind::AuthRequired,
            "{cap} without credentials"
        );
        for bad in &others {
            let (k, msg) = err(invoke(&c.d, bad, cap).await);
            assert_eq!(
                (k, msg.as_str()),
                (ErrorKind::AuthFailed, "Authentication Failure"),
                "{cap} with wrong credentials"
            );
        }
    }
    // Nothing was changed by the refused calls: the seed is intact.
    let inst =
        c.d.instances(&ctx(), &Filter::default())
            .await
            .expect("instances");
    assert_eq!(
        ids(&inst, |i| i.id.to_string()),
        ["inst0", "inst1", "inst2", "inst3"]
    );
    assert!(
        inst.iter()
            .all(|i| i.state == deltacloud_core::InstanceState::Running)
    );
}

#[tokio::test]
async fn hardware_profiles_need_no_credentials() {
    let c = Cloud::new();
    assert_eq!(
        c.d.hardware_profiles(&anonymous(), &Filter::default())
            .await
            .expect("anonymous")
            .len(),
        4
    );
    assert_eq!(
        c.d.hardware_profiles(&wrong_password(), &Filter::default())
            .await
            .expect("wrong")
            .len(),
        4
    );
}

#[tokio::test]
async fn valid_credentials() {
    let c = Cloud::new();
    assert!(c.d.valid_credentials(&ctx()).await.expect("ok"));
    assert!(
        !c.d.valid_credentials(&wrong_password())
            .await
            .expect("wrong is false")
    );
    assert_eq!(
        kind(c.d.valid_credentials(&anonymous()).await),
        ErrorKind::AuthRequired
    );
}

#[test]
fn credentials_never_print() {
    let c = ctx();
    assert!(!format!("{c:?}").contains("mockpassword"));
}
