//! Test kit for backend tests: being written.
