//! The `meta::` tests of broadcast_reliable on the reference with one bug
//! (`broadcast/bugs/`, made by `build.rs`): each must be caught by the
//! property meant for it, in the scenario that exposes it.

use super::records::{FORGETS, NOT_TO_ORIGIN, PROMPT, QUIET, REMEMBERS};
use super::{lossy_links, scripted};
use crate::broadcast::observe::{AGREEMENT, VALIDITY};
use crate::bugs;
use crate::expect_caught;
use dscheck::Suite;

crate::reliable_records!(
    bugs::acks_only_the_first_copy::reliable::ReliableNode,
    bugs::first_copies_wait_for_the_timer::reliable::ReliableNode,
    bugs::forgets_after_first_ack::reliable::ReliableNode,
    bugs::keeps_acknowledged_messages::reliable::ReliableNode,
    bugs::origin_forgets_its_own_id::reliable::ReliableNode,
    bugs::relays_only_from_origin::reliable::ReliableNode,
    bugs::relays_to_everyone::reliable::ReliableNode,
    bugs::relays_without_retransmitting::reliable::ReliableNode,
    bugs::retransmits_once::reliable::ReliableNode,
);

pub fn tests(suite: Suite) -> Suite {
    suite
        .test(
            "meta::reliable_relaying_only_the_origin_s_copies_is_caught",
            || {
                expect_caught(AGREEMENT, |seed| {
                    scripted::origin_and_first_receiver_crash(seed, |_| {
                        bugs::relays_only_from_origin::reliable::ReliableNode::new()
                    })
                })
            },
        )
        .test("meta::reliable_relays_sent_once_are_caught", || {
            expect_caught(AGREEMENT, |seed| {
                scripted::relays_lost_after_the_origin_crashes(seed, |_| {
                    bugs::relays_without_retransmitting::reliable::ReliableNode::new()
                })
            })
        })
        .test("meta::reliable_stopping_at_the_first_ack_is_caught", || {
            expect_caught(VALIDITY, |seed| {
                scripted::one_node_cut_off_while_a_message_spreads(seed, |_| {
                    bugs::forgets_after_first_ack::reliable::ReliableNode::new()
                })
            })
        })
        .test("meta::reliable_retransmitting_once_is_caught", || {
            expect_caught(VALIDITY, |seed| {
                scripted::one_node_cut_off_while_a_message_spreads(seed, |_| {
                    bugs::retransmits_once::reliable::ReliableNode::new()
                })
            })
        })
        .test(
            "meta::reliable_acking_only_the_first_copy_is_caught",
            || {
                expect_caught(QUIET, |seed| {
                    lossy_links(seed, |_| {
                        bugs::acks_only_the_first_copy::reliable::ReliableNode::new()
                    })
                })
            },
        )
        .test(
            "meta::reliable_first_copies_waiting_for_the_timer_is_caught",
            || {
                expect_caught(PROMPT, |seed| {
                    scripted::prompt_without_loss(seed, |_| {
                        bugs::first_copies_wait_for_the_timer::reliable::ReliableNode::new()
                    })
                })
            },
        )
        .test(
            "meta::reliable_keeping_acknowledged_messages_is_caught",
            || {
                expect_caught(FORGETS, |seed| {
                    scripted::prompt_without_loss(seed, |_| {
                        bugs::keeps_acknowledged_messages::reliable::ReliableNode::new()
                    })
                })
            },
        )
        .test(
            "meta::reliable_origin_not_remembering_its_message_is_caught",
            || {
                expect_caught(REMEMBERS, |seed| {
                    scripted::prompt_without_loss(seed, |_| {
                        bugs::origin_forgets_its_own_id::reliable::ReliableNode::new()
                    })
                })
            },
        )
        .test("meta::reliable_relaying_to_the_origin_is_caught", || {
            expect_caught(NOT_TO_ORIGIN, |seed| {
                lossy_links(seed, |_| {
                    bugs::relays_to_everyone::reliable::ReliableNode::new()
                })
            })
        })
}
