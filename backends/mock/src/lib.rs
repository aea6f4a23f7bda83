//! The mock cloud.
