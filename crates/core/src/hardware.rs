//! Hardware profiles: named sizes whose properties are fixed, a range, or an enumeration
//! (`deltacloud-api.md` §8.2).

use crate::ids::HardwareProfileId;
use std::fmt;

/// The five properties a profile can have, in the order the wire formats know them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PropertyName {
    Cpu,
    Memory,
    Storage,
    Architecture,
    RootType,
}

impl PropertyName {
    pub const ALL: [Self; 5] = [
        Self::Cpu,
        Self::Memory,
        Self::Storage,
        Self::Architecture,
        Self::RootType,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Storage => "storage",
            Self::Architecture => "architecture",
            Self::RootType => "root_type",
        }
    }

    /// The unit the wire formats print (`count`, `MB`, `GB`, `label`; none for `root_type`).
    #[must_use]
    pub const fn unit(self) -> Option<&'static str> {
        match self {
            Self::Cpu => Some("count"),
            Self::Memory => Some("MB"),
            Self::Storage => Some("GB"),
            Self::Architecture => Some("label"),
            Self::RootType => None,
        }
    }

    /// The create parameter that overrides this property (`hwp_cpu`, …).
    #[must_use]
    pub const fn param(self) -> &'static str {
        match self {
            Self::Cpu => "hwp_cpu",
            Self::Memory => "hwp_memory",
            Self::Storage => "hwp_storage",
            Self::Architecture => "hwp_architecture",
            Self::RootType => "hwp_root_type",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for PropertyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A property value. Numbers keep their natural printed form (`1740.8`, `10240`).
#[derive(Clone, Debug, PartialEq)]
pub enum PropertyValue {
    Int(i64),
    Float(f64),
    Text(String),
}

impl PropertyValue {
    fn as_f64(&self) -> Option<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)]
            Self::Int(i) => Some(*i as f64),
            Self::Float(f) => Some(*f),
            Self::Text(t) => t.parse().ok(),
        }
    }

    /// Does this value equal the string `s` (numerically when both are numbers)?
    #[must_use]
    pub fn matches(&self, s: &str) -> bool {
        match (self.as_f64(), s.parse::<f64>().ok()) {
            (Some(a), Some(b)) => (a - b).abs() < f64::EPSILON,
            _ => self.to_string() == s,
        }
    }
}

impl fmt::Display for PropertyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

impl From<i64> for PropertyValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<f64> for PropertyValue {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}
impl From<&str> for PropertyValue {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

/// How a property may vary.
#[derive(Clone, Debug, PartialEq)]
pub enum PropertyKind {
    Fixed(PropertyValue),
    /// Inclusive range; the default is `default` if given, else `first`.
    Range {
        first: PropertyValue,
        last: PropertyValue,
        default: Option<PropertyValue>,
    },
    /// One of `values`; the default is `default` if given, else the first value.
    Enum {
        values: Vec<PropertyValue>,
        default: Option<PropertyValue>,
    },
}

impl PropertyKind {
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Fixed(_) => "fixed",
            Self::Range { .. } => "range",
            Self::Enum { .. } => "enum",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HardwareProperty {
    pub name: PropertyName,
    pub kind: PropertyKind,
}

impl HardwareProperty {
    #[must_use]
    pub fn fixed(name: PropertyName, v: impl Into<PropertyValue>) -> Self {
        Self {
            name,
            kind: PropertyKind::Fixed(v.into()),
        }
    }

    #[must_use]
    pub fn range(
        name: PropertyName,
        first: impl Into<PropertyValue>,
        last: impl Into<PropertyValue>,
        default: Option<PropertyValue>,
    ) -> Self {
        Self {
            name,
            kind: PropertyKind::Range {
                first: first.into(),
                last: last.into(),
                default,
            },
        }
    }

    #[must_use]
    pub fn enumeration(
        name: PropertyName,
        values: Vec<PropertyValue>,
        default: Option<PropertyValue>,
    ) -> Self {
        Self {
            name,
            kind: PropertyKind::Enum { values, default },
        }
    }

    /// The value shown in `value=` and in the JSON `properties` map.
    #[must_use]
    pub fn default_value(&self) -> Option<&PropertyValue> {
        match &self.kind {
            PropertyKind::Fixed(v) => Some(v),
            PropertyKind::Range { first, default, .. } => Some(default.as_ref().unwrap_or(first)),
            PropertyKind::Enum { values, default } => default.as_ref().or_else(|| values.first()),
        }
    }

    /// Is a client allowed to pick a value at instance creation?
    #[must_use]
    pub const fn is_settable(&self) -> bool {
        !matches!(self.kind, PropertyKind::Fixed(_))
    }

    /// Does the property admit `value` (equal to, listed in, or inside the range)?
    #[must_use]
    pub fn admits(&self, value: &str) -> bool {
        match &self.kind {
            PropertyKind::Fixed(v) => v.matches(value),
            PropertyKind::Enum { values, .. } => values.iter().any(|v| v.matches(value)),
            PropertyKind::Range { first, last, .. } => {
                match (first.as_f64(), last.as_f64(), value.parse::<f64>().ok()) {
                    (Some(a), Some(b), Some(x)) => a <= x && x <= b,
                    _ => first.matches(value) || last.matches(value),
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HardwareProfile {
    pub id: HardwareProfileId,
    pub name: String,
    /// In the order the driver defined them. Empty ⇒ an opaque profile.
    pub properties: Vec<HardwareProperty>,
}

impl HardwareProfile {
    #[must_use]
    pub fn new(id: &str, properties: Vec<HardwareProperty>) -> Self {
        Self {
            id: HardwareProfileId::new(id),
            name: id.to_owned(),
            properties,
        }
    }

    #[must_use]
    pub fn property(&self, name: PropertyName) -> Option<&HardwareProperty> {
        self.properties.iter().find(|p| p.name == name)
    }

    #[must_use]
    pub fn is_opaque(&self) -> bool {
        self.properties.is_empty()
    }

    /// The `architecture` filter: opaque profiles never match.
    #[must_use]
    pub fn matches_architecture(&self, arch: &str) -> bool {
        self.property(PropertyName::Architecture)
            .is_some_and(|p| p.admits(arch))
    }

    fn default_num(&self, name: PropertyName) -> Option<f64> {
        self.property(name)
            .and_then(HardwareProperty::default_value)
            .and_then(PropertyValue::as_f64)
    }

    /// Sort key of list views: `(cpu default, memory default)`, profiles lacking either last.
    #[must_use]
    pub fn list_order(a: &Self, b: &Self) -> std::cmp::Ordering {
        let key = |p: &Self| match (
            p.default_num(PropertyName::Cpu),
            p.default_num(PropertyName::Memory),
        ) {
            (Some(c), Some(m)) => (0u8, c, m),
            _ => (1u8, 0.0, 0.0),
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PropertyName as P;

    fn large() -> HardwareProfile {
        HardwareProfile::new(
            "m1-large",
            vec![
                HardwareProperty::range(P::Cpu, 1, 6, None),
                HardwareProperty::range(P::Memory, 7680, 15360, Some(10240.into())),
                HardwareProperty::enumeration(P::Storage, vec![850.into(), 1024.into()], None),
                HardwareProperty::fixed(P::Architecture, "x86_64"),
            ],
        )
    }

    #[test]
    fn defaults_and_admission() {
        let p = large();
        assert_eq!(
            p.property(P::Cpu)
                .and_then(HardwareProperty::default_value)
                .map(ToString::to_string)
                .as_deref(),
            Some("1")
        );
        assert_eq!(
            p.property(P::Memory)
                .and_then(HardwareProperty::default_value)
                .map(ToString::to_string)
                .as_deref(),
            Some("10240")
        );
        assert!(p.property(P::Memory).is_some_and(|m| m.admits("8000")));
        assert!(!p.property(P::Memory).is_some_and(|m| m.admits("100")));
        assert!(p.property(P::Storage).is_some_and(|m| m.admits("1024")));
        assert!(p.matches_architecture("x86_64"));
        assert!(!HardwareProfile::new("opaque", vec![]).matches_architecture("x86_64"));
        assert_eq!(PropertyValue::Float(1740.8).to_string(), "1740.8");
    }
}
