//! The ec2 backend: being written.
