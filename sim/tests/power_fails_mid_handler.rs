//! `Sim::power_cut_after`: the power fails between two disk operations of
//! one handler. A checkpoint written in the safe order (temporary file,
//! sync, rename, sync of the directory) survives a failure between any two
//! of its steps whole, old or new; one that renames before syncing can
//! leave the name over contents that never reached the disk. The handler's
//! reply is never sent, and the run is the same for the same seed.

use dsim::{Ctx, Event, Node, NodeId, RequestId, Sim};
use serde::Serialize;

const N0: NodeId = NodeId(0);
const MAIN: &str = "checkpoint";
const TMP: &str = "checkpoint.tmp";

/// Writes a checkpoint of its value on every request.
#[derive(Debug)]
struct Checkpointer {
    /// Sync the temporary file before renaming it (the safe order).
    sync_before_rename: bool,
}

#[derive(Clone, Debug, Serialize)]
struct Write(String);

impl Node for Checkpointer {
    type Msg = ();
    type Timer = ();
    type Request = Write;
    type Reply = ();

    fn on_message(&mut self, _: &mut Ctx<Self>, _: NodeId, _: ()) {}

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, Write(text): Write) {
        let disk = ctx.disk();
        disk.create(TMP);
        disk.write_at(TMP, 0, text.as_bytes()).unwrap();
        if self.sync_before_rename {
            disk.sync(TMP).unwrap();
        }
        disk.rename(TMP, MAIN).unwrap();
        disk.sync_dir();
        if !self.sync_before_rename {
            disk.sync(MAIN).unwrap();
        }
        ctx.reply(id, ());
    }
}

/// A first checkpoint "old" made durable, then a second one "new" whose
/// handler loses power after `ops` disk operations; the checkpoint's
/// contents after the cut (`None`: no file), and whether the second write
/// was answered.
fn after_failure(seed: u64, sync_before_rename: bool, ops: u64) -> (Option<String>, bool) {
    let mut sim = Sim::new(seed, 1, move |_| Checkpointer { sync_before_rename });
    sim.request(N0, Write("old".repeat(200)));
    sim.run_until_quiet(std::time::Duration::from_secs(1))
        .unwrap();
    sim.power_cut_after(N0, ops);
    let second = sim.request(N0, Write("new".repeat(200)));
    sim.run_until_quiet(std::time::Duration::from_secs(1))
        .unwrap();
    let answered = sim.operation(second).is_complete();
    let text = sim
        .disk(N0)
        .read(MAIN)
        .ok()
        .map(|b| String::from_utf8_lossy(b).into_owned());
    (text, answered)
}

#[test]
fn a_safe_checkpoint_is_old_or_new_whole_wherever_the_power_fails() {
    // The handler makes five changes: the power fails before each.
    for seed in 1..=20 {
        for ops in 0..5 {
            let (text, answered) = after_failure(seed, true, ops);
            let text = text.expect("the old checkpoint was durable");
            assert!(
                text == "old".repeat(200) || text == "new".repeat(200),
                "seed {seed}, failure after {ops} operations: {text:?}"
            );
            assert!(!answered, "a handler that lost power answers nothing");
        }
    }
}

#[test]
fn renaming_before_the_sync_can_leave_a_checkpoint_that_never_reached_the_disk() {
    let torn = (1..=20).any(|seed| {
        (0..6).any(|ops| {
            let (text, _) = after_failure(seed, false, ops);
            text.is_none_or(|t| t != "old".repeat(200) && t != "new".repeat(200))
        })
    });
    assert!(
        torn,
        "some failure point leaves the name over unsynced contents"
    );
}

#[test]
fn a_failure_past_the_handlers_last_operation_waits_for_the_next() {
    // Five operations per safe checkpoint: after 6, the failure lands in
    // the second checkpoint's handler, which is then not answered.
    let mut sim = Sim::new(1, 1, |_| Checkpointer {
        sync_before_rename: true,
    });
    sim.power_cut_after(N0, 6);
    let first = sim.request(N0, Write("a".into()));
    sim.run_until_quiet(std::time::Duration::from_secs(1))
        .unwrap();
    assert!(sim.operation(first).is_complete());
    assert!(
        sim.node(N0).is_some(),
        "the first handler made only 5 changes"
    );
    let second = sim.request(N0, Write("b".into()));
    sim.run_until_quiet(std::time::Duration::from_secs(1))
        .unwrap();
    assert!(!sim.operation(second).is_complete());
    assert!(sim.node(N0).is_none(), "the power failed during the second");
    let cut = sim
        .trace()
        .entries()
        .any(|e| matches!(e.event, Event::PowerCut { .. }));
    assert!(cut, "the trace shows the power cut");
}

#[test]
fn the_same_seed_fails_the_same_way() {
    for ops in 0..6 {
        assert_eq!(after_failure(7, false, ops), after_failure(7, false, ops));
    }
}
