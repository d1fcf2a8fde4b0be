//! The AWS harness: the `moto_server` that `scripts/test` starts and the ports built on it, the recording proxy
//! that holds every call to the template's roles, IAM's judgement of those calls, the translated template, the
//! faults AWS produces, and DynamoDB's capacity accounting.

pub mod calls;
pub mod capacity;
pub mod faults;
pub mod harness;
pub mod iam;
pub mod moto;
pub mod proxy;
pub mod recorder;
pub mod roles;
pub mod stored_webhooks;
pub mod template;
