//! Typed identifiers, so an instance id cannot be passed where an image id is expected.

macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self { Self(id.into()) }
            #[must_use]
            pub fn as_str(&self) -> &str { &self.0 }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
        }
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str { &self.0 }
        }
        impl From<&str> for $name { fn from(s: &str) -> Self { Self(s.to_owned()) } }
        impl From<String> for $name { fn from(s: String) -> Self { Self(s) } }
        impl PartialEq<str> for $name { fn eq(&self, o: &str) -> bool { self.0 == o } }
        impl PartialEq<&str> for $name { fn eq(&self, o: &&str) -> bool { self.0 == *o } }
    )*};
}

id_type!(
    RealmId,
    HardwareProfileId,
    ImageId,
    InstanceId,
    KeyId,
    StorageVolumeId,
    StorageSnapshotId,
    BucketId,
    BlobId,
    /// An address id is the IP address itself.
    AddressId,
    FirewallId,
    FirewallRuleId,
    LoadBalancerId,
    MetricId,
    NetworkId,
    SubnetId,
    NetworkInterfaceId,
    SystemId,
    SystemTemplateId,
    NetworkPortId,
    NetworkConfigurationId,
    NetworkTemplateId,
    NetworkPortConfigurationId,
    NetworkPortTemplateId,
    ForwardingGroupTemplateId,
    AddressTemplateId,
);
