//! Known-wrong stores for the meta tests: the references' logic, each with
//! one planted flaw that a check must catch. They speak the subject's
//! messages, so the same checks run them.

pub use abd::WrongAbd;
pub use ae::{AeFlaw, WrongAe};
pub use repair::{RepairFlaw, WrongRepair};
pub use rw::WrongRw;

mod abd;
mod ae;
mod repair;
mod rw;
