//! The rhevm backend: being written.
