//! The tree alone, on random logs: every entry judged by the audit, with no
//! network and no clients.

use super::audit::Audit;
use super::Service;
use crate::subject::coord::sessions::{Command, Op, SessionId, REPLICAS};
use dscheck::{ms, Failure};
use dsim::{NodeId, SimRng, Time};

/// The tree alone, on a log drawn from the seed: sessions open, ping, go
/// quiet and expire; they create (plain, ephemeral, sequential), delete,
/// list and watch a few paths, and repeat requests. Every entry is judged
/// by the same rules as the service's log.
pub(super) fn random_log<N: Service>(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let paths = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z"];
    let mut log = Vec::new();
    let mut now = Time::ZERO;
    // Each client's session number and next request number.
    let mut sessions: Vec<(SessionId, u64)> = (REPLICAS..REPLICAS + 3)
        .map(|c| {
            let session = SessionId {
                client: NodeId(c),
                number: 1,
            };
            (session, 1)
        })
        .collect();
    for _ in 0..600 {
        let i = rng.below(sessions.len() as u64) as usize;
        let (session, xid) = sessions[i];
        let path = paths[rng.below(paths.len() as u64) as usize].to_string();
        let watch = rng.chance(0.7);
        let op = match rng.below(9) {
            0 | 1 => Op::Create {
                path,
                ephemeral: rng.chance(0.5),
                sequential: false,
            },
            2 => Op::Create {
                path: format!("{path}/s-"),
                ephemeral: rng.chance(0.5),
                sequential: true,
            },
            3 | 4 => Op::Delete { path },
            5 | 6 => Op::Exists { path, watch },
            7 => Op::Children { path, watch },
            _ => {
                // On a 50 ms grid, so that expiries fall exactly on a Tick.
                now = now + ms(50) * rng.below(6) as u32;
                log.push(Command::Tick { now });
                continue;
            }
        };
        let roll = rng.unit();
        if roll < 0.1 {
            // A repeat of the last request (or a fresh one if none yet).
            let xid = xid.saturating_sub(1).max(1);
            log.push(Command::Request { session, xid, op });
        } else if roll < 0.2 {
            let sent = now;
            log.push(Command::Ping { session, sent });
        } else if roll >= 0.97 && session.number > 1 {
            // A late Open of this client's previous session.
            let old = SessionId {
                number: session.number - 1,
                ..session
            };
            let (op, xid) = (Op::Open, 1);
            log.push(Command::Request {
                session: old,
                xid,
                op,
            });
        } else if roll < 0.23 {
            // A new session for this client (the old one goes quiet).
            let next = SessionId {
                number: session.number + 1,
                ..session
            };
            log.push(Command::Request {
                session: next,
                xid: 1,
                op: Op::Open,
            });
            sessions[i] = (next, 2);
        } else {
            if xid == 1 {
                log.push(Command::Request {
                    session,
                    xid,
                    op: Op::Open,
                });
                sessions[i].1 = 2;
                continue;
            }
            log.push(Command::Request { session, xid, op });
            sessions[i].1 += 1;
        }
    }
    let mut audit = Audit::<N>::new();
    audit.replay(&log);
    match audit.broken.into_values().next() {
        Some((property, detail)) => Err(Failure::new(property, detail)),
        None => Ok(()),
    }
}
