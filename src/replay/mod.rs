//! Seeing a run: drawing a replayed run (a `dsim::Dump`) for the learner, as
//! columns in the terminal, as an HTML space-time diagram, or as a ShiViz
//! log, and noticing when a run does not replay the same way twice.

pub mod columns;
pub mod html;
pub mod nondeterminism;
pub mod reflow;
pub mod shiviz;
