//! quorum_abd: schedules written out, so that the bugs they expose are
//! exposed in every run rather than in the rare seed whose timing happens
//! to line them up. Each ends with the history checked for
//! linearizability: a correct register passes whatever the schedule.

use super::abd::{check_history, updates_sent_by};
use super::workload::{finished, Clients, Observed};
use dscheck::{ms, run, Failure};
use dsim::{Network, Node, NodeId, Sim};

use crate::subject::quorums::quorum_abd::{Msg, Request};

/// Cuts every link between the nodes of `a` and those of `b`, both ways.
fn cut_between<N: Node>(sim: &mut Sim<N>, a: &[NodeId], b: &[NodeId]) -> Result<(), Failure> {
    for &x in a {
        for &y in b {
            run(sim, |s| s.cut(x, y))?;
            run(sim, |s| s.cut(y, x))?;
        }
    }
    Ok(())
}

/// A writer that missed the last write: n0 is cut off while n4 writes 1
/// (tag counter 1 on n1 to n4); back in touch, n0 writes 2, then n4 reads.
/// The write of 2 came after the write of 1, so the read must return 2.
/// A writer that makes its tag from its own counter, without the query
/// phase's highest tag, writes 2 under a lower tag than 1's, and every
/// replica that holds 1 keeps it.
pub fn stale_writer<N>(seed: u64, factory: impl FnMut(NodeId) -> N + 'static) -> Result<(), Failure>
where
    N: Observed + Node<Msg = Msg, Request = Request>,
{
    let mut sim = Sim::new(seed, 5, factory);
    sim.set_network(Network::reliable(ms(1), ms(5)));
    let (n0, n4) = (NodeId(0), NodeId(4));
    let mut clients = Clients::new();
    run(&mut sim, |s| s.isolate(n0))?;
    clients.insert(sim.request(n4, Request::Write(1)), 0);
    run(&mut sim, |s| s.run_for(ms(300)))?;
    run(&mut sim, |s| s.heal())?;
    clients.insert(sim.request(n0, Request::Write(2)), 1);
    run(&mut sim, |s| s.run_for(ms(300)))?;
    clients.insert(sim.request(n4, Request::Read), 0);
    run(&mut sim, |s| s.run_for(ms(500)))?;
    check_history(&sim, &clients)?;
    finished(&mut sim)
}

/// Two writers whose tags share a counter: n0 writes 1 and n4 writes 2 at
/// the same instant, with every link between {n0, n1} and {n3, n4} cut,
/// so both queries find nothing and both writes get counter 1; only the
/// writer's id orders them. n2, the one replica both reach, gets n0's
/// update first (n4's link to it is cut while its update is on the way,
/// and n4 sends it again later). Then a read at n1 (which reaches n0, n1
/// and n2) and a read at n3 (n2, n3 and n4), one after the other: both
/// writes have completed, so both reads must return the same value.
/// A replica or a query that compares counters alone keeps whichever
/// pair came first, and the reads disagree.
pub fn colliding_writers<N>(
    seed: u64,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure>
where
    N: Observed + Node<Msg = Msg, Request = Request>,
{
    let mut sim = Sim::new(seed, 5, factory);
    // A fixed latency: both queries reach n2 before either update does.
    sim.set_network(Network::reliable(ms(5), ms(5)));
    let [n0, n1, n2, n3, n4] = [0, 1, 2, 3, 4].map(NodeId);
    cut_between(&mut sim, &[n0, n1], &[n3, n4])?;
    let mut clients = Clients::new();
    clients.insert(sim.request(n0, Request::Write(1)), 0);
    clients.insert(sim.request(n4, Request::Write(2)), 1);
    let from = sim.trace().total();
    run(&mut sim, |s| {
        s.run_until(ms(500), |s| updates_sent_by(s, n4, from))
    })?;
    run(&mut sim, |s| s.cut(n4, n2))?;
    run(&mut sim, |s| s.run_for(ms(20)))?;
    // Undo only n4 → n2: the {n0, n1} | {n3, n4} cut stays.
    run(&mut sim, |s| s.heal())?;
    cut_between(&mut sim, &[n0, n1], &[n3, n4])?;
    run(&mut sim, |s| s.run_for(ms(400)))?;
    clients.insert(sim.request(n1, Request::Read), 2);
    run(&mut sim, |s| s.run_for(ms(300)))?;
    clients.insert(sim.request(n3, Request::Read), 3);
    run(&mut sim, |s| s.run_for(ms(300)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(500)))?;
    check_history(&sim, &clients)?;
    finished(&mut sim)
}
