//! The protocols of the exercises whose suites are compiled once: what a
//! learner's node and its topic's suite both name (messages, timers,
//! requests, replies, constants). The learner's files re-export them, so
//! `exercises::intro::pingpong::Msg` is this crate's type, and the suite,
//! which depends on this crate and not on the learner's, is not rebuilt
//! when the learner saves (see ARCHITECTURE, "Where a save's time goes").

pub mod intro {
    pub mod pingpong;
    pub mod retry;
}
