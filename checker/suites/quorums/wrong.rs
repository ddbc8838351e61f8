//! Known-wrong stores for the meta tests: the references' logic, each with
//! one planted flaw that a check must catch. They speak the subject's
//! messages, so the same checks run them.

#![allow(dead_code)]

pub use abd::WrongAbd;
pub use ae::{AeFlaw, WrongAe};
pub use repair::{RepairFlaw, WrongRepair};
pub use rw::WrongRw;

mod rw {
    use crate::subject::quorums::quorum_rw::{
        Key, Msg, Reply, Request, Timer, Versioned, RESEND_AFTER,
    };
    use dsim::{Ctx, Node, NodeId, RequestId};
    use std::collections::{BTreeMap, BTreeSet};

    /// A client request this node coordinates.
    #[derive(Debug)]
    pub struct Coordinating {
        pub request: Request,
        /// The replicas that answered.
        pub answered: BTreeSet<NodeId>,
        /// The newest value among the read answers.
        pub newest: Option<Versioned>,
    }

    #[derive(Debug)]
    pub struct WrongRw {
        /// Answers a read at its first reply.
        pub first_reply: bool,
        /// Read quorum size.
        pub r: usize,
        /// Write quorum size.
        pub w: usize,
        /// This replica's copy of the store.
        pub store: BTreeMap<Key, Versioned>,
        /// The requests this node coordinates, until answered.
        pub coordinating: BTreeMap<RequestId, Coordinating>,
    }

    impl WrongRw {
        /// Waits for `r` answers to a read (1 with `first_reply`) and `w` to a write.
        pub fn new(r: usize, w: usize, first_reply: bool) -> Self {
            WrongRw {
                first_reply,
                r,
                w,
                store: BTreeMap::new(),
                coordinating: BTreeMap::new(),
            }
        }

        /// The message that asks a replica to do its part of `request`.
        fn ask(id: RequestId, request: Request) -> Msg {
            match request {
                Request::Get { key } => Msg::Read { id, key },
                Request::Put { key, value, ts } => Msg::Write {
                    id,
                    key,
                    versioned: Versioned { ts, value },
                },
            }
        }

        /// Sends request `id` to every replica that has not answered it; this
        /// node, a replica too, answers itself at once.
        fn ask_missing(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
            let Some(op) = self.coordinating.get(&id) else {
                return;
            };
            let msg = Self::ask(id, op.request);
            let me = ctx.id();
            let missing: Vec<NodeId> = ctx
                .peers()
                .iter()
                .copied()
                .chain([me])
                .filter(|n| !op.answered.contains(n))
                .collect();
            for to in missing {
                if to == me {
                    self.on_message(ctx, me, msg.clone());
                } else {
                    ctx.send(to, msg.clone());
                }
            }
            if self.coordinating.contains_key(&id) {
                ctx.set_timer(Timer::Resend(id), RESEND_AFTER);
            }
        }

        /// The replica's part of a write: keep the newer value.
        fn store_if_newer(&mut self, key: Key, versioned: Versioned) {
            let newer = self.store.get(&key).is_none_or(|v| versioned.ts > v.ts);
            if newer {
                self.store.insert(key, versioned);
            }
        }

        /// Counts `from`'s answer to request `id`; answers the client once a
        /// quorum has answered.
        fn on_answer(
            &mut self,
            ctx: &mut Ctx<Self>,
            from: NodeId,
            id: RequestId,
            stored: Option<Versioned>,
        ) {
            let Some(op) = self.coordinating.get_mut(&id) else {
                return; // already answered
            };
            op.answered.insert(from);
            if stored.is_some_and(|s| op.newest.is_none_or(|n| s.ts > n.ts)) {
                op.newest = stored;
            }
            let (quorum, reply) = match op.request {
                Request::Get { .. } if self.first_reply => {
                    (1, Reply::Value(op.newest.map(|v| v.value)))
                }
                Request::Get { .. } => (self.r, Reply::Value(op.newest.map(|v| v.value))),
                Request::Put { .. } => (self.w, Reply::Written),
            };
            if op.answered.len() >= quorum {
                self.coordinating.remove(&id);
                ctx.cancel_timer(Timer::Resend(id));
                ctx.reply(id, reply);
            }
        }
    }

    impl Node for WrongRw {
        type Msg = Msg;
        type Timer = Timer;
        type Request = Request;
        type Reply = Reply;

        fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, request: Request) {
            self.coordinating.insert(
                id,
                Coordinating {
                    request,
                    answered: BTreeSet::new(),
                    newest: None,
                },
            );
            self.ask_missing(ctx, id);
        }

        fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
            let me = ctx.id();
            match msg {
                Msg::Read { id, key } => {
                    let stored = self.store.get(&key).copied();
                    if from == me {
                        self.on_answer(ctx, me, id, stored);
                    } else {
                        ctx.send(from, Msg::ReadOk { id, stored });
                    }
                }
                Msg::Write { id, key, versioned } => {
                    self.store_if_newer(key, versioned);
                    if from == me {
                        self.on_answer(ctx, me, id, None);
                    } else {
                        ctx.send(from, Msg::WriteOk { id });
                    }
                }
                Msg::ReadOk { id, stored } => self.on_answer(ctx, from, id, stored),
                Msg::WriteOk { id } => self.on_answer(ctx, from, id, None),
            }
        }

        fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
            let Timer::Resend(id) = timer;
            self.ask_missing(ctx, id);
        }
    }
}

mod abd {
    use crate::subject::quorums::quorum_abd::{
        Msg, Phase, Reply, Request, Tag, Timer, Value, RESEND_AFTER,
    };
    use dsim::{Ctx, Node, NodeId, RequestId};
    use std::collections::BTreeSet;

    /// A client request this node coordinates.
    #[derive(Debug)]
    pub struct Operation {
        pub id: RequestId,
        pub request: Request,
        pub phase: Phase,
        /// The replicas that answered the current phase.
        pub answered: BTreeSet<NodeId>,
    }

    #[derive(Debug, Default)]
    pub struct WrongAbd {
        /// Reads skip the update phase.
        pub no_write_back: bool,
        /// This replica's pair.
        pub tag: Tag,
        pub value: Option<Value>,
        /// The operations this node coordinates, until answered.
        pub operations: Vec<Operation>,
    }

    impl WrongAbd {
        pub fn new(no_write_back: bool) -> Self {
            WrongAbd {
                no_write_back,
                ..WrongAbd::default()
            }
        }

        /// More than half of the `n` replicas.
        pub fn majority(n: usize) -> usize {
            n / 2 + 1
        }

        /// The message of an operation's current phase.
        fn phase_msg(op: &Operation) -> Msg {
            match op.phase {
                Phase::Query { .. } => Msg::Query { id: op.id },
                Phase::Update { tag, value } => Msg::Update {
                    id: op.id,
                    tag,
                    value,
                },
            }
        }

        /// Sends the current phase of `id` to every replica that has not
        /// answered it; this node answers itself at once.
        fn ask_missing(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
            let Some(op) = self.operations.iter().find(|o| o.id == id) else {
                return;
            };
            let msg = Self::phase_msg(op);
            let me = ctx.id();
            let missing: Vec<NodeId> = ctx
                .peers()
                .iter()
                .copied()
                .chain([me])
                .filter(|n| !op.answered.contains(n))
                .collect();
            for to in missing {
                if to == me {
                    self.on_message(ctx, me, msg.clone());
                } else {
                    ctx.send(to, msg.clone());
                }
            }
            if self.operations.iter().any(|o| o.id == id) {
                ctx.set_timer(Timer::Resend(id), RESEND_AFTER);
            }
        }

        /// A replica keeps the pair with the higher tag.
        fn store_if_newer(&mut self, tag: Tag, value: Option<Value>) {
            if tag > self.tag {
                self.tag = tag;
                self.value = value;
            }
        }

        /// `from` answered the query of `id` with its pair.
        fn on_query_ok(
            &mut self,
            ctx: &mut Ctx<Self>,
            from: NodeId,
            id: RequestId,
            tag: Tag,
            value: Option<Value>,
        ) {
            let majority = Self::majority(ctx.cluster_size());
            let me = ctx.id().index();
            let own = self.tag.counter;
            let Some(op) = self.operations.iter_mut().find(|o| o.id == id) else {
                return;
            };
            let Phase::Query {
                tag: highest,
                value: highest_value,
            } = op.phase
            else {
                return; // a late answer to a finished query
            };
            op.answered.insert(from);
            let (highest, highest_value) = if tag > highest {
                (tag, value)
            } else {
                (highest, highest_value)
            };
            op.phase = Phase::Query {
                tag: highest,
                value: highest_value,
            };
            if op.answered.len() < majority {
                return;
            }
            // A majority answered: on to the update phase.
            if self.no_write_back && op.request == Request::Read {
                let reply = Reply::Value(highest_value);
                self.operations.retain(|o| o.id != id);
                ctx.cancel_timer(Timer::Resend(id));
                ctx.reply(id, reply);
                return;
            }
            op.phase = match op.request {
                Request::Write(v) => Phase::Update {
                    tag: Tag {
                        counter: highest.counter.max(own) + 1,
                        writer: me,
                    },
                    value: Some(v),
                },
                Request::Read => Phase::Update {
                    tag: highest,
                    value: highest_value,
                },
            };
            op.answered.clear();
            self.ask_missing(ctx, id);
        }

        /// `from` stored the update of `id`.
        fn on_update_ok(&mut self, ctx: &mut Ctx<Self>, from: NodeId, id: RequestId) {
            let majority = Self::majority(ctx.cluster_size());
            let Some(pos) = self.operations.iter().position(|o| o.id == id) else {
                return;
            };
            let op = &mut self.operations[pos];
            let Phase::Update { value, .. } = op.phase else {
                return;
            };
            op.answered.insert(from);
            if op.answered.len() >= majority {
                let reply = match op.request {
                    Request::Read => Reply::Value(value),
                    Request::Write(_) => Reply::Written,
                };
                self.operations.remove(pos);
                ctx.cancel_timer(Timer::Resend(id));
                ctx.reply(id, reply);
            }
        }
    }

    impl Node for WrongAbd {
        type Msg = Msg;
        type Timer = Timer;
        type Request = Request;
        type Reply = Reply;

        fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, request: Request) {
            self.operations.push(Operation {
                id,
                request,
                phase: Phase::Query {
                    tag: Tag::default(),
                    value: None,
                },
                answered: BTreeSet::new(),
            });
            self.ask_missing(ctx, id);
        }

        fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
            let me = ctx.id();
            match msg {
                Msg::Query { id } => {
                    let (tag, value) = (self.tag, self.value);
                    if from == me {
                        self.on_query_ok(ctx, me, id, tag, value);
                    } else {
                        ctx.send(from, Msg::QueryOk { id, tag, value });
                    }
                }
                Msg::Update { id, tag, value } => {
                    self.store_if_newer(tag, value);
                    if from == me {
                        self.on_update_ok(ctx, me, id);
                    } else {
                        ctx.send(from, Msg::UpdateOk { id });
                    }
                }
                Msg::QueryOk { id, tag, value } => self.on_query_ok(ctx, from, id, tag, value),
                Msg::UpdateOk { id } => self.on_update_ok(ctx, from, id),
            }
        }

        fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
            let Timer::Resend(id) = timer;
            self.ask_missing(ctx, id);
        }
    }
}

mod repair {
    use crate::subject::quorums::quorum_read_repair::{
        Key, Msg, Reply, Request, Timer, Versioned, REPAIR_WINDOW, RESEND_AFTER,
    };
    use dsim::{Ctx, Node, NodeId, RequestId};
    use std::collections::BTreeMap;

    /// What a read repairs with.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum RepairFlaw {
        /// The newest answer: correct.
        None,
        /// The oldest answer.
        Oldest,
        /// Nothing.
        NoRepair,
    }

    /// A client request this node coordinates.
    #[derive(Debug)]
    pub struct Coordinating {
        pub request: Request,
        /// Each replica's answer (`None`: it holds nothing for the key).
        pub answers: BTreeMap<NodeId, Option<Versioned>>,
        /// Whether the client has its answer.
        pub replied: bool,
    }

    #[derive(Debug)]
    pub struct WrongRepair {
        pub flaw: RepairFlaw,
        pub r: usize,
        pub w: usize,
        pub store: BTreeMap<Key, Versioned>,
        pub coordinating: BTreeMap<RequestId, Coordinating>,
    }

    impl WrongRepair {
        pub fn new(r: usize, w: usize, flaw: RepairFlaw) -> Self {
            WrongRepair {
                flaw,
                r,
                w,
                store: BTreeMap::new(),
                coordinating: BTreeMap::new(),
            }
        }

        fn ask(id: RequestId, request: Request) -> Msg {
            match request {
                Request::Get { key } => Msg::Read { id, key },
                Request::Put { key, value, ts } => Msg::Write {
                    id,
                    key,
                    versioned: Versioned { ts, value },
                },
            }
        }

        /// Sends request `id` to every replica that has not answered it; this
        /// node answers itself at once.
        fn ask_missing(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
            let Some(op) = self.coordinating.get(&id) else {
                return;
            };
            let msg = Self::ask(id, op.request);
            let me = ctx.id();
            let missing: Vec<NodeId> = ctx
                .peers()
                .iter()
                .copied()
                .chain([me])
                .filter(|n| !op.answers.contains_key(n))
                .collect();
            for to in missing {
                if to == me {
                    self.on_message(ctx, me, msg.clone());
                } else {
                    ctx.send(to, msg.clone());
                }
            }
            if self.coordinating.contains_key(&id) {
                ctx.set_timer(Timer::Resend(id), RESEND_AFTER);
            }
        }

        fn store_if_newer(&mut self, key: Key, versioned: Versioned) {
            if self.store.get(&key).is_none_or(|v| versioned.ts > v.ts) {
                self.store.insert(key, versioned);
            }
        }

        /// The newest of the answers collected so far.
        fn newest(answers: &BTreeMap<NodeId, Option<Versioned>>) -> Option<Versioned> {
            answers.values().flatten().max_by_key(|v| v.ts).copied()
        }

        fn on_answer(
            &mut self,
            ctx: &mut Ctx<Self>,
            from: NodeId,
            id: RequestId,
            stored: Option<Versioned>,
        ) {
            let n = ctx.cluster_size();
            let Some(op) = self.coordinating.get_mut(&id) else {
                return;
            };
            op.answers.insert(from, stored);
            let (quorum, reply) = match op.request {
                Request::Get { .. } => (
                    self.r,
                    Reply::Value(Self::newest(&op.answers).map(|v| v.value)),
                ),
                Request::Put { .. } => (self.w, Reply::Written),
            };
            if !op.replied && op.answers.len() >= quorum {
                op.replied = true;
                ctx.reply(id, reply);
            }
            // A write is done with its quorum; a read waits for every replica
            // (or the window) to repair them.
            let done = match op.request {
                Request::Put { .. } => op.replied,
                Request::Get { .. } => op.answers.len() == n,
            };
            if done {
                self.close(ctx, id);
            }
        }

        /// Stops collecting answers for `id`; for a read, repairs every replica
        /// that answered with something older than the newest answer.
        fn close(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
            let Some(op) = self.coordinating.remove(&id) else {
                return;
            };
            ctx.cancel_timer(Timer::Resend(id));
            ctx.cancel_timer(Timer::Close(id));
            let Request::Get { key } = op.request else {
                return;
            };
            let newest = match self.flaw {
                RepairFlaw::None => Self::newest(&op.answers),
                RepairFlaw::Oldest => op.answers.values().flatten().min_by_key(|v| v.ts).copied(),
                RepairFlaw::NoRepair => return,
            };
            let Some(newest) = newest else {
                return;
            };
            let me = ctx.id();
            for (&replica, answer) in &op.answers {
                if answer.is_none_or(|a| a.ts < newest.ts) {
                    if replica == me {
                        self.store_if_newer(key, newest);
                    } else {
                        ctx.send(
                            replica,
                            Msg::Repair {
                                key,
                                versioned: newest,
                            },
                        );
                    }
                }
            }
        }
    }

    impl Node for WrongRepair {
        type Msg = Msg;
        type Timer = Timer;
        type Request = Request;
        type Reply = Reply;

        fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, request: Request) {
            self.coordinating.insert(
                id,
                Coordinating {
                    request,
                    answers: BTreeMap::new(),
                    replied: false,
                },
            );
            if let Request::Get { .. } = request {
                ctx.set_timer(Timer::Close(id), REPAIR_WINDOW);
            }
            self.ask_missing(ctx, id);
        }

        fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
            let me = ctx.id();
            match msg {
                Msg::Read { id, key } => {
                    let stored = self.store.get(&key).copied();
                    if from == me {
                        self.on_answer(ctx, me, id, stored);
                    } else {
                        ctx.send(from, Msg::ReadOk { id, stored });
                    }
                }
                Msg::Write { id, key, versioned } => {
                    self.store_if_newer(key, versioned);
                    if from == me {
                        self.on_answer(ctx, me, id, None);
                    } else {
                        ctx.send(from, Msg::WriteOk { id });
                    }
                }
                Msg::Repair { key, versioned } => self.store_if_newer(key, versioned),
                Msg::ReadOk { id, stored } => self.on_answer(ctx, from, id, stored),
                Msg::WriteOk { id } => self.on_answer(ctx, from, id, None),
            }
        }

        fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
            match timer {
                Timer::Resend(id) => self.ask_missing(ctx, id),
                // A read still without its quorum keeps going: the client
                // waits for its answer.
                Timer::Close(id) => match self.coordinating.get(&id) {
                    Some(op) if !op.replied => ctx.set_timer(Timer::Close(id), REPAIR_WINDOW),
                    _ => self.close(ctx, id),
                },
            }
        }
    }
}

mod ae {
    use crate::subject::quorums::quorum_anti_entropy::{
        range_hash, Key, Msg, Put, Range, Timer, Versioned, Written, SYNC_EVERY,
    };
    use dsim::{Ctx, Node, NodeId, RequestId};
    use std::collections::BTreeMap;

    /// How an exchange goes wrong.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum AeFlaw {
        /// The Merkle walk: correct.
        None,
        /// Compares the roots only, and on a difference sends every entry.
        StopsAtRoot,
        /// No hashes: every exchange sends every entry.
        EveryKey,
    }

    #[derive(Debug)]
    pub struct WrongAe {
        pub flaw: AeFlaw,
        pub store: BTreeMap<Key, Versioned>,
        /// How many exchanges this replica has started (picks the next peer).
        pub exchanges: usize,
    }

    impl WrongAe {
        pub fn new(flaw: AeFlaw) -> Self {
            WrongAe {
                flaw,
                store: BTreeMap::new(),
                exchanges: 0,
            }
        }

        /// Keeps `versioned` for `key` if it is newer than what this replica has.
        pub fn merge(&mut self, key: Key, versioned: Versioned) {
            if self.store.get(&key).is_none_or(|v| versioned.ts > v.ts) {
                self.store.insert(key, versioned);
            }
        }

        /// This replica's entries in `range`.
        fn entries(&self, range: Range) -> Vec<(Key, Versioned)> {
            self.store
                .range(range.lo..range.hi)
                .map(|(k, v)| (*k, *v))
                .collect()
        }

        /// Compares the sender's hashes with ours: differing leaves are
        /// exchanged entry by entry, differing inner ranges split, and their
        /// halves' hashes sent back in one message.
        fn on_hashes(&mut self, ctx: &mut Ctx<Self>, from: NodeId, ranges: Vec<(Range, u64)>) {
            let mut deeper = Vec::new();
            for (range, theirs) in ranges {
                if range_hash(&self.store, range) == theirs {
                    continue;
                }
                if range.is_leaf() || self.flaw == AeFlaw::StopsAtRoot {
                    let entries = self.entries(range);
                    ctx.send(
                        from,
                        Msg::Entries {
                            range,
                            entries,
                            reply: false,
                        },
                    );
                } else {
                    for half in range.halves() {
                        deeper.push((half, range_hash(&self.store, half)));
                    }
                }
            }
            if !deeper.is_empty() {
                ctx.send(from, Msg::Hashes { ranges: deeper });
            }
        }

        /// Keeps the newer of each entry; answers a first sending with ours.
        fn on_entries(
            &mut self,
            ctx: &mut Ctx<Self>,
            from: NodeId,
            range: Range,
            entries: Vec<(Key, Versioned)>,
            reply: bool,
        ) {
            for (key, versioned) in entries {
                self.merge(key, versioned);
            }
            if !reply {
                let entries = self.entries(range);
                ctx.send(
                    from,
                    Msg::Entries {
                        range,
                        entries,
                        reply: true,
                    },
                );
            }
        }
    }

    impl Node for WrongAe {
        type Msg = Msg;
        type Timer = Timer;
        type Request = Put;
        type Reply = Written;

        fn on_start(&mut self, ctx: &mut Ctx<Self>) {
            ctx.set_timer(Timer::Sync, SYNC_EVERY);
        }

        fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, put: Put) {
            self.merge(
                put.key,
                Versioned {
                    ts: put.ts,
                    value: put.value,
                },
            );
            ctx.reply(id, Written);
        }

        fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
            match msg {
                Msg::Hashes { ranges } => self.on_hashes(ctx, from, ranges),
                Msg::Entries {
                    range,
                    entries,
                    reply,
                } => self.on_entries(ctx, from, range, entries, reply),
            }
        }

        fn on_timer(&mut self, ctx: &mut Ctx<Self>, Timer::Sync: Timer) {
            let peers = ctx.peers();
            if !peers.is_empty() {
                let peer = peers[self.exchanges % peers.len()];
                self.exchanges += 1;
                if self.flaw == AeFlaw::EveryKey {
                    let entries = self.entries(Range::ALL);
                    ctx.send(
                        peer,
                        Msg::Entries {
                            range: Range::ALL,
                            entries,
                            reply: false,
                        },
                    );
                    ctx.set_timer(Timer::Sync, SYNC_EVERY);
                    return;
                }
                let root = range_hash(&self.store, Range::ALL);
                ctx.send(
                    peer,
                    Msg::Hashes {
                        ranges: vec![(Range::ALL, root)],
                    },
                );
            }
            ctx.set_timer(Timer::Sync, SYNC_EVERY);
        }
    }
}
