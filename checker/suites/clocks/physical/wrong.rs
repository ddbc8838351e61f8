//! Known-wrong clients for the meta tests: each corrects its clock with
//! one classic mistake, and the property it breaks must be reported.

use super::network::Synced;
use super::ModelClock;
use crate::subject::clocks::physical::{FAST_SLEW_PPM, SLEW_PPM, STEP_THRESHOLD};
use dscheck::secs;
use dsim::{Ctx, Node, NodeId, Time};
use serde::{Deserialize, Serialize};

/// How the model client corrects its clock.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// As the exercise asks.
    Correct,
    /// Steps by any offset, backwards too.
    AlwaysStep,
    /// Slews any offset at SLEW_PPM.
    AlwaysSlew,
    /// Never corrects.
    Never,
    /// Corrects as it should, but on every answer, duplicates included.
    TrustsEveryAnswer,
}

#[derive(Debug)]
pub struct Model<const MODE: u8> {
    server: Option<NodeId>,
    clock: ModelClock,
    awaiting: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ModelMsg {
    Ask(i64),
    Answer(i64, i64),
}

impl<const MODE: u8> Model<MODE> {
    fn ask(&mut self, ctx: &mut Ctx<Self>) {
        if let Some(server) = self.server {
            let t1 = self.clock.read(ctx.now().as_nanos() as i64);
            self.awaiting = Some(t1);
            ctx.send(server, ModelMsg::Ask(t1));
            ctx.set_timer((), secs(1));
        }
    }
}

impl<const MODE: u8> Node for Model<MODE> {
    type Msg = ModelMsg;
    type Timer = ();
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.ask(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: ()) {
        self.ask(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: ModelMsg) {
        let local = ctx.now().as_nanos() as i64;
        match msg {
            ModelMsg::Ask(t1) => ctx.send(from, ModelMsg::Answer(t1, local)),
            ModelMsg::Answer(t1, t2)
                if MODE == Mode::TrustsEveryAnswer as u8 || self.awaiting == Some(t1) =>
            {
                self.awaiting = None;
                let theta = (t2 - t1 + t2 - self.clock.read(local)) / 2;
                let large = STEP_THRESHOLD.as_nanos() as i64;
                let (slow, fast) = (SLEW_PPM as i64, FAST_SLEW_PPM as i64);
                match MODE {
                    m if m == Mode::AlwaysStep as u8 => self.clock.apply(local, theta, 0, 0),
                    m if m == Mode::AlwaysSlew as u8 => self.clock.apply(local, 0, theta, slow),
                    m if m == Mode::Never as u8 => {}
                    _ if theta >= large => self.clock.apply(local, theta, 0, 0),
                    _ if theta <= -large => self.clock.apply(local, 0, theta, fast),
                    _ => self.clock.apply(local, 0, theta, slow),
                }
            }
            ModelMsg::Answer(..) => {}
        }
    }
}

impl<const MODE: u8> Synced for Model<MODE> {
    fn server() -> Self {
        Model {
            server: None,
            clock: ModelClock::default(),
            awaiting: None,
        }
    }
    fn client(server: NodeId) -> Self {
        Model {
            server: Some(server),
            clock: ModelClock::default(),
            awaiting: None,
        }
    }
    fn reading(&self, local: Time) -> Time {
        Time::from_nanos(self.clock.read(local.as_nanos() as i64) as u64)
    }
    fn asks(msg: &ModelMsg) -> bool {
        matches!(msg, ModelMsg::Ask(_))
    }
}
