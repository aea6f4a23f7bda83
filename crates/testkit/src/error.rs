//! The one error type of the loaders.

use std::path::PathBuf;

/// Why a cassette could not be loaded.
///
/// The servers themselves report only `std::io::Error` (binding a loopback port is the only thing
/// that can fail when starting them), so this type is about reading and understanding files.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// The file could not be read.
    #[error("cannot read cassette {path}: {source}")]
    Io {
        /// The file we tried to read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not YAML of the expected shape.
    #[error("cassette {origin} is not valid YAML of the expected shape: {source}")]
    Yaml {
        /// A file path, or `inline` for text given directly.
        origin: String,
        /// What the YAML parser said.
        source: serde_norway::Error,
    },
    /// The YAML parsed but its content makes no sense as a recording.
    #[error("cassette {origin}: {message}")]
    Format {
        /// A file path, or `inline` for text given directly.
        origin: String,
        /// What is wrong, naming the offending entry.
        message: String,
    },
}

/// Shorthand for results of the loaders.
pub type Result<T, E = TestkitError> = std::result::Result<T, E>;
