//! A string that never prints and is wiped from memory when dropped.

use std::fmt;
use zeroize::Zeroize;

/// A secret (password, secret key). `Debug` and `Display` print `[REDACTED]`; there is no
/// `PartialEq`, so comparisons go through [`Secret::ct_eq`], which takes the same time whatever
/// the position of the first differing byte.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret's value, for the one place that must send or hash it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a candidate value.
    #[must_use]
    pub fn ct_eq(&self, candidate: &str) -> bool {
        let a = self.0.as_bytes();
        let b = candidate.as_bytes();
        // Length is not secret for passwords of a fake cloud, but keep the loop length fixed on
        // the stored value so timing does not depend on where the first difference is.
        let mut diff = u8::from(a.len() != b.len());
        for (i, x) in a.iter().enumerate() {
            let y = b.get(i).copied().unwrap_or(0);
            diff |= x ^ y;
        }
        std::hint::black_box(diff) == 0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints() {
        let s = Secret::new("mockpassword");
        assert_eq!(format!("{s:?} {s}"), "[REDACTED] [REDACTED]");
    }

    #[test]
    fn compares() {
        let s = Secret::new("mockpassword");
        assert!(s.ct_eq("mockpassword"));
        assert!(!s.ct_eq("mockpasswore"));
        assert!(!s.ct_eq("mockpassword2"));
        assert!(!s.ct_eq("mock"));
        assert!(!s.ct_eq(""));
    }
}
