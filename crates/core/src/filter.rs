//! Collection filters (`deltacloud-api.md` §10): exact, case-sensitive string matches, each
//! either one value or "any of" several.

/// The filters a list call may carry. A field that is `None` does not filter; `Some(v)` keeps
/// elements whose attribute is one of `v`. Drivers honour the fields that apply to the collection
/// and ignore the rest, as the original's `filter_on` helper did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub id: Option<Vec<String>>,
    pub state: Option<Vec<String>>,
    pub realm_id: Option<Vec<String>>,
    pub owner_id: Option<Vec<String>>,
    pub architecture: Option<Vec<String>>,
}

impl Filter {
    /// A filter on one id (the "show" helpers are `list(id).first`).
    #[must_use]
    pub fn by_id(id: &str) -> Self {
        Self {
            id: Some(vec![id.to_owned()]),
            ..Self::default()
        }
    }

    /// Does `value` pass the filter `f`?
    #[must_use]
    pub fn pass(f: Option<&Vec<String>>, value: Option<&str>) -> bool {
        match f {
            None => true,
            Some(allowed) => value.is_some_and(|v| allowed.iter().any(|a| a == v)),
        }
    }

    #[must_use]
    pub fn pass_id(&self, id: &str) -> bool {
        Self::pass(self.id.as_ref(), Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let f = Filter::by_id("a");
        assert!(f.pass_id("a"));
        assert!(!f.pass_id("b"));
        assert!(Filter::default().pass_id("x"));
        assert!(!Filter::pass(Some(&vec!["x".into()]), None));
    }
}
