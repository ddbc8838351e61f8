//! Seeing a run: drawing a replayed run (a `dsim::Dump`) for the learner, as
//! columns in the terminal, as an HTML space-time diagram, or as a ShiViz
//! log. (Noticing a run that does not replay the same way twice is part of
//! checking: `check::nondeterminism`.)

pub mod columns;
pub mod html;
pub mod reflow;
pub mod shiviz;
