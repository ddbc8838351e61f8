//! The suites compiled once. A topic's checks here name its protocol's
//! types (from `protocols`) and see a node only through `dsim::Erased`, a
//! trait object with the protocol's handlers and the view the checks read,
//! so nothing here depends on the learner's crate: a save rebuilds the
//! learner's crate and the topic's small test target in `checker/`, which
//! wraps the learner's node ([`adapter!`]) and registers these tests.
//! Built at opt-level 3 like the simulator (see the root `Cargo.toml`).

pub mod intro {
    pub mod pingpong;
    pub mod retry;
}

/// The simulator, for [`adapter!`]'s expansion in a test target.
#[doc(hidden)]
pub use dsim as __dsim;

/// `adapter!(Name(path::to::TheNode))` declares `pub struct Name(pub
/// TheNode)`, a node that is `TheNode` in all it does: the same handlers
/// with the same context (a `Ctx` depends only on the protocol's types),
/// and the same `Debug` rendering, so traces and replays show the learner's
/// node. The newtype is local to the test target, which may then give it
/// the suite's view trait (the orphan rule forbids implementing it on the
/// learner's type itself).
#[macro_export]
macro_rules! adapter {
    ($name:ident($node:ty)) => {
        /// The subject's node as the suite runs it: its own handlers and
        /// rendering, with the view the suite reads.
        pub struct $name(pub $node);

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl $crate::__dsim::Node for $name {
            type Msg = <$node as $crate::__dsim::Node>::Msg;
            type Timer = <$node as $crate::__dsim::Node>::Timer;
            type Request = <$node as $crate::__dsim::Node>::Request;
            type Reply = <$node as $crate::__dsim::Node>::Reply;

            fn on_start(&mut self, ctx: &mut $crate::__dsim::Ctx<Self>) {
                $crate::__dsim::Node::on_start(&mut self.0, ctx)
            }
            fn on_message(
                &mut self,
                ctx: &mut $crate::__dsim::Ctx<Self>,
                from: $crate::__dsim::NodeId,
                msg: Self::Msg,
            ) {
                $crate::__dsim::Node::on_message(&mut self.0, ctx, from, msg)
            }
            fn on_timer(&mut self, ctx: &mut $crate::__dsim::Ctx<Self>, timer: Self::Timer) {
                $crate::__dsim::Node::on_timer(&mut self.0, ctx, timer)
            }
            fn on_request(
                &mut self,
                ctx: &mut $crate::__dsim::Ctx<Self>,
                id: $crate::__dsim::RequestId,
                req: Self::Request,
            ) {
                $crate::__dsim::Node::on_request(&mut self.0, ctx, id, req)
            }
        }
    };
}
