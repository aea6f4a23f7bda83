//! What the XML, JSON and HTML renderings share: absolute URLs, the driver traits that change a
//! representation (auth features, optional actions), and the instance action list.

use deltacloud_core::driver::Capability;
use deltacloud_core::features::{FeatureName, has_feature};
use deltacloud_core::{Driver, Instance, InstanceAction};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::{Serialize, Serializer};
use std::fmt;

/// Characters escaped when an id is put into a URL: everything that would end or restructure a
/// path segment. Ordinary ids (`inst1`, `m1-large`, `192.168.0.1`, `us-east-1a`) pass unchanged;
/// a key named `my key` becomes `my%20key`, which the router decodes again.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `s` percent-encoded for use inside one path segment or matrix parameter.
pub(crate) fn encode_segment(s: &str) -> impl fmt::Display + '_ {
    utf8_percent_encode(s, SEGMENT)
}

/// The absolute base of this request's URLs: scheme, host (and port) and `/api`
/// (`deltacloud-api.md` §1.4). Matrix parameters and the query string are never carried over.
#[derive(Clone, Debug)]
pub(crate) struct Urls {
    base: String,
}

impl Urls {
    pub(crate) fn new(scheme: &str, host: &str) -> Self {
        let mut base = String::with_capacity(scheme.len() + host.len() + 7);
        base.push_str(scheme);
        base.push_str("://");
        base.push_str(host);
        base.push_str("/api");
        Self { base }
    }

    /// `<scheme>://<host>/api`.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// `…/api/<coll>`.
    pub(crate) fn coll(&self, coll: &'static str) -> Href<'_> {
        Href {
            base: &self.base,
            coll,
            id: None,
            tail: Tail::None,
        }
    }

    /// `…/api/<coll>/<id>`.
    pub(crate) fn member<'a>(&'a self, coll: &'static str, id: &'a str) -> Href<'a> {
        Href {
            base: &self.base,
            coll,
            id: Some(id),
            tail: Tail::None,
        }
    }

    /// `…/api/<coll>/<id>/<action>`.
    pub(crate) fn action<'a>(
        &'a self,
        coll: &'static str,
        id: &'a str,
        action: &'static str,
    ) -> Href<'a> {
        Href {
            base: &self.base,
            coll,
            id: Some(id),
            tail: Tail::Action(action),
        }
    }

    /// `…/api/<coll>/<id>/<sub>` (a blob in its bucket, a firewall rule).
    pub(crate) fn sub<'a>(&'a self, coll: &'static str, id: &'a str, sub: &'a str) -> Href<'a> {
        Href {
            base: &self.base,
            coll,
            id: Some(id),
            tail: Tail::Sub(sub, None),
        }
    }

    /// `…/api/<coll>/<id>/<sub>/<action>` (`…/buckets/b/blob/content`).
    pub(crate) fn sub_action<'a>(
        &'a self,
        coll: &'static str,
        id: &'a str,
        sub: &'a str,
        action: &'static str,
    ) -> Href<'a> {
        Href {
            base: &self.base,
            coll,
            id: Some(id),
            tail: Tail::Sub(sub, Some(action)),
        }
    }

    /// `…/api/<coll>/<id>/<action>?<key>=<value>` (the load balancer's per-instance
    /// `unregister` link, which needs the instance id).
    pub(crate) fn action_query<'a>(
        &'a self,
        coll: &'static str,
        id: &'a str,
        action: &'static str,
        key: &'static str,
        value: &'a str,
    ) -> Href<'a> {
        Href {
            base: &self.base,
            coll,
            id: Some(id),
            tail: Tail::Query(action, key, value),
        }
    }

    /// `…/api/instances/<id>/run;id=<id>`, the run href the original advertised.
    pub(crate) fn run<'a>(&'a self, id: &'a str) -> Href<'a> {
        Href {
            base: &self.base,
            coll: "instances",
            id: Some(id),
            tail: Tail::Run,
        }
    }

    /// `…/api/<coll>;<key>=<value>` (`instances;image_id=img1`, `images;instance_id=inst1`).
    pub(crate) fn coll_matrix<'a>(
        &'a self,
        coll: &'static str,
        key: &'static str,
        value: &'a str,
    ) -> Href<'a> {
        Href {
            base: &self.base,
            coll,
            id: None,
            tail: Tail::Matrix(key, value),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Tail<'a> {
    None,
    Action(&'static str),
    Run,
    Matrix(&'static str, &'a str),
    Sub(&'a str, Option<&'static str>),
    Query(&'static str, &'static str, &'a str),
}

/// An absolute URL, written straight into the output when serialized (no intermediate `String`
/// per link).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Href<'a> {
    base: &'a str,
    coll: &'static str,
    id: Option<&'a str>,
    tail: Tail<'a>,
}

impl fmt::Display for Href<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base)?;
        if !self.coll.is_empty() {
            f.write_str("/")?;
            f.write_str(self.coll)?;
        }
        if let Some(id) = self.id {
            f.write_str("/")?;
            write_segment(f, id)?;
        }
        match self.tail {
            Tail::None => Ok(()),
            Tail::Action(a) => {
                f.write_str("/")?;
                f.write_str(a)
            }
            Tail::Run => {
                f.write_str("/run;id=")?;
                write_segment(f, self.id.unwrap_or_default())
            }
            Tail::Matrix(k, v) => {
                f.write_str(";")?;
                f.write_str(k)?;
                f.write_str("=")?;
                write_segment(f, v)
            }
            Tail::Sub(sub, action) => {
                f.write_str("/")?;
                write_segment(f, sub)?;
                if let Some(a) = action {
                    f.write_str("/")?;
                    f.write_str(a)?;
                }
                Ok(())
            }
            Tail::Query(a, k, v) => {
                f.write_str("/")?;
                f.write_str(a)?;
                f.write_str("?")?;
                f.write_str(k)?;
                f.write_str("=")?;
                write!(
                    f,
                    "{}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            }
        }
    }
}

impl Serialize for Href<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Both writers used in production (`xmlser`, serde_json) format `collect_str` values
        // straight into their output.
        s.collect_str(self)
    }
}

/// Anything `Display`, serialized as its text (property values, numbers printed naturally).
pub(crate) struct Text<T>(pub T);

impl<T: fmt::Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Write `id` as one path segment, percent-encoded only if it needs to be (it rarely does).
fn write_segment(f: &mut fmt::Formatter<'_>, id: &str) -> fmt::Result {
    if id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'@'))
    {
        f.write_str(id)
    } else {
        write!(f, "{}", utf8_percent_encode(id, SEGMENT))
    }
}

/// How instances of this driver are accessed (`authentication` in instance documents).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthKind {
    Key,
    Password,
}

impl AuthKind {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Password => "password",
        }
    }
}

/// The driver properties that change how resources are rendered, looked up once per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Traits {
    /// `authentication_key` preferred over `authentication_password` when both are declared.
    pub auth: Option<AuthKind>,
    pub run: bool,
    pub destroy_image: bool,
    pub destroy_key: bool,
}

impl Traits {
    pub(crate) fn of(driver: &dyn Driver) -> Self {
        let feats = driver.features();
        let caps = driver.capabilities();
        let auth = if has_feature(feats, FeatureName::AuthenticationKey) {
            Some(AuthKind::Key)
        } else if has_feature(feats, FeatureName::AuthenticationPassword) {
            Some(AuthKind::Password)
        } else {
            None
        };
        Self {
            auth,
            run: caps.has(Capability::RunOnInstance),
            destroy_image: caps.has(Capability::DestroyImage),
            destroy_key: caps.has(Capability::DestroyKey),
        }
    }
}

/// One `<link rel method href>` of an `actions` list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ActionLink<'a> {
    pub rel: &'static str,
    pub method: &'static str,
    pub href: Href<'a>,
}

/// An instance's action links (`deltacloud-api.md` §8.4.2): the actions the driver reports for
/// its current state (never `create`), then `run` if the driver can run commands, then
/// `create_image` if the instance may be snapshotted.
pub(crate) fn instance_actions<'a>(
    urls: &'a Urls,
    inst: &'a Instance,
    t: Traits,
) -> Vec<ActionLink<'a>> {
    let id = inst.id.as_str();
    let mut out = Vec::with_capacity(inst.actions.len() + 2);
    for a in &inst.actions {
        let link = match a {
            InstanceAction::Create => continue,
            InstanceAction::Destroy => ActionLink {
                rel: "destroy",
                method: "delete",
                href: urls.member("instances", id),
            },
            other => ActionLink {
                rel: other.as_str(),
                method: "post",
                href: urls.action("instances", id, other.as_str()),
            },
        };
        out.push(link);
    }
    if t.run {
        out.push(ActionLink {
            rel: "run",
            method: "post",
            href: urls.run(id),
        });
    }
    if inst.create_image {
        out.push(ActionLink {
            rel: "create_image",
            method: "post",
            href: urls.coll_matrix("images", "instance_id", id),
        });
    }
    out
}

/// The `type` of an instance address: `unavailable` when the address is blank.
pub(crate) fn address_type(a: &deltacloud_core::InstanceAddress) -> &'static str {
    if a.address.trim().is_empty() {
        "unavailable"
    } else {
        a.kind.as_str()
    }
}

/// Order in which instance profile overrides are listed (`memory, storage, architecture, cpu`,
/// as the original's hash order was), `root_type` last.
pub(crate) const OVERRIDE_ORDER: [deltacloud_core::PropertyName; 5] = {
    use deltacloud_core::PropertyName as P;
    [P::Memory, P::Storage, P::Architecture, P::Cpu, P::RootType]
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs() {
        let u = Urls::new("http", "localhost:3001");
        assert_eq!(
            u.coll("realms").to_string(),
            "http://localhost:3001/api/realms"
        );
        assert_eq!(
            u.member("realms", "us").to_string(),
            "http://localhost:3001/api/realms/us"
        );
        assert_eq!(
            u.action("instances", "inst1", "stop").to_string(),
            "http://localhost:3001/api/instances/inst1/stop"
        );
        assert_eq!(
            u.run("inst1").to_string(),
            "http://localhost:3001/api/instances/inst1/run;id=inst1"
        );
        assert_eq!(
            u.coll_matrix("instances", "image_id", "img1").to_string(),
            "http://localhost:3001/api/instances;image_id=img1"
        );
        assert_eq!(
            u.member("keys", "my key/x;y").to_string(),
            "http://localhost:3001/api/keys/my%20key%2Fx%3By"
        );
        assert_eq!(
            u.member("addresses", "192.168.0.1").to_string(),
            "http://localhost:3001/api/addresses/192.168.0.1"
        );
    }
}

/// One collection of the entry point, with the features the driver offers on it.
#[derive(Clone, Debug)]
pub(crate) struct EntryLink<'a> {
    pub rel: &'static str,
    pub features: Vec<EntryFeature<'a>>,
}

/// One (feature × operation) of the entry point (`deltacloud-api.md` §5.2–§5.4).
#[derive(Clone, Debug)]
pub(crate) struct EntryFeature<'a> {
    pub name: &'static str,
    /// The operation it extends (`create`, `index`).
    pub rel: &'static str,
    pub params: &'static [&'static str],
    pub constraints: &'a [(String, String)],
}
