//! Meta tests: the checks of both exercises catch known-wrong
//! implementations. The [`super::model::Model`] is two-phase commit with
//! recovery, written independently of the subject, with one [`Flaw`]
//! built in (or none), run through the very same checks.

use super::basic::{random_run, ALL_YES, ONE_NO};
use super::exhaustive::explore;
use super::model::{model, Flaw};
use super::prompt::{ANSWERS, NO_ABORTS, PREPARES, TELLS, VOTER_ABORTS};
use super::properties::{
    ASKS, PRESUMED_ABORT, QUIET, REPLIES, STABLE, TIMES_OUT, VALID, VOTE_KEPT, WAITS,
};
use super::recovery::{
    crash_after_decision, crash_after_prepare, lost_acks, random_crashes, start_with, ONE_CRASH,
};
use super::recovery_scripted::{late_vote_answered, no_vote, participant_down_aborts};
use dscheck::{expect_accepted, expect_caught, expect_caught_saying, Failure, Suite};

pub fn tests(suite: Suite) -> Suite {
    suite
        .test("meta::tpc_correct_model_passes", correct_model_passes)
        .test("meta::tpc_commit_on_a_majority_is_caught", || {
            expect_caught(VALID, 1, |_| {
                explore(model(Flaw::MajorityCommits), ONE_NO, false)
            })
        })
        .test("meta::tpc_abort_on_timeout_after_yes_is_caught", || {
            expect_caught(WAITS, 1, |_| {
                explore(model(Flaw::AbortsOnTimeoutAfterYes), ALL_YES, false)
            })
        })
        .test("meta::tpc_forgotten_decision_is_caught", || {
            expect_caught(STABLE, 1, |_| {
                explore(model(Flaw::ForgetsDecisionOnRestart), ONE_CRASH, false)
            })
        })
        // The participant's mistakes are named as the participant's, not
        // blamed on the coordinator's counting.
        .test(
            "meta::tpc_participant_committing_on_its_own_is_caught",
            || {
                expect_caught_saying(
                    WAITS,
                    10,
                    &["voted yes and decided Commit", "has decided nothing"],
                    &["yes vote from every participant"],
                    // Reliable runs (even seeds): every participant gets its Prepare.
                    |seed| random_run(2 * seed, model(Flaw::CommitsWhenVotingYes)).map(|_| ()),
                )
            },
        )
        .test("meta::tpc_vote_not_kept_is_caught", || {
            expect_caught_saying(
                VOTE_KEPT,
                10,
                &[
                    "sent the coordinator a yes vote, but its vote is None",
                    "set vote",
                ],
                &["restart", "log_vote"],
                |seed| random_run(seed, model(Flaw::KeepsNoVote)).map(|_| ()),
            )
        })
        .test("meta::tpc_no_prepare_on_begin_is_caught", || {
            expect_caught(PREPARES, 3, |seed| {
                random_run(seed, model(Flaw::NoPrepareOnBegin)).map(|_| ())
            })
        })
        .test("meta::tpc_silent_decision_is_caught", || {
            expect_caught(TELLS, 3, |seed| {
                random_run(seed, model(Flaw::DecidesSilently)).map(|_| ())
            })
        })
        .test("meta::tpc_silent_restart_with_a_decision_is_caught", || {
            expect_caught(TELLS, 3, |seed| {
                crash_after_decision(seed, model(Flaw::RestartsSilently))
            })
        })
        .test(
            "meta::tpc_no_vote_ignored_by_the_coordinator_is_caught",
            || {
                expect_caught(NO_ABORTS, 3, |seed| {
                    no_vote(seed, model(Flaw::IgnoresNoVotes), start_with)
                })
            },
        )
        .test("meta::tpc_no_voter_waiting_is_caught", || {
            expect_caught(VOTER_ABORTS, 3, |seed| {
                no_vote(seed, model(Flaw::NoVoterWaits), start_with)
            })
        })
        .test("meta::tpc_late_vote_unanswered_is_caught", || {
            expect_caught(ANSWERS, 3, |seed| {
                late_vote_answered(seed, model(Flaw::IgnoresLateVotes))
            })
        })
        .test("meta::tpc_participant_asking_once_is_caught", || {
            expect_caught(ASKS, 3, |seed| {
                crash_after_prepare(seed, model(Flaw::AsksOnce))
            })
        })
        .test("meta::tpc_no_presumed_abort_is_caught", || {
            expect_caught(PRESUMED_ABORT, 3, |seed| {
                crash_after_prepare(seed, model(Flaw::NoPresumedAbort))
            })
        })
        .test("meta::tpc_no_vote_timeout_is_caught", || {
            expect_caught(TIMES_OUT, 3, |seed| {
                participant_down_aborts(seed, model(Flaw::NoVoteTimeout))
            })
        })
        .test("meta::tpc_ignored_acks_are_caught", || {
            expect_caught(QUIET, 3, |seed| lost_acks(seed, model(Flaw::IgnoresAcks)))
        })
        .test("meta::tpc_client_never_told_is_caught", || {
            expect_caught(REPLIES, 3, |seed| {
                lost_acks(seed, model(Flaw::ForgetsClient))
            })
        })
        .test("meta::tpc_vote_forgotten_on_restart_is_caught", || {
            expect_caught_saying(
                VOTE_KEPT,
                10,
                &["since its restart its vote is None", "logged_vote"],
                &[],
                |seed| lost_acks(seed, model(Flaw::ForgetsVoteOnRestart)),
            )
        })
}

fn correct_model_passes() -> Result<(), Failure> {
    let m = || model(Flaw::None);
    expect_accepted("basic random runs", 10, |seed| {
        random_run(seed, m()).map(|_| ())
    })?;
    expect_accepted("crash after prepare", 3, |seed| {
        crash_after_prepare(seed, m())
    })?;
    expect_accepted("lost acks", 3, |seed| lost_acks(seed, m()))?;
    expect_accepted("crash after decision", 3, |seed| {
        crash_after_decision(seed, m())
    })?;
    expect_accepted("participant down", 3, |seed| {
        participant_down_aborts(seed, m())
    })?;
    expect_accepted("late vote", 3, |seed| late_vote_answered(seed, m()))?;
    expect_accepted("no vote", 3, |seed| no_vote(seed, m(), start_with))?;
    expect_accepted("random crashes", 10, |seed| random_crashes(seed, m()))?;
    expect_accepted("exhaustive, one crash", 1, |_| {
        explore(m(), ONE_CRASH, true)
    })
}
