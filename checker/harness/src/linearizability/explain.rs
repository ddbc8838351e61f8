//! The report of a non-linearizable part: its timeline and, in words, where
//! every order breaks down.

use super::history::{Op, Outcome};
use super::model::NondeterministicModel;
use super::search::{Stuck, View};
use super::timeline::{label, millis, render, Bar, End};
use super::NotLinearizable;
use std::fmt::{Debug, Write};

/// The report on `part` (of key `key`), where the search ended at `stuck`;
/// `shrink_finished` says whether `part` is as small as the shrink gets it.
pub(crate) fn report<M: NondeterministicModel>(
    model: &M,
    history: &[Op<M::Input, M::Output>],
    key: M::Key,
    part: &[View<'_, M>],
    stuck: &Stuck<M::State>,
    shrink_finished: bool,
) -> NotLinearizable<M::Key> {
    // Letters in order of invocation.
    let mut by_time: Vec<usize> = (0..part.len()).collect();
    by_time.sort_by_key(|&i| (part[i].invoked, part[i].id));
    let mut names = vec![String::new(); part.len()];
    for (n, &i) in by_time.iter().enumerate() {
        names[i] = label(n);
    }
    // Drawn with their true times and results, also those the search saw
    // as still running at the end of the part.
    let bars: Vec<Bar> = by_time
        .iter()
        .map(|&i| {
            let op = &history[part[i].id];
            Bar {
                client: op.client,
                label: names[i].clone(),
                start: op.invoked,
                end: match op.outcome {
                    Outcome::Returned { at, .. } | Outcome::Failed { at } => End::Returned(at),
                    Outcome::Unknown { by: Some(by) } => End::Unknown(by),
                    Outcome::Unknown { by: None } => End::Open,
                },
                text: describe(op),
            }
        })
        .collect();

    let mut why = String::new();
    let list = |ops: &[usize]| {
        let names: Vec<&str> = ops.iter().map(|&i| names[i].as_str()).collect();
        names.join(", ")
    };
    if stuck.order.is_empty() {
        why.push_str("No operation can take effect first.\n");
    } else {
        let _ = writeln!(
            why,
            "The longest order found is {}, after which the state is {:?}.",
            list(&stuck.order),
            stuck.state
        );
    }
    if !stuck.dropped.is_empty() {
        let _ = writeln!(
            why,
            "On the way, {} (outcome unknown) had no effect: its time to take effect was up.",
            list(&stuck.dropped),
        );
    }
    if let Some(blocked) = part.get(stuck.blocked) {
        let deadline = blocked.returned.expect("a blocked operation returned");
        let _ = writeln!(
            why,
            "Then {} must take effect, since it returned at {}, but nothing can be placed next:",
            names[stuck.blocked],
            millis(deadline)
        );
        let mut results = Vec::new();
        for &i in &by_time {
            let v = &part[i];
            if stuck.order.contains(&i) || stuck.dropped.contains(&i) || v.invoked > deadline {
                continue;
            }
            results.clear();
            model.steps(&stuck.state, v.input, &mut results);
            let mut outputs: Vec<String> = Vec::new();
            for (_, out) in &results {
                let out = format!("{out:?}");
                if !outputs.contains(&out) {
                    outputs.push(out);
                }
            }
            let verdict = match v.output {
                _ if results.is_empty() => "cannot take effect here".to_string(),
                Some(out) if results.iter().all(|(_, o)| o != out) => {
                    format!(
                        "would return {} here, but returned {out:?}",
                        outputs.join(" or ")
                    )
                }
                _ => "fits here, but no order of the others works after it".to_string(),
            };
            let _ = writeln!(why, "  {} {:?} {verdict}", names[i], v.input);
        }
        for &i in &by_time {
            if part[i].invoked > deadline {
                let _ = writeln!(
                    why,
                    "  {} {:?} began at {}, after {} returned, so it cannot go before it",
                    names[i],
                    part[i].input,
                    millis(part[i].invoked),
                    names[stuck.blocked]
                );
            }
        }
    }
    NotLinearizable {
        key,
        ops: by_time.iter().map(|&i| part[i].id).collect(),
        order: stuck.order.iter().map(|&i| part[i].id).collect(),
        stuck: part.get(stuck.blocked).map_or(usize::MAX, |v| v.id),
        timeline: render(&bars),
        explanation: why,
        shrink_finished,
    }
}

/// `input -> output`, or what is known of its outcome.
fn describe<I: Debug, O: Debug>(op: &Op<I, O>) -> String {
    match &op.outcome {
        Outcome::Returned { output, .. } => format!("{:?} -> {output:?}", op.input),
        Outcome::Unknown { by: None } => format!("{:?} (no reply)", op.input),
        Outcome::Unknown { by: Some(_) } => format!("{:?} (outcome unknown)", op.input),
        Outcome::Failed { .. } => format!("{:?} (failed, no effect)", op.input),
    }
}
