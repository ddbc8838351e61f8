//! The `meta::` tests of broadcast_gossip on the reference with one bug
//! (`broadcast/bugs/`, made by `build.rs`). A node that forwards too
//! little (never, once, or only first hand) must fail at every seed, so
//! each is caught by the first seed here and measured over many by
//! `benches/meta-rates.sh`.

use super::links::{LEARNS, ROUND};
use super::{efficient, lossy, MEDIAN};
use crate::bugs;
use crate::expect_caught;
use dscheck::Suite;

crate::gossiper!(
    bugs::echoes_gossip_back::gossip::GossipNode,
    bugs::forwards_only_first_hand::gossip::GossipNode,
    bugs::gossips_once::gossip::GossipNode,
    bugs::never_forwards::gossip::GossipNode,
    bugs::resends_every_round::gossip::GossipNode,
    bugs::sync_does_not_deliver::gossip::GossipNode,
    bugs::sync_keeps_the_record::gossip::GossipNode,
);

pub fn tests(suite: Suite) -> Suite {
    suite
        .test("meta::gossip_never_forwarding_is_caught", || {
            expect_caught(ROUND, |seed| {
                efficient(seed, |_| bugs::never_forwards::gossip::GossipNode::new())
            })
        })
        .test(
            "meta::gossip_forwarding_in_one_round_only_is_caught",
            || {
                expect_caught(MEDIAN, |seed| {
                    efficient(seed, |_| bugs::gossips_once::gossip::GossipNode::new())
                })
            },
        )
        .test("meta::gossip_forwarding_only_first_hand_is_caught", || {
            expect_caught(ROUND, |seed| {
                efficient(seed, |_| {
                    bugs::forwards_only_first_hand::gossip::GossipNode::new()
                })
            })
        })
        .test("meta::gossip_sync_not_delivering_is_caught", || {
            expect_caught(LEARNS, |seed| {
                lossy(seed, |_| {
                    bugs::sync_does_not_deliver::gossip::GossipNode::new()
                })
            })
        })
        .test(
            "meta::gossip_sync_not_replacing_the_record_is_caught",
            || {
                expect_caught(ROUND, |seed| {
                    lossy(seed, |_| {
                        bugs::sync_keeps_the_record::gossip::GossipNode::new()
                    })
                })
            },
        )
        .test("meta::gossip_echoing_back_is_caught", || {
            expect_caught(ROUND, |seed| {
                efficient(seed, |_| {
                    bugs::echoes_gossip_back::gossip::GossipNode::new()
                })
            })
        })
        .test("meta::gossip_resending_every_round_is_caught", || {
            expect_caught(ROUND, |seed| {
                efficient(seed, |_| {
                    bugs::resends_every_round::gossip::GossipNode::new()
                })
            })
        })
}
