//! The Deltacloud REST frontend.
