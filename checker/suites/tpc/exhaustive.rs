//! Exhaustive checking of small cases: with three participants, every
//! ordering of messages, every loss and (for recovery) every crash and
//! restart, breadth first, so that a failure shows the shortest run that
//! breaks a property.

use super::observed::{Build, Observed, Outcome};
use super::properties::{
    atomic, of_view, stable, valid, waits, ATOMIC, REACHES, STABLE, VALID, WAITS,
};
use dscheck::{metric, Failure};
use dsim::{Explorer, NodeId, View};
use std::time::Instant;

/// What the model allows.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    /// What the model is, for the measurements.
    pub name: &'a str,
    /// Whether each node can commit (index 0, the coordinator, unused).
    pub can_commit: &'a [bool],
    /// How many crashes a run may have (each node may then restart).
    pub crashes: usize,
    /// How many messages a run may lose.
    pub losses: usize,
}

fn all_decided<N: Observed>(view: &View<N>, outcome: Outcome) -> bool {
    view.ids()
        .skip(1)
        .all(|id| view.node(id).and_then(N::decision) == Some(outcome))
}

/// Explores every run of `model`, checking the safety properties in every
/// state and every step; with `goals`, both outcomes must be reachable.
pub fn explore<N: Observed>(build: Build<N>, model: Model, goals: bool) -> Result<(), Failure> {
    let n = model.can_commit.len();
    let can_commit = model.can_commit.to_vec();
    let votes = can_commit.clone();
    let ids: Vec<NodeId> = (0..n).map(NodeId).collect();
    let explorer = Explorer::new(n, move |id| build(id, votes[id.0]))
        .request(NodeId(0), N::begin())
        .with_loss(model.losses)
        .timers_when_quiet()
        .with_crashes(model.crashes, &ids)
        .max_states(3_000_000)
        .always(ATOMIC, |v| atomic(&of_view(v)))
        .always(WAITS, |v| waits(&of_view(v)))
        .always(VALID, move |v| valid(&of_view(v), &can_commit))
        .every_step(STABLE, |step| {
            stable(&of_view(&step.before), &of_view(&step.after))
        })
        .goal("all commit", |v| all_decided(v, Outcome::Commit))
        .goal("all abort", |v| all_decided(v, Outcome::Abort));
    let started = Instant::now();
    let explored = explorer.run().map_err(Failure::from_counterexample)?;
    metric(&format!("states explored, {}", model.name), explored.states);
    metric(&format!("search depth, {}", model.name), explored.depth);
    metric(
        &format!("exploration time (ms), {}", model.name),
        started.elapsed().as_millis(),
    );
    if goals {
        for (goal, run) in &explored.goals {
            if run.is_none() {
                return Err(Failure::new(
                    REACHES,
                    format!(
                        "no run of the {} states reachable ends with {goal} (votes {:?})",
                        explored.states,
                        &model.can_commit[1..]
                    ),
                ));
            }
        }
    }
    Ok(())
}
