//! Nodes behind a trait object: the simulator's engine compiled once for a
//! protocol's types (message, timer, request, reply), whatever node type
//! implements them.
//!
//! A suite built against [`Erased`] nodes names only the protocol's types,
//! never the learner's node type, so a change to the learner's code does not
//! recompile the suite: only the learner's crate and a small crate that boxes
//! its node are built on a save (see ARCHITECTURE, "Where a save's time
//! goes"). Every [`Node`] is a [`DynNode`], and an `Erased` node behaves
//! exactly as the node it holds: the same handlers see the same [`Ctx`].

use crate::node::{Context, Ctx, Node, NodeId, RequestId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// The context a handler of protocol `D` gets.
type DynCtx<'a, D> = Context<'a, <D as DynNode>::Msg, <D as DynNode>::Timer, <D as DynNode>::Reply>;

/// [`Node`] in a form a trait object can take: the handlers of a node with
/// these protocol types. Implemented for every node; a suite may require
/// more of the object (`dyn DynNode<…> + ItsView`).
pub trait DynNode: Debug + 'static {
    type Msg: Clone + Debug + Serialize + DeserializeOwned;
    type Timer: Clone + Debug + PartialEq + Serialize;
    type Request: Clone + Debug + Serialize;
    type Reply: Clone + Debug + Serialize;

    /// [`Node::on_start`].
    fn dyn_start(&mut self, ctx: &mut DynCtx<'_, Self>);
    /// [`Node::on_message`].
    fn dyn_message(&mut self, ctx: &mut DynCtx<'_, Self>, from: NodeId, msg: Self::Msg);
    /// [`Node::on_timer`].
    fn dyn_timer(&mut self, ctx: &mut DynCtx<'_, Self>, timer: Self::Timer);
    /// [`Node::on_request`].
    fn dyn_request(&mut self, ctx: &mut DynCtx<'_, Self>, id: RequestId, req: Self::Request);
}

impl<N: Node> DynNode for N {
    type Msg = N::Msg;
    type Timer = N::Timer;
    type Request = N::Request;
    type Reply = N::Reply;

    fn dyn_start(&mut self, ctx: &mut Ctx<'_, N>) {
        self.on_start(ctx)
    }
    fn dyn_message(&mut self, ctx: &mut Ctx<'_, N>, from: NodeId, msg: N::Msg) {
        self.on_message(ctx, from, msg)
    }
    fn dyn_timer(&mut self, ctx: &mut Ctx<'_, N>, timer: N::Timer) {
        self.on_timer(ctx, timer)
    }
    fn dyn_request(&mut self, ctx: &mut Ctx<'_, N>, id: RequestId, req: N::Request) {
        self.on_request(ctx, id, req)
    }
}

/// A boxed node of any type with `D`'s protocol: `Sim<Erased<dyn MyNode>>`
/// is compiled once, for every node type that is a `MyNode`.
pub struct Erased<D: ?Sized>(pub Box<D>);

/// The node's own rendering, so that traces, dumps and the state columns of
/// a replay show an erased node as they show the node itself.
impl<D: ?Sized + Debug> Debug for Erased<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<D: ?Sized + DynNode> Node for Erased<D> {
    type Msg = D::Msg;
    type Timer = D::Timer;
    type Request = D::Request;
    type Reply = D::Reply;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.0.dyn_start(ctx)
    }
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Self::Msg) {
        self.0.dyn_message(ctx, from, msg)
    }
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Self::Timer) {
        self.0.dyn_timer(ctx, timer)
    }
    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Self::Request) {
        self.0.dyn_request(ctx, id, req)
    }
}
