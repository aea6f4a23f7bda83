//! EC2 `Filter.N` semantics (`ec2-frontend.md` B4): values OR within a filter, filters AND
//! together, `*` and `?` wildcards (`\` escapes them), `tag:<key>`, `tag-key` and `tag-value` on
//! taggable resources, and an unknown filter name is `InvalidParameterValue`.

use crate::error::{Ec2Error, Ec2Result};
use crate::params::FilterSpec;
use crate::xml::TagDto;

/// Does `value` match the EC2 wildcard `pattern`?
#[must_use]
pub fn glob_match(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match p.first() {
            None => v.is_empty(),
            Some('*') => (0..=v.len()).any(|i| go(&p[1..], &v[i..])),
            Some('?') => !v.is_empty() && go(&p[1..], &v[1..]),
            Some('\\') if p.len() > 1 => v.first() == Some(&p[1]) && go(&p[2..], &v[1..]),
            Some(c) => v.first() == Some(c) && go(&p[1..], &v[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    // Collapse runs of `*` so the backtracking stays polynomial on hostile patterns.
    let mut q: Vec<char> = Vec::with_capacity(p.len());
    for c in p {
        if !(c == '*' && q.last() == Some(&'*')) {
            q.push(c);
        }
    }
    go(&q, &v)
}

/// Keep the items that pass every filter. `field` gives the values of a named field (`None`:
/// the filter name is unknown for this resource); `tags` the item's tags.
///
/// # Errors
/// `InvalidParameterValue` for an unknown filter name.
pub fn apply<T>(
    items: Vec<T>,
    filters: &[FilterSpec],
    field: impl Fn(&T, &str) -> Option<Vec<String>>,
    tags: impl Fn(&T) -> &[TagDto],
) -> Ec2Result<Vec<T>> {
    if filters.is_empty() {
        return Ok(items);
    }
    let unknown = |name: &str| Ec2Error::invalid_value(format!("The filter '{name}' is invalid"));
    let mut out = Vec::with_capacity(items.len());
    'items: for item in items {
        for f in filters {
            let values: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
                tags(&item)
                    .iter()
                    .filter(|t| t.key == key)
                    .map(|t| t.value.clone())
                    .collect()
            } else if f.name == "tag-key" {
                tags(&item).iter().map(|t| t.key.clone()).collect()
            } else if f.name == "tag-value" {
                tags(&item).iter().map(|t| t.value.clone()).collect()
            } else {
                field(&item, &f.name).ok_or_else(|| unknown(&f.name))?
            };
            let pass = f
                .values
                .iter()
                .any(|want| values.iter().any(|have| glob_match(want, have)));
            if !pass {
                continue 'items;
            }
        }
        out.push(item);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(glob_match("web-*", "web-1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("i?st0", "inst0"));
        assert!(!glob_match("i?st0", "ist0"));
        assert!(glob_match("a\\*b", "a*b"));
        assert!(!glob_match("a\\*b", "axb"));
        assert!(!glob_match("web", "web-1"));
        assert!(!glob_match(&"*a".repeat(30), &"b".repeat(60)));
    }

    #[test]
    fn or_within_and_across() {
        #[derive(Debug, PartialEq)]
        struct It(&'static str, &'static str, Vec<TagDto>);
        let items = vec![
            It(
                "a",
                "running",
                vec![TagDto {
                    key: "Name".into(),
                    value: "web".into(),
                }],
            ),
            It("b", "stopped", vec![]),
            It("c", "running", vec![]),
        ];
        let f = |name: &str, values: &[&str]| FilterSpec {
            name: name.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        };
        let field = |i: &It, n: &str| match n {
            "id" => Some(vec![i.0.to_owned()]),
            "state" => Some(vec![i.1.to_owned()]),
            _ => None,
        };
        fn tags(i: &It) -> &[TagDto] {
            i.2.as_slice()
        }
        let got = apply(
            items,
            &[f("state", &["running", "pending"]), f("id", &["a", "b"])],
            field,
            tags,
        )
        .unwrap();
        assert_eq!(got.iter().map(|i| i.0).collect::<Vec<_>>(), ["a"]);
        let items = vec![
            It(
                "a",
                "x",
                vec![TagDto {
                    key: "Name".into(),
                    value: "web".into(),
                }],
            ),
            It("b", "x", vec![]),
        ];
        let got = apply(items, &[f("tag:Name", &["w*"])], field, tags).unwrap();
        assert_eq!(got.len(), 1);
        let items = vec![It("a", "x", vec![])];
        let e = apply(items, &[f("bogus", &["1"])], field, tags).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
    }
}
