//! Features: named optional extensions of one operation of one collection
//! (`deltacloud-api.md` §5.2). The table is fixed server-wide; a driver declares the subset it
//! offers, optionally with constraints. Names outside the table cannot be declared at all (the
//! original silently ignored the mock's typos `user_Data` and `user_description`; here they are
//! simply not representable).

/// Every feature the API knows, in the table's order (which is also the entry point's order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureName {
    OwnerId,
    ImageName,
    ImageDescription,
    BucketLocation,
    Metrics,
    RealmFilter,
    UserName,
    UserData,
    UserFiles,
    UserIso,
    Firewalls,
    AuthenticationKey,
    AuthenticationPassword,
    HardwareProfiles,
    RegisterToLoadBalancer,
    InstanceCount,
    AttachSnapshot,
    Sandboxing,
    ImportKey,
    VolumeName,
    VolumeDescription,
}

/// The static description of one feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureSpec {
    pub name: &'static str,
    /// The collection it extends.
    pub collection: &'static str,
    /// The operation (`create`, `index`), or `None` for features that add no parameter.
    pub operation: Option<&'static str>,
    /// Extra parameters it adds to that operation.
    pub params: &'static [&'static str],
    pub description: &'static str,
}

impl FeatureName {
    pub const ALL: [Self; 21] = [
        Self::OwnerId,
        Self::ImageName,
        Self::ImageDescription,
        Self::BucketLocation,
        Self::Metrics,
        Self::RealmFilter,
        Self::UserName,
        Self::UserData,
        Self::UserFiles,
        Self::UserIso,
        Self::Firewalls,
        Self::AuthenticationKey,
        Self::AuthenticationPassword,
        Self::HardwareProfiles,
        Self::RegisterToLoadBalancer,
        Self::InstanceCount,
        Self::AttachSnapshot,
        Self::Sandboxing,
        Self::ImportKey,
        Self::VolumeName,
        Self::VolumeDescription,
    ];

    #[must_use]
    pub const fn spec(self) -> FeatureSpec {
        const fn f(
            name: &'static str,
            collection: &'static str,
            operation: Option<&'static str>,
            params: &'static [&'static str],
            description: &'static str,
        ) -> FeatureSpec {
            FeatureSpec {
                name,
                collection,
                operation,
                params,
                description,
            }
        }
        match self {
            Self::OwnerId => f(
                "owner_id",
                "images",
                Some("index"),
                &["owner_id"],
                "Filter images by owner",
            ),
            Self::ImageName => f(
                "image_name",
                "images",
                Some("create"),
                &["name"],
                "Name for the created image",
            ),
            Self::ImageDescription => f(
                "image_description",
                "images",
                Some("create"),
                &["description"],
                "Description for the created image",
            ),
            Self::BucketLocation => f(
                "bucket_location",
                "buckets",
                Some("create"),
                &["location"],
                "Region or location for the new bucket",
            ),
            Self::Metrics => f(
                "metrics",
                "instances",
                Some("create"),
                &["metrics"],
                "Enable detailed monitoring",
            ),
            Self::RealmFilter => f(
                "realm_filter",
                "instances",
                Some("index"),
                &["realm_id"],
                "Filter instances by realm",
            ),
            Self::UserName => f(
                "user_name",
                "instances",
                Some("create"),
                &["name"],
                "Allow the user to set a name for the instance",
            ),
            Self::UserData => f(
                "user_data",
                "instances",
                Some("create"),
                &["user_data"],
                "Base64 user data passed to the instance",
            ),
            Self::UserFiles => f(
                "user_files",
                "instances",
                Some("create"),
                &["user_files"],
                "Files injected into the instance",
            ),
            Self::UserIso => f(
                "user_iso",
                "instances",
                Some("create"),
                &["user_iso"],
                "Base64 gzipped ISO attached as CD-ROM",
            ),
            Self::Firewalls => f(
                "firewalls",
                "instances",
                Some("create"),
                &["firewalls"],
                "Launch into firewalls (security groups)",
            ),
            Self::AuthenticationKey => f(
                "authentication_key",
                "instances",
                Some("create"),
                &["keyname"],
                "Instance access by key pair",
            ),
            Self::AuthenticationPassword => f(
                "authentication_password",
                "instances",
                Some("create"),
                &["password"],
                "Instance access by password",
            ),
            Self::HardwareProfiles => f(
                "hardware_profiles",
                "instances",
                None,
                &[],
                "Sizing via hardware profile overrides",
            ),
            Self::RegisterToLoadBalancer => f(
                "register_to_load_balancer",
                "instances",
                Some("create"),
                &["load_balancer_id"],
                "Register the new instance with a load balancer",
            ),
            Self::InstanceCount => f(
                "instance_count",
                "instances",
                Some("create"),
                &["instance_count"],
                "Launch several instances at once",
            ),
            Self::AttachSnapshot => f(
                "attach_snapshot",
                "instances",
                Some("create"),
                &["snapshot_id", "device_name"],
                "Attach a snapshot-backed volume at launch",
            ),
            Self::Sandboxing => f(
                "sandboxing",
                "instances",
                Some("create"),
                &["sandbox"],
                "Launch from a sandbox image",
            ),
            Self::ImportKey => f(
                "import_key",
                "keys",
                Some("create"),
                &["public_key"],
                "Import an existing public key",
            ),
            Self::VolumeName => f(
                "volume_name",
                "storage_volumes",
                Some("create"),
                &["name"],
                "Name for the volume",
            ),
            Self::VolumeDescription => f(
                "volume_description",
                "storage_volumes",
                Some("create"),
                &["description"],
                "Description for the volume",
            ),
        }
    }

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        self.spec().name
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A feature as a driver declares it: the name plus constraints such as `max_length = 50`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverFeature {
    pub name: FeatureName,
    pub constraints: Vec<(String, String)>,
}

impl DriverFeature {
    #[must_use]
    pub const fn new(name: FeatureName) -> Self {
        Self {
            name,
            constraints: Vec::new(),
        }
    }

    #[must_use]
    pub fn with_constraint(mut self, name: &str, value: &str) -> Self {
        self.constraints.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Does `features` contain `name`?
#[must_use]
pub fn has_feature(features: &[DriverFeature], name: FeatureName) -> bool {
    features.iter().any(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for f in FeatureName::ALL {
            assert_eq!(FeatureName::parse(f.as_str()), Some(f));
            let s = f.spec();
            assert_eq!(s.operation.is_none(), s.params.is_empty(), "{}", s.name);
        }
        assert_eq!(FeatureName::parse("user_Data"), None);
    }
}
