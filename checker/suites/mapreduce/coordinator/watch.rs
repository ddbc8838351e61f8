//! The checks of a run, registered when it starts and checked after every
//! event.

use super::job::{sequential, short, store, WORKERS};
use super::{Cluster, BARRIER, OUTPUT, REEXECUTE, WHOLE};
use crate::subject::mapreduce::coordinator::{
    intermediate_name, output_name, Job, Msg, Task, COORDINATOR, TASK_TIMEOUT,
};
use dsim::{Broken, Event, NodeId, Sim, Time};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A run of `job` with its checks registered.
pub fn start<N: Cluster>(seed: u64, job: &Job) -> Sim<N> {
    let for_nodes = job.clone();
    let mut sim = Sim::new(seed, 2 + WORKERS, move |id| N::build(id, for_nodes.clone()));
    watch(&mut sim, job);
    sim
}

/// Registers OUTPUT, WHOLE, BARRIER and REEXECUTE, checked after every event.
pub fn watch<N: Cluster>(sim: &mut Sim<N>, job: &Job) {
    let expected = sequential(job);
    let (maps, reduces) = (job.inputs.len(), job.reduces);
    let finals: Vec<String> = (0..maps)
        .flat_map(|m| (0..reduces).map(move |r| intermediate_name(m, r)))
        .chain((0..reduces).map(output_name))
        .collect();
    let seen: Rc<RefCell<BTreeMap<String, String>>> = Rc::default();
    sim.check(OUTPUT, move |sim, _| {
        for (r, want) in expected.iter().enumerate() {
            match store(sim).files.get(&output_name(r)) {
                Some(got) if got != want => {
                    return Err(Broken::new(format!(
                        "{} holds {}, but a sequential run puts {} in partition {r}",
                        output_name(r),
                        short(got),
                        short(want)
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    });
    sim.check(WHOLE, move |sim, _| {
        let store = store(sim);
        let mut seen = seen.borrow_mut();
        for name in &finals {
            match (store.files.get(name), seen.get(name)) {
                (Some(now), Some(before)) if now != before => {
                    return Err(Broken::new(format!(
                        "{name} changed after it was in place: it held {}, now {}",
                        short(before),
                        short(now)
                    )))
                }
                (None, Some(_)) => {
                    return Err(Broken::new(format!("{name} was in place, and is gone")))
                }
                (Some(now), None) => {
                    if !store.placed.contains(name) {
                        return Err(Broken::new(format!(
                            "{name} appeared without a rename (written in place): it holds {}",
                            short(now)
                        )));
                    }
                    seen.insert(name.clone(), now.clone());
                }
                _ => {}
            }
        }
        Ok(())
    });
    sim.check(BARRIER, move |sim, step| {
        for task in handed_out(step.caused()) {
            let Task::Reduce(r) = task.1 else { continue };
            let files = &store(sim).files;
            let missing = (0..maps)
                .flat_map(|m| (0..reduces).map(move |p| intermediate_name(m, p)))
                .find(|name| !files.contains_key(name));
            if let Some(name) = missing {
                return Err(Broken::new(format!(
                    "the coordinator handed reduce {r} to {} while {name} was not yet in place",
                    task.0
                )));
            }
        }
        Ok(())
    });
    // Per task: when and to whom it was last handed out, and whether the
    // coordinator has heard that it finished.
    // With backup tasks, a second copy before TASK_TIMEOUT is the
    // stragglers' rule to check (`stragglers::BACKUPS`).
    let backups = job.backups;
    let handed: Rc<RefCell<BTreeMap<Task, (NodeId, Time)>>> = Rc::default();
    let done: Rc<RefCell<Vec<Task>>> = Rc::default();
    sim.check(REEXECUTE, move |sim, step| {
        if let Some(Event::Deliver {
            to: COORDINATOR,
            msg: Msg::Ask {
                finished: Some(task),
            },
            ..
        }) = step.trigger_event()
        {
            if !done.borrow().contains(task) {
                done.borrow_mut().push(*task);
            }
        }
        for (worker, task) in handed_out(step.caused()) {
            if done.borrow().contains(&task) {
                return Err(Broken::new(format!(
                    "the coordinator handed {task:?} to {worker} after it was reported finished"
                ))
                .nodes([COORDINATOR]));
            }
            let now = sim.now();
            let mut handed = handed.borrow_mut();
            // Answering a repeated Ask with the task its worker holds hands
            // nothing out again (and does not restart its clock).
            if handed
                .get(&task)
                .is_some_and(|(holder, _)| *holder == worker)
            {
                continue;
            }
            if let Some((before, at)) = handed.insert(task, (worker, now)) {
                if !backups && now.saturating_since(at) < TASK_TIMEOUT {
                    return Err(Broken::new(format!(
                        "the coordinator handed {task:?} to {before} at {at} and again to \
                         {worker} at {now}, before TASK_TIMEOUT ({} ms) had passed",
                        TASK_TIMEOUT.as_millis()
                    ))
                    .nodes([COORDINATOR]));
                }
            }
        }
        Ok(())
    });
}

/// The tasks the coordinator handed out in these events, with their workers.
pub fn handed_out<N: Cluster>(entries: &[dsim::Entry<N>]) -> Vec<(NodeId, Task)> {
    entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Send {
                from: COORDINATOR,
                to,
                msg: Msg::Assign(task),
                ..
            } => Some((*to, *task)),
            _ => None,
        })
        .collect()
}
