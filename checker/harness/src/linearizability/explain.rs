//! The report of a non-linearizable part: its timeline and, in words, where
//! every order breaks down.

use super::history::Op;
use super::model::Model;
use super::search::{Stuck, View};
use super::timeline::{label, millis, render, Bar};
use super::NotLinearizable;
use std::fmt::{Debug, Write};

/// The report on `part` (of key `key`), where the search ended at `stuck`.
pub(crate) fn report<M: Model>(
    model: &M,
    history: &[Op<M::Input, M::Output>],
    key: &M::Key,
    part: &[View<'_, M>],
    stuck: &Stuck<M::State>,
) -> NotLinearizable {
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
                end: op.returned(),
                text: describe(op),
            }
        })
        .collect();

    let mut why = String::new();
    let taken: Vec<&str> = stuck.order.iter().map(|&i| names[i].as_str()).collect();
    if taken.is_empty() {
        why.push_str("No operation can take effect first.\n");
    } else {
        let _ = writeln!(
            why,
            "The longest order found is {}, after which the state is {:?}.",
            taken.join(", "),
            stuck.state
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
        for &i in &by_time {
            let v = &part[i];
            if stuck.order.contains(&i) || v.invoked > deadline {
                continue;
            }
            let (_, would) = model.step(&stuck.state, v.input);
            let verdict = match v.output {
                Some(out) if *out != would => {
                    format!("would return {would:?} here, but returned {out:?}")
                }
                _ => "fits here, but no order of the others works after it".to_string(),
            };
            let _ = writeln!(why, "  {} {:?} {verdict}", names[i], v.input);
        }
    }
    NotLinearizable {
        key: format!("{key:?}"),
        ops: by_time.iter().map(|&i| part[i].id).collect(),
        order: stuck.order.iter().map(|&i| part[i].id).collect(),
        stuck: part.get(stuck.blocked).map_or(usize::MAX, |v| v.id),
        timeline: render(&bars),
        explanation: why,
    }
}

/// `input -> output`, or `input` alone if it never returned.
fn describe<I: Debug, O: Debug>(op: &Op<I, O>) -> String {
    match op.output() {
        Some(out) => format!("{:?} -> {:?}", op.input, out),
        None => format!("{:?} (no reply)", op.input),
    }
}
