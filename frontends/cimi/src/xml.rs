//! The XML form of CIMI documents (`cimi.md` §2), produced from and read into the JSON form.
//!
//! Why a tree writer instead of one serde struct per type: every CIMI resource has a JSON form
//! and an XML form that differ only by mechanical rules (references become `href` attributes,
//! the properties map becomes `<property key=…>` elements, arrays become repeated singular
//! elements, `resourceURI` becomes an attribute of the root). `$select` can drop any attribute,
//! so the set of shapes is open-ended; applying the rules once to the JSON tree keeps the two
//! formats consistent by construction. quick-xml's writer does all escaping; nothing here
//! concatenates markup.

use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use serde_json::{Map, Value};

/// The CIMI namespace.
pub const NS: &str = "http://schemas.dmtf.org/cimi/1";

/// The XML element of one entry of an array attribute: collection entries are named after their
/// type, other arrays by the singular of the attribute.
fn element_for(key: &str, in_collection: bool) -> String {
    if in_collection && let Some(t) = crate::resources::entry_type(key) {
        return t.to_owned();
    }
    match key {
        "operations" => "operation".to_owned(),
        "properties" => "property".to_owned(),
        "capabilities" => "capability".to_owned(),
        "attributes" => "attribute".to_owned(),
        "constraints" => "constraint".to_owned(),
        "componentDescriptors" => "componentDescriptor".to_owned(),
        "addresses" => "address".to_owned(),
        k => k.strip_suffix('s').unwrap_or(k).to_owned(),
    }
}

/// Attributes (rather than child elements) of array entries, per element name.
fn xml_attributes(element: &str) -> &'static [&'static str] {
    match element {
        "operation" => &["rel", "href"],
        "attribute" => &["name", "namespace", "type", "required"],
        "capability" => &["name", "uri", "description"],
        _ => &["href"],
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

type W = Writer<Vec<u8>>;

fn write_text_el(w: &mut W, name: &str, text: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// Write one attribute of an object as element(s) named `key`.
fn write_member(w: &mut W, key: &str, v: &Value, in_collection: bool) -> std::io::Result<()> {
    if is_empty(v) {
        return Ok(());
    }
    match v {
        Value::Object(m) if key == "properties" => {
            for (k, pv) in m {
                let mut el = BytesStart::new("property");
                el.push_attribute(("key", k.as_str()));
                w.write_event(Event::Start(el))?;
                w.write_event(Event::Text(BytesText::new(
                    &scalar_text(pv).unwrap_or_default(),
                )))?;
                w.write_event(Event::End(BytesEnd::new("property")))?;
            }
            Ok(())
        }
        Value::Object(m) => write_object(w, key, m, &["href"], false),
        Value::Array(items) => {
            let el = element_for(key, in_collection);
            for item in items {
                match item {
                    Value::Object(m) => {
                        let attrs = if in_collection && crate::resources::entry_type(key).is_some()
                        {
                            &[][..]
                        } else {
                            xml_attributes(&el)
                        };
                        write_object(w, &el, m, attrs, false)?;
                    }
                    other => {
                        if let Some(t) = scalar_text(other) {
                            write_text_el(w, &el, &t)?;
                        }
                    }
                }
            }
            Ok(())
        }
        other => match scalar_text(other) {
            Some(t) => write_text_el(w, key, &t),
            None => Ok(()),
        },
    }
}

/// Write `m` as element `name`: scalar members listed in `attrs` become XML attributes; a
/// `value` member of a capability becomes the text; the rest become children. Objects with a
/// `count` are (embedded) collections, whose arrays are entries named after their type.
fn write_object(
    w: &mut W,
    name: &str,
    m: &Map<String, Value>,
    attrs: &[&str],
    root: bool,
) -> std::io::Result<()> {
    let mut el = BytesStart::new(name);
    let mut attr_vals: Vec<(&str, String)> = Vec::new();
    for a in attrs {
        if let Some(t) = m.get(*a).and_then(scalar_text) {
            attr_vals.push((a, t));
        }
    }
    for (a, t) in &attr_vals {
        el.push_attribute((*a, t.as_str()));
    }
    if root {
        el.push_attribute(("xmlns", NS));
        if let Some(uri) = m.get("resourceURI").and_then(Value::as_str) {
            el.push_attribute(("resourceURI", uri));
        }
    }
    let text_value = name == "capability";
    let children: Vec<(&String, &Value)> = m
        .iter()
        .filter(|(k, v)| {
            let k = k.as_str();
            let as_attribute = attrs.contains(&k);
            let as_root_attribute = root && k == "resourceURI";
            let as_text = text_value && k == "value";
            !(as_attribute || as_root_attribute || as_text || is_empty(v))
        })
        .collect();
    let text = if text_value {
        m.get("value").and_then(scalar_text)
    } else {
        None
    };
    if children.is_empty() && text.is_none() {
        return w.write_event(Event::Empty(el));
    }
    let in_collection = m.contains_key("count");
    w.write_event(Event::Start(el))?;
    if let Some(t) = text {
        w.write_event(Event::Text(BytesText::new(&t)))?;
    }
    // Collection operations come after the entries (`cimi.md` §2.1); JSON order is kept
    // otherwise.
    for (k, v) in &children {
        write_member(w, k, v, in_collection)?;
    }
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// Render a top-level document: `root` is the element name (`Machine`, `Collection`, …).
/// Collections carry their `href` as an attribute.
#[must_use]
pub fn render(root: &str, doc: &Map<String, Value>) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let attrs: &[&str] = if root == "Collection" { &["href"] } else { &[] };
    // Writing into a Vec cannot fail.
    let _ = write_object(&mut w, root, doc, attrs, true);
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

/// A serde struct for the error document, which is the same in every collection.
#[derive(serde::Serialize)]
#[serde(rename = "error")]
pub struct ErrorDoc<'a> {
    #[serde(rename = "@status")]
    pub status: u16,
    #[serde(rename = "@url")]
    pub url: &'a str,
    pub backend: Backend<'a>,
    pub code: u16,
    pub message: &'a str,
}

#[derive(serde::Serialize)]
pub struct Backend<'a> {
    #[serde(rename = "@driver")]
    pub driver: &'a str,
    #[serde(rename = "@provider")]
    pub provider: &'a str,
}

/// Parse an XML request body into its root element name and the JSON form of its content:
/// `<property key="k">v</property>` ⇒ `properties`, an element with an `href` attribute and no
/// children ⇒ `{"href"}`, leaf elements ⇒ strings, repeated elements ⇒ arrays. Namespaces are
/// not validated (clients send CIMI documents with and without the namespace).
///
/// # Errors
/// The parser's message when the body is not well-formed XML.
pub fn parse(body: &str) -> Result<(String, Map<String, Value>), String> {
    let doc = roxmltree::Document::parse(body).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    Ok((root.tag_name().name().to_owned(), element_to_map(root)))
}

fn element_to_map(node: roxmltree::Node<'_, '_>) -> Map<String, Value> {
    let mut m = Map::new();
    for a in node.attributes() {
        if a.name() != "resourceURI" || node.parent().is_some_and(|p| !p.is_root()) {
            m.insert(a.name().to_owned(), Value::String(a.value().to_owned()));
        } else {
            m.insert(
                "resourceURI".to_owned(),
                Value::String(a.value().to_owned()),
            );
        }
    }
    let mut props = Map::new();
    for child in node.children().filter(roxmltree::Node::is_element) {
        let name = child.tag_name().name();
        if name == "property"
            && let Some(k) = child.attribute("key")
        {
            props.insert(
                k.to_owned(),
                Value::String(child.text().unwrap_or("").trim().to_owned()),
            );
            continue;
        }
        let has_children = child.children().any(|c| c.is_element());
        let v = if has_children || child.attributes().len() > 0 {
            Value::Object(element_to_map(child))
        } else {
            Value::String(child.text().unwrap_or("").trim().to_owned())
        };
        match m.get_mut(name) {
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => {
                let p = prev.take();
                *prev = Value::Array(vec![p, v]);
            }
            None => {
                m.insert(name.to_owned(), v);
            }
        }
    }
    if !props.is_empty() {
        m.insert("properties".to_owned(), Value::Object(props));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_the_representation_rules() {
        let doc = json!({
            "id": "http://h/cimi/machines/inst0", "name": "a & b", "memory": 12,
            "properties": {"k": "v"},
            "machineImage": {"href": "http://h/cimi/machine_images/img1"},
            "disks": {"href": "http://h/cimi/machines/inst0/disks"},
            "empty": [], "none": null,
            "operations": [{"rel": "edit", "href": "http://h/x"}],
            "resourceURI": "http://schemas.dmtf.org/cimi/1/Machine"
        });
        let x = render("Machine", doc.as_object().unwrap());
        assert_eq!(
            x,
            "<Machine xmlns=\"http://schemas.dmtf.org/cimi/1\" resourceURI=\"http://schemas.dmtf.org/cimi/1/Machine\">\n  \
             <id>http://h/cimi/machines/inst0</id>\n  <name>a &amp; b</name>\n  <memory>12</memory>\n  \
             <property key=\"k\">v</property>\n  <machineImage href=\"http://h/cimi/machine_images/img1\"/>\n  \
             <disks href=\"http://h/cimi/machines/inst0/disks\"/>\n  <operation rel=\"edit\" href=\"http://h/x\"/>\n\
             </Machine>"
        );
    }

    #[test]
    fn collections_name_entries_by_type() {
        let doc = json!({"id": "http://h/cimi/machines", "href": "http://h/cimi/machines", "count": 1,
            "machines": [{"id": "http://h/cimi/machines/a", "name": "a"}],
            "operations": [{"rel": "add", "href": "http://h/cimi/machines"}],
            "resourceURI": "http://schemas.dmtf.org/cimi/1/MachineCollection"});
        let x = render("Collection", doc.as_object().unwrap());
        assert!(x.starts_with("<Collection href=\"http://h/cimi/machines\" xmlns=\"http://schemas.dmtf.org/cimi/1\" resourceURI=\"http://schemas.dmtf.org/cimi/1/MachineCollection\">"), "{x}");
        assert!(
            x.contains("<Machine>\n    <id>http://h/cimi/machines/a</id>"),
            "{x}"
        );
        assert!(x.contains("<operation rel=\"add\""), "{x}");
    }

    #[test]
    fn parses_both_template_forms() {
        let (root, m) = parse(
            "<MachineCreate xmlns=\"http://schemas.dmtf.org/cimi/1\"><name>n</name>\
             <machineTemplate><machineConfig href=\"c\"/><machineImage href=\"i\"/></machineTemplate>\
             <property key=\"a\">b</property></MachineCreate>",
        )
        .unwrap();
        assert_eq!(root, "MachineCreate");
        assert_eq!(
            Value::Object(m),
            json!({"name": "n", "machineTemplate": {"machineConfig": {"href": "c"}, "machineImage": {"href": "i"}},
                   "properties": {"a": "b"}})
        );
        let (_, m) = parse("<MachineCreate><machineTemplate href=\"t\"/></MachineCreate>").unwrap();
        assert_eq!(Value::Object(m), json!({"machineTemplate": {"href": "t"}}));
        assert!(parse("<a><b></a>").is_err());
    }
}
