//! The one crate built per save besides the learner's: an adapter that
//! gives the suite the learner's node and what the suite reads of it (a
//! suite's macro would write it), and the suite's main.
use dsim::{Ctx, Node, NodeId, RequestId};
use proto::{Msg, Request};

#[derive(Debug)]
struct Learners(learner::LamportNode);

impl Node for Learners {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.0.on_start(ctx)
    }
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        self.0.on_message(ctx, from, msg)
    }
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: ()) {
        self.0.on_timer(ctx, timer)
    }
    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        self.0.on_request(ctx, id, req)
    }
}

impl suite::LamportView for Learners {
    fn time(&self) -> u64 {
        self.0.clock.time
    }
}

fn main() {
    suite::run(|| Box::new(Learners(learner::LamportNode::new())));
}
