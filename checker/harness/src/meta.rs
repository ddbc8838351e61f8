//! Checking the checks: a known-wrong implementation must be caught.
//!
//! Tests in the group `meta` run a suite's own checks on an implementation
//! with a planted bug and pass only if the check meant for that bug is the
//! one that fails. They are never graded; they keep a suite from quietly
//! losing its teeth.

use crate::failure::Failure;
use dsim::Property;

/// The property every meta test checks.
pub const META_PROPERTY: &str = "the suite catches a known-wrong implementation";
/// The property of the meta tests that run a correct implementation.
pub const ACCEPTS_PROPERTY: &str = "the suite accepts a correct implementation";

/// Runs `broken` for seeds `1..=seeds` until it fails, and passes if the
/// property that failed is `property`.
pub fn expect_caught(
    property: Property,
    seeds: u64,
    broken: impl Fn(u64) -> Result<(), Failure>,
) -> Result<(), Failure> {
    caught(&[property], seeds, broken).map(|_| ())
}

/// [`expect_caught`] for a bug that breaks more than one property at once
/// (a read served at once is both stale and may go back in time): it is
/// caught when whichever of `properties` fails first is one of them.
pub fn expect_caught_by_any(
    properties: &[Property],
    seeds: u64,
    broken: impl Fn(u64) -> Result<(), Failure>,
) -> Result<(), Failure> {
    caught(properties, seeds, broken).map(|_| ())
}

/// The properties' names as the messages say them: “a” or “b”.
fn named(properties: &[Property]) -> String {
    let names: Vec<String> = properties.iter().map(|p| format!("“{p}”")).collect();
    names.join(" or ")
}

/// [`expect_caught`], and the failure must tell the truth about the bug:
/// its detail and hint together contain each of `says` and none of
/// `never` (a double vote without a restart must not be blamed on one).
pub fn expect_caught_saying(
    property: Property,
    seeds: u64,
    says: &[&str],
    never: &[&str],
    broken: impl Fn(u64) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let failure = caught(&[property], seeds, broken)?;
    let report = failure.report();
    let words = format!(
        "{}\n{}",
        report.detail,
        report.hint.as_deref().unwrap_or("")
    );
    let missing = says.iter().find(|w| !words.contains(*w));
    let wrong = never.iter().find(|w| words.contains(*w));
    match (missing, wrong) {
        (None, None) => Ok(()),
        (Some(w), _) => Err(untrue(&property, &words, &format!("does not say “{w}”"))),
        (_, Some(w)) => Err(untrue(&property, &words, &format!("says “{w}”"))),
    }
}

fn untrue(property: &Property, words: &str, what: &str) -> Failure {
    Failure::unhinted(
        META_PROPERTY,
        format!(
            "“{property}” caught the known-wrong implementation, but its failure {what}: {words}"
        ),
    )
}

/// Set to a number of seeds, the meta tests measure how often they catch
/// their bug instead of stopping at the first seed that does: every seed in
/// `1..=N` is run, the rate is printed, and a test whose property fails in
/// fewer than [`MIN_RATE`] of them fails. A bug caught only by a lucky seed
/// would let a wrong exercise pass with other seeds.
pub const RATE_VAR: &str = "DSCOURSE_META_RATE_SEEDS";
/// The share of seeds in which each meta test must catch its bug.
pub const MIN_RATE: f64 = 0.99;

/// The failure of `property` in the first seed that fails (or, measuring,
/// in every seed; see [`RATE_VAR`]).
fn caught(
    properties: &[Property],
    seeds: u64,
    broken: impl Fn(u64) -> Result<(), Failure>,
) -> Result<Failure, Failure> {
    if let Some(measured) = rate_seeds() {
        return caught_at_rate(properties, measured, broken);
    }
    for seed in 1..=seeds {
        if let Err(failure) = broken(seed) {
            return right_property(properties, seed, failure);
        }
    }
    Err(Failure::unhinted(
        META_PROPERTY,
        format!(
            "{} held for a known-wrong implementation in seeds 1 to {seeds}",
            named(properties)
        ),
    ))
}

fn rate_seeds() -> Option<u64> {
    std::env::var(RATE_VAR).ok()?.trim().parse().ok()
}

/// `failure`, if it is of one of `properties`; otherwise the meta test's
/// own failure.
fn right_property(
    properties: &[Property],
    seed: u64,
    failure: Failure,
) -> Result<Failure, Failure> {
    if properties.iter().any(|p| failure.property() == p.name) {
        return Ok(failure);
    }
    Err(Failure::unhinted(
        META_PROPERTY,
        format!(
            "expected {} to fail, but “{}” failed first (seed {seed}): {}",
            named(properties),
            failure.property(),
            failure.detail()
        ),
    ))
}

/// Runs every seed in `1..=seeds` and demands `property` fail in at least
/// [`MIN_RATE`] of them; prints the rate either way.
fn caught_at_rate(
    properties: &[Property],
    seeds: u64,
    broken: impl Fn(u64) -> Result<(), Failure>,
) -> Result<Failure, Failure> {
    let mut first = None;
    let mut missed = Vec::new();
    for seed in 1..=seeds {
        match broken(seed)
            .err()
            .map(|f| right_property(properties, seed, f))
        {
            Some(Ok(failure)) => {
                first.get_or_insert(failure);
            }
            Some(Err(wrong)) => return Err(wrong),
            None => missed.push(seed),
        }
    }
    let caught = seeds - missed.len() as u64;
    let rate = caught as f64 / seeds.max(1) as f64;
    let property = named(properties);
    eprintln!(
        "meta rate: {property} caught in {caught}/{seeds} seeds ({:.1}%)",
        rate * 100.0
    );
    match first {
        Some(failure) if rate >= MIN_RATE => Ok(failure),
        _ => Err(Failure::unhinted(
            META_PROPERTY,
            format!(
                "{property} caught the known-wrong implementation in {caught} of {seeds} seeds \
                 ({:.1}%, below {:.0}%); missed seeds include {:?}",
                rate * 100.0,
                MIN_RATE * 100.0,
                &missed[..missed.len().min(10)]
            ),
        )),
    }
}

/// Runs `test` (named `name`) on a correct implementation for seeds
/// `1..=seeds` and passes only if every seed passes: the checks demand
/// nothing beyond the protocol.
pub fn expect_accepted(
    name: &str,
    seeds: u64,
    test: impl Fn(u64) -> Result<(), Failure>,
) -> Result<(), Failure> {
    for seed in 1..=seeds {
        test(seed).map_err(|f| {
            Failure::unhinted(
                ACCEPTS_PROPERTY,
                format!(
                    "a correct implementation failed {name} with seed {seed}: {}: {}",
                    f.property(),
                    f.detail()
                ),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALE: Property = Property {
        name: "reads are fresh",
        hint: "",
        when: &[],
    };
    const BACKWARDS: Property = Property {
        name: "reads never go back",
        hint: "",
        when: &[],
    };
    const OTHER: Property = Property {
        name: "something else",
        hint: "",
        when: &[],
    };

    #[test]
    fn a_bug_may_be_caught_by_any_of_the_properties_it_breaks() {
        // Seed 1 is caught by one property, seed 2 by the other.
        let broken = |seed: u64| {
            let property = if seed == 1 { STALE } else { BACKWARDS };
            Err(Failure::new(property, "a read served at once"))
        };
        assert!(expect_caught_by_any(&[STALE, BACKWARDS], 2, broken).is_ok());
        let wrong = expect_caught_by_any(&[OTHER, BACKWARDS], 2, broken).unwrap_err();
        assert!(
            wrong
                .detail()
                .contains("“something else” or “reads never go back”"),
            "{}",
            wrong.detail()
        );
        assert!(
            expect_caught(BACKWARDS, 2, broken).is_err(),
            "STALE came first"
        );
    }
}
