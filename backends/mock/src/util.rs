//! Small helpers shared by the capability modules: clocks, the time strings the original
//! printed, JSON column shapes, id allocation and validation of client-chosen names.

use crate::db::DbResult;
use deltacloud_core::{AddressType, Error, InstanceAddress};
use rusqlite::{OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch (the clock transition delays are measured on).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Seconds since the epoch (ids like `volume_<epoch>` and default names `i-<epoch>`).
pub fn now_secs() -> i64 {
    now_ms() / 1000
}

/// The server time as Ruby's `Time.now.to_s` printed it (`2012-12-20 10:40:00 +0000`), which is
/// what the original stored in `created` / `last_modified`. We use UTC: reading the local offset
/// is not reliable in a multi-threaded process.
pub fn ruby_time_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    now.format(&fmt)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// An instance address as stored in the JSON columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressJson {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl AddressJson {
    pub fn hostname(address: String) -> Self {
        Self {
            address,
            kind: AddressType::Hostname.as_str().to_owned(),
            port: None,
        }
    }

    pub fn ipv4(address: String) -> Self {
        Self {
            address,
            kind: AddressType::Ipv4.as_str().to_owned(),
            port: None,
        }
    }

    pub fn to_model(&self) -> InstanceAddress {
        InstanceAddress {
            address: self.address.clone(),
            // Only this crate writes the column; an unknown type would be a bug, shown as a
            // hostname rather than failing the whole listing.
            kind: AddressType::parse(&self.kind).unwrap_or(AddressType::Hostname),
            port: self.port,
        }
    }
}

/// Does `table` have a row with this id? (`table` is always a constant of this crate.)
pub fn exists(tx: &Transaction<'_>, table: &str, id: &str) -> DbResult<bool> {
    Ok(tx
        .prepare_cached(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// `<prefix><epoch seconds>`, the original's id format, bumped to the next free number when
/// taken. Runs inside the creating transaction, so two creates in the same second get different
/// ids instead of the second overwriting the first (the original's defect, `mock-driver.md` §4).
pub fn epoch_id(tx: &Transaction<'_>, table: &str, prefix: &str) -> DbResult<String> {
    let mut n = now_secs();
    loop {
        let id = format!("{prefix}{n}");
        if !exists(tx, table, &id)? {
            return Ok(id);
        }
        n += 1;
    }
}

/// Longest id or name a client may choose; ids end up in URLs and file-like paths of clients.
const MAX_NAME_LEN: usize = 255;

/// Check a client-chosen id (key, bucket, blob, image, network … name): non-empty, bounded,
/// not a relative path component (`.`, `..`), and free of `/`, `\` and control characters,
/// which could never be addressed through a URL path. The mock keeps every name as an SQL key,
/// never as a file path, so none of these could escape its storage; refusing them anyway keeps
/// the mock's answers in line with drivers whose names become object paths.
pub fn check_name(what: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::validation(format!(
            "The {what} name must not be empty"
        )));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::validation(format!(
            "The {what} name is longer than {MAX_NAME_LEN} bytes"
        )));
    }
    if name == "." || name == ".." {
        return Err(Error::validation(format!(
            "The {what} name must not be '.' or '..'"
        )));
    }
    if name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "The {what} name must not contain '/', '\\' or control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruby_time_format() {
        let s = ruby_time_now();
        // 2024-01-01 12:00:00 +0000
        assert_eq!(s.len(), 25, "{s}");
        assert!(s.ends_with(" +0000"), "{s}");
        assert_eq!(&s[4..5], "-");
        assert_eq!(&s[10..11], " ");
    }

    #[test]
    fn names() {
        assert!(check_name("key", "ok-name_1.x").is_ok());
        assert!(check_name("key", "").is_err());
        assert!(check_name("key", "a/b").is_err());
        assert!(check_name("key", "a\nb").is_err());
        assert!(check_name("blob", "..").is_err());
        assert!(check_name("blob", ".").is_err());
        assert!(check_name("blob", "a\\b").is_err());
        assert!(check_name("blob", "a..b").is_ok());
        assert!(check_name("key", &"x".repeat(300)).is_err());
    }
}
