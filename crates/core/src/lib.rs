//! The gateway's core: the resource model every frontend renders and every backend produces, the
//! driver capability traits, features, the instance state machine and the one error type.
//!
//! This crate knows nothing about HTTP, XML, JSON, SQL or any provider's wire format. Frontends
//! (`/api`, `/ec2`, `/cimi`) translate their protocol into calls on [`Driver`]; backends implement
//! [`Driver`] against one provider. The server crate is the only place where both meet.

pub mod cimi;
pub mod context;
pub mod driver;
pub mod error;
pub mod features;
pub mod filter;
pub mod hardware;
pub mod ids;
pub mod model;
pub mod registry;
pub mod secret;
pub mod state;

pub use cimi::*;
pub use context::{Credentials, MatrixSelection, RequestContext, RequestId};
pub use driver::{Capability, CapabilitySet, CimiEntities, Driver, NoCimiEntities};
pub use error::{Error, ErrorKind, Fault, Result};
pub use features::{DriverFeature, FeatureName};
pub use filter::Filter;
pub use hardware::{HardwareProfile, HardwareProperty, PropertyKind, PropertyName, PropertyValue};
pub use ids::*;
pub use model::*;
pub use registry::{DriverFactory, DriverInfo, DriverSettings, Gateway, Registry};
pub use secret::Secret;
pub use state::{InstanceAction, InstanceState, StateMachine, Transition, Trigger};

/// The API version the original server reported; clients read it from the entry point and the
/// `Server` header.
pub const API_VERSION: &str = "1.1.3";
