//! The declared capabilities, features and state machine.

use super::*;
use deltacloud_core::driver::{HardwareProfiles, LoadBalancers, Networks};
use deltacloud_core::{
    Capability, Driver, ErrorKind, FeatureName, Filter, InstanceAction as A, InstanceState as S,
};

#[tokio::test]
async fn undeclared_areas_answer_not_supported_without_calling_out() {
    let d = driver(Duration::from_secs(1));
    // No provider behind this: the calls must not need one.
    let c = ctx("http://127.0.0.1:9");
    let f = Filter::default();
    for cap in [
        Capability::Buckets,
        Capability::CreateBlob,
        Capability::LoadBalancers,
        Capability::Metrics,
    ] {
        assert!(d.capabilities().has(cap), "{cap}");
    }
    // Networks are listed only as realms.
    assert!(!d.capabilities().has(Capability::Networks));
    assert_eq!(
        d.networks(&c, &f).await.err().map(|e| e.kind()),
        Some(ErrorKind::NotSupported)
    );
    // Eucalyptus clouds have no ELB endpoint: refused before any call.
    let euca = Ec2Driver::new(Flavor::Eucalyptus, Duration::from_secs(1)).unwrap();
    let ec = ctx("ec2=127.0.0.1:9");
    assert_eq!(
        euca.load_balancers(&ec, &f).await.err().map(|e| e.kind()),
        Some(ErrorKind::NotSupported)
    );
    // Hardware profiles are static.
    let all = d.hardware_profiles(&c, &f).await.unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].id, "t1.micro");
    let i386 = Filter {
        architecture: Some(vec!["i386".into()]),
        ..Filter::default()
    };
    let ids: Vec<String> = d
        .hardware_profiles(&c, &i386)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id.0)
        .collect();
    assert_eq!(ids, ["t1.micro", "m1.small", "m1.medium", "c1.medium"]);
}

#[test]
fn features_and_names_per_flavor() {
    let ec2 = driver(Duration::from_secs(1));
    assert_eq!(ec2.name(), "ec2");
    let names: Vec<FeatureName> = ec2.features().iter().map(|f| f.name).collect();
    assert!(names.contains(&FeatureName::UserData));
    assert!(names.contains(&FeatureName::InstanceCount));
    let euca = Ec2Driver::new(Flavor::Eucalyptus, Duration::from_secs(1)).unwrap();
    assert_eq!(euca.name(), "eucalyptus");
    assert_eq!(euca.static_hardware_profiles().len(), 5);
    assert!(
        !euca
            .features()
            .iter()
            .any(|f| f.name == FeatureName::Metrics)
    );
}

#[test]
fn state_machine_allows_what_ec2_allows() {
    let m = crate::ec2_state_machine();
    assert_eq!(m.actions_for(S::Running), [A::Reboot, A::Stop, A::Destroy]);
    assert_eq!(m.actions_for(S::Stopped), [A::Start, A::Destroy]);
    assert_eq!(m.actions_for(S::Pending), [A::Destroy]);
    assert!(m.actions_for(S::ShuttingDown).is_empty());
    assert_eq!(m.settle(S::Pending), S::Running);
    assert_eq!(crate::map_state("shutting-down"), S::ShuttingDown);
    assert_eq!(crate::map_state("terminated"), S::Finish);
    assert_eq!(crate::map_state("bogus"), S::Unknown);
}
