//! The properties every CRDT of the topic is held to: the laws of merge,
//! updates as inflations, the CRDT's own spec after every step, and
//! convergence, over generated runs (with proptest, through `laws.rs`) and
//! in the simulator (`gossip.rs`).
//!
//! In the failure reports, `x ⊔ y` is the state `x` after `x.merge(&y)`.

use crate::crdts::gossip;
use crate::crdts::history::{
    below, decode, execute, join, listing, words, Action, Family, Kind, Program, Seen,
};
use crate::crdts::laws::{forall, Shape, MANY, THREE};
use dscheck::{Failure, Property, Suite};

pub const LAWS: Property = Property {
    name: "merge is commutative, associative and idempotent",
    hint: "",
    when: &[],
};
pub const INFLATION: Property = Property {
    name: "every update moves the state up: merging the old state into the new one changes nothing",
    hint: "",
    when: &[],
};
pub const CONVERGE: Property = Property {
    name: "replicas that have merged each other's states hold the same state",
    hint: "",
    when: &[],
};

/// How many seeds each property test runs (each a proptest run of
/// `Shape::cases` runs).
const SEEDS: u64 = 3;
/// How many seeds the simulation runs.
const SIM_SEEDS: u64 = 4;

/// One CRDT's standard tests: their names, its spec, and its hints for
/// the properties every CRDT shares.
pub struct Standard {
    /// The start of the tests' names: `"g_counter::"`, `"lww_register::mv_"`.
    pub prefix: &'static str,
    /// The CRDT's spec, as a property, checked after every step.
    pub semantic: Property,
    /// The name of the test of the spec (after the prefix).
    pub semantic_test: &'static str,
    /// The hint of [`LAWS`] for this CRDT, and of the convergence that
    /// follows from them ([`CONVERGE`], [`gossip::GOSSIP`]).
    pub laws_hint: &'static str,
    /// The hint of [`INFLATION`] for this CRDT.
    pub inflation_hint: &'static str,
}

/// Registers the standard tests of `K`.
pub fn standard<K: Kind>(suite: Suite, s: &'static Standard) -> Suite {
    let name = |test: &str| format!("{}{test}", s.prefix);
    let hinted = move |result: Result<(), Failure>| {
        result.map_err(|f| {
            f.hint_for(LAWS, s.laws_hint)
                .hint_for(INFLATION, s.inflation_hint)
                .hint_for(CONVERGE, s.laws_hint)
                .hint_for(gossip::GOSSIP, s.laws_hint)
        })
    };
    suite
        .seeded(
            &name("merge_is_commutative_associative_and_idempotent"),
            SEEDS,
            move |seed| hinted(merge_laws::<K>(seed)),
        )
        .seeded(&name("updates_are_inflations"), SEEDS, move |seed| {
            hinted(inflations::<K>(seed))
        })
        .seeded(&name(s.semantic_test), SEEDS, move |seed| {
            hinted(semantics::<K>(seed, s.semantic))
        })
        .seeded(
            &name("random_interleavings_across_2_to_10_replicas_converge"),
            SEEDS,
            move |seed| hinted(interleavings::<K>(seed, s.semantic)),
        )
        .seeded(
            &name("gossiping_replicas_converge_over_a_lossy_partitioned_network"),
            SIM_SEEDS,
            move |seed| hinted(gossip::run::<K>(seed, s.semantic)),
        )
}

/// `property` over runs of `shape` drawn for `seed`.
pub fn check<K: Kind>(
    seed: u64,
    shape: &Shape,
    property: &dyn Fn(&Program) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let steps = |p: &Program| listing::<K::F>(p.replicas, &decode::<K::F>(p));
    forall(seed, shape, &steps, property)
}

/// Commutativity, associativity and idempotence on the states `a`, `b` and
/// `c` of three replicas after a generated run.
pub fn merge_laws<K: Kind>(seed: u64) -> Result<(), Failure> {
    check::<K>(seed, &THREE, &|p| {
        let ex = execute::<K>(p.replicas, &decode::<K::F>(p), |_, _, _| Ok(()))?;
        let (a, b, c) = (&ex.states[0], &ex.states[1], &ex.states[2]);
        let broken = |what: String| {
            Err(Failure::new(
                LAWS,
                format!(
                    "{what}\nThese are the smallest states found: a, b and c are the states of \
                     n0, n1 and n2 after\n{}",
                    ex.listing()
                ),
            ))
        };
        for (name, s) in [("a", a), ("b", b), ("c", c)] {
            let twice = join(s, s);
            if twice != *s {
                return broken(format!(
                    "merge is not idempotent: {name} merged with itself is not {name}\n  \
                     {name}     = {s:?}\n  {name} ⊔ {name} = {twice:?}"
                ));
            }
        }
        let (ab, ba) = (join(a, b), join(b, a));
        if ab != ba {
            return broken(format!(
                "merge is not commutative: a ⊔ b differs from b ⊔ a\n  a     = {a:?}\n  \
                 b     = {b:?}\n  a ⊔ b = {ab:?}\n  b ⊔ a = {ba:?}"
            ));
        }
        let (left, right) = (join(&ab, c), join(a, &join(b, c)));
        if left != right {
            return broken(format!(
                "merge is not associative: (a ⊔ b) ⊔ c differs from a ⊔ (b ⊔ c)\n  \
                 a           = {a:?}\n  b           = {b:?}\n  c           = {c:?}\n  \
                 (a ⊔ b) ⊔ c = {left:?}\n  a ⊔ (b ⊔ c) = {right:?}"
            ));
        }
        Ok(())
    })
}

/// Every update of a generated run leaves a state at or above the one
/// before it.
pub fn inflations<K: Kind>(seed: u64) -> Result<(), Failure> {
    check::<K>(seed, &THREE, &|p| {
        execute::<K>(p.replicas, &decode::<K::F>(p), |ex, action, before| {
            let Action::Update { replica, .. } = action else {
                return Ok(());
            };
            let after = &ex.states[*replica];
            // The order of states is defined by merge: judge it only where
            // merge is idempotent, and blame merge where it is not.
            for s in [before, after] {
                let twice = join(s, s);
                if twice != *s {
                    return Err(Failure::new(
                        LAWS,
                        format!(
                            "merge is not idempotent: a state merged with itself changes\n  \
                             s     = {s:?}\n  s ⊔ s = {twice:?}\nThe smallest run found (s is \
                             n{replica}'s state before or after its last step):\n{}",
                            ex.listing()
                        ),
                    ));
                }
            }
            if below(before, after) {
                return Ok(());
            }
            Err(Failure::new(
                INFLATION,
                format!(
                    "the last update of the run below took n{replica}'s state\n  from {before:?}\n  \
                     to   {after:?}\nbut merging the old state into the new one gives\n       \
                     {:?}\nso a merge with an older copy of the state would undo the update.\n\
                     The smallest run found:\n{}",
                    join(after, before),
                    ex.listing()
                ),
            ))
        })?;
        Ok(())
    })
}

/// After every step of a generated run on 2 to 10 replicas, the replica
/// that changed shows what the spec says for the updates it has seen.
pub fn semantics<K: Kind>(seed: u64, property: Property) -> Result<(), Failure> {
    check::<K>(seed, &MANY, &|p| {
        execute::<K>(p.replicas, &decode::<K::F>(p), |ex, action, _| {
            let r = action.replica();
            let got = ex.states[r].view();
            let want = K::F::expected(&ex.log, &ex.seen[r]);
            if got == want {
                return Ok(());
            }
            Err(Failure::new(
                property,
                format!(
                    "after the run below, n{r} shows {got:?}, but it has seen {} and should show \
                     {want:?}\n  its state: {:?}\nThe smallest run found:\n{}",
                    words(&ex.seen[r]),
                    ex.states[r],
                    ex.listing()
                ),
            ))
        })?;
        Ok(())
    })
}

/// After a generated run on 2 to 10 replicas, each replica merges in every
/// other replica's state, each in its own order: all must then hold the
/// same state, and it must show every update.
pub fn interleavings<K: Kind>(seed: u64, semantic: Property) -> Result<(), Failure> {
    check::<K>(seed, &MANY, &|p| {
        let ex = execute::<K>(p.replicas, &decode::<K::F>(p), |_, _, _| Ok(()))?;
        let n = ex.states.len();
        let mut finals = ex.states.clone();
        let mut orders = Vec::new();
        for (i, last) in finals.iter_mut().enumerate() {
            // Even replicas go up from their neighbour, odd ones down.
            let order: Vec<usize> = (1..n)
                .map(|k| {
                    if i % 2 == 0 {
                        (i + k) % n
                    } else {
                        (i + n - k) % n
                    }
                })
                .collect();
            for &j in &order {
                last.merge(&ex.states[j]);
            }
            let names: Vec<String> = order.iter().map(|j| format!("n{j}")).collect();
            orders.push(format!("n{i}: {}", names.join(", ")));
        }
        if let Some(k) = (1..n).find(|&k| finals[k] != finals[0]) {
            return Err(Failure::new(
                CONVERGE,
                format!(
                    "after the run below, each replica merged in the state of every other \
                     replica, in these orders: {}.\nn0 then holds\n  {:?}\nbut n{k} holds\n  \
                     {:?}\nThe smallest run found:\n{}",
                    orders.join("; "),
                    finals[0],
                    finals[k],
                    ex.listing()
                ),
            ));
        }
        let want = K::F::expected(&ex.log, &Seen::all(ex.log.len()));
        let got = finals[0].view();
        if got != want {
            return Err(Failure::new(
                semantic,
                format!(
                    "after the run below, each replica merged in the state of every other \
                     replica, and all hold\n  {:?}\nwhich shows {got:?}, but {} should show \
                     {want:?}\nThe smallest run found:\n{}",
                    finals[0],
                    updates(ex.log.len()),
                    ex.listing()
                ),
            ));
        }
        Ok(())
    })
}

/// "the 1 update made", "the 3 updates made".
pub fn updates(n: usize) -> String {
    if n == 1 {
        "the 1 update made".to_string()
    } else {
        format!("the {n} updates made")
    }
}

/// Runs a fixed scenario of `replicas` replicas and checks, after each step,
/// that `expect` (given the step's index and the replica that changed)
/// accepts what that replica shows.
pub fn scenario<K: Kind>(
    property: Property,
    replicas: usize,
    actions: &[Action<<K::F as Family>::Op>],
    expect: impl Fn(usize, usize, &<K::F as Family>::View) -> Result<(), String>,
) -> Result<(), Failure> {
    let mut step = 0;
    execute::<K>(replicas, actions, |ex, action, _| {
        let r = action.replica();
        let shown = ex.states[r].view();
        let verdict = expect(step, r, &shown);
        step += 1;
        verdict.map_err(|why| {
            Failure::new(
                property,
                format!(
                    "{why}\n  n{r}'s state: {:?}\nThe steps so far:\n{}",
                    ex.states[r],
                    ex.listing()
                ),
            )
        })
    })?;
    Ok(())
}
