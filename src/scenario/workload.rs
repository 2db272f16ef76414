//! The workload registry: every workload's identity and rules, as data, in one table.
//!
//! A workload is one [`WorkloadId`] with one [`WorkloadRules`] entry here, one engine
//! module (`engine/<name>.rs`) and one checker module (`check/<name>.rs`). The parser,
//! `validate`, the engine, the checker and the reports all ask this table rather than
//! keep their own copy of a rule, and every dispatch on a workload is an exhaustive
//! `match` on [`WorkloadId`] (or on [`super::WorkloadKind`], which carries the
//! workload's settings), so the compiler names each place a new workload must go.

use std::fmt;

use super::model::Var;
use crate::outcome::{ViolationKind, WarningKind};

/// Which workload a scenario runs, without its settings: what a history record carries
/// and what the checker dispatches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadId {
    StaleWrite,
    Counter,
    UniqueCreate,
    Transition,
    Stock,
    Idempotency,
    PreconditionRequired,
    Sustained,
}

/// What a workload's rounds (or steps) are counted in, for messages and progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steps {
    /// `rounds`: one race per round.
    Rounds,
    /// `increments` per writer (counter).
    Increments,
    /// A `duration` or a number of `requests` (sustained).
    Attempts,
}

/// One workload's rules. Each field is read wherever its rule applies; none is derived
/// anywhere else.
#[derive(Debug)]
pub struct WorkloadRules {
    pub id: WorkloadId,
    /// The name in scenario files, history records and reports.
    pub name: &'static str,
    /// One line saying what a run of it proves.
    pub summary: &'static str,
    /// The fewest writers (connections) that make a run meaningful.
    pub min_writers: u32,
    /// Whether a round's writes are released together, so the scenario's sync mode
    /// applies (counter and sustained writers run free).
    pub released_together: bool,
    /// Whether `[resource].create` runs before every round, so each round races a fresh
    /// resource (rather than once per scenario).
    pub creates_per_round: bool,
    /// Whether a scenario may ask `[resource].create` to run before every round (`each =
    /// "round"`), to race a fresh resource each time; always true where
    /// `creates_per_round` is.
    pub may_create_per_round: bool,
    /// Whether the scenario may have no resource at all (no `create`, no `id`).
    pub resource_optional: bool,
    /// What the workload's steps are.
    pub steps: Steps,
    /// Placeholders the `[write]` must use, each with why and an example.
    pub write_needs: &'static [Need],
    /// Placeholders that have values only in this workload (and the others that list
    /// them): `{value}` and `{next}` in counter and sustained, `{target}`, `{units}`.
    pub provides: &'static [Var],
    /// The `[workload]` keys it takes besides `kind`, each required or optional. Any
    /// other key of `[workload]` is refused where it is written.
    pub workload_keys: &'static [(WorkloadKey, KeyUse)],
    /// The `[resource]` locators it reads, each required or optional. Any other locator
    /// is refused where it is written.
    pub locators: &'static [(LocatorKey, KeyUse)],
    /// Whether its writes are sent without a precondition and must all be refused: the
    /// write may not send `{version}`, and `[expect]` may be left out (2xx answers are
    /// the failure, 428 the promised refusal).
    pub unconditional: bool,
    /// Whether every writer must send the same request, so the body may not vary by
    /// writer (`{writer}`, `{marker}`): an API answers differing payloads under one key
    /// with 422, not with the behaviour being tested.
    pub identical_writes: bool,
    /// The violation kinds its checker looks for in every run, in report order: a CI
    /// report lists each as a test case. `conflict_not_actionable` is looked for only
    /// where the scenario asks for actionable conflicts, so no workload lists it.
    pub checks: &'static [ViolationKind],
    /// The warning kinds its checker looks for in every run (likewise).
    pub warns: &'static [WarningKind],
}

impl WorkloadRules {
    /// Whether this workload takes a `[workload]` key, and how.
    pub fn takes(&self, key: WorkloadKey) -> Option<KeyUse> {
        self.workload_keys
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, use_)| *use_)
    }

    /// Whether this workload reads a `[resource]` locator, and how.
    pub fn reads(&self, key: LocatorKey) -> Option<KeyUse> {
        self.locators
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, use_)| *use_)
    }

    /// Whether `var` has a value in this workload, as far as [`Self::provides`] decides
    /// (a placeholder no workload lists has a value in all of them).
    pub fn provides_var(&self, var: Var) -> bool {
        self.provides.contains(&var) || !WORKLOADS.iter().any(|w| w.provides.contains(&var))
    }
}

/// Whether a workload needs a key or merely accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// A missing key is an error.
    Required,
    /// A missing key takes its default (or is simply not read).
    Optional,
}

/// A key of `[workload]` other than `kind`. The key catalogue (`scenario/keys.rs`) gives
/// each its example; [`WorkloadRules::workload_keys`] says which workloads take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKey {
    Writers,
    Rounds,
    Increments,
    Retry,
    Strategies,
    Targets,
    Units,
    Connections,
    Resources,
    Duration,
    Requests,
    Rate,
    Pace,
}

impl WorkloadKey {
    /// Every key, in the catalogue's order.
    pub const ALL: [WorkloadKey; 13] = [
        WorkloadKey::Writers,
        WorkloadKey::Rounds,
        WorkloadKey::Increments,
        WorkloadKey::Retry,
        WorkloadKey::Strategies,
        WorkloadKey::Targets,
        WorkloadKey::Units,
        WorkloadKey::Connections,
        WorkloadKey::Resources,
        WorkloadKey::Duration,
        WorkloadKey::Requests,
        WorkloadKey::Rate,
        WorkloadKey::Pace,
    ];

    /// The key as written in `[workload]`.
    pub const fn name(self) -> &'static str {
        match self {
            WorkloadKey::Writers => "writers",
            WorkloadKey::Rounds => "rounds",
            WorkloadKey::Increments => "increments",
            WorkloadKey::Retry => "retry",
            WorkloadKey::Strategies => "strategies",
            WorkloadKey::Targets => "targets",
            WorkloadKey::Units => "units",
            WorkloadKey::Connections => "connections",
            WorkloadKey::Resources => "resources",
            WorkloadKey::Duration => "duration",
            WorkloadKey::Requests => "requests",
            WorkloadKey::Rate => "rate",
            WorkloadKey::Pace => "pace",
        }
    }
}

/// A locator key of `[resource]`: where a figure of the resource is in a read's answer.
/// [`WorkloadRules::locators`] says which workloads read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocatorKey {
    /// The version the write sends back (`{version}`).
    Version,
    /// The counter's value (`{value}`, `{next}`).
    Value,
    /// The state a transition leads to.
    State,
    /// How many resources (or effects) a round's key has.
    Count,
    /// The units left.
    Remaining,
    /// The units taken.
    Claimed,
}

impl LocatorKey {
    /// Every locator key, in the catalogue's order.
    pub const ALL: [LocatorKey; 6] = [
        LocatorKey::Version,
        LocatorKey::Value,
        LocatorKey::State,
        LocatorKey::Count,
        LocatorKey::Remaining,
        LocatorKey::Claimed,
    ];

    /// The key as written in `[resource]`.
    pub const fn name(self) -> &'static str {
        match self {
            LocatorKey::Version => "version",
            LocatorKey::Value => "value",
            LocatorKey::State => "state",
            LocatorKey::Count => "count",
            LocatorKey::Remaining => "remaining",
            LocatorKey::Claimed => "claimed",
        }
    }
}

/// A placeholder a workload's `[write]` must use.
#[derive(Debug)]
pub struct Need {
    pub var: Var,
    /// Whether it must be in the body (rather than anywhere in the request).
    pub in_body: bool,
    /// What goes wrong without it.
    pub why: &'static str,
    /// How to write it.
    pub example: &'static str,
}

const VERSION: Need = Need {
    var: Var::Version,
    in_body: false,
    why: "[write] never sends `{version}`, so the API cannot tell a stale write from a fresh one",
    example: "send the version you read: headers = { \"If-Match\" = \"{version}\" } \
              or json = { version = \"{version}\" }",
};

const NEXT: &str = "write the incremented value: json = { count = \"{next}\" }";

use KeyUse::{Optional, Required};

/// `writers`, `rounds` and `pace`: what every round-based workload takes.
const ROUNDS: &[(WorkloadKey, KeyUse)] = &[
    (WorkloadKey::Writers, Optional),
    (WorkloadKey::Rounds, Optional),
    (WorkloadKey::Pace, Optional),
];

/// Version and value, both required: a read-modify-write counter.
const COUNTER_LOCATORS: &[(LocatorKey, KeyUse)] = &[
    (LocatorKey::Version, Required),
    (LocatorKey::Value, Required),
];

/// The warnings every checker looks for in the losing answers (internals leaked, a
/// problem document's `status` that is not the answer's).
const ANSWER_WARNINGS: &[WarningKind] = &[
    WarningKind::LeaksInternals,
    WarningKind::ProblemStatusMismatch,
];

/// Stale-write's: the answers' warnings, and a round raced only with weak tokens.
const ANSWER_WARNINGS_AND_WEAK: &[WarningKind] = &[
    WarningKind::LeaksInternals,
    WarningKind::ProblemStatusMismatch,
    WarningKind::WeakVersionToken,
];

/// The registry, in documentation order.
pub const WORKLOADS: [WorkloadRules; 8] = [
    WorkloadRules {
        id: WorkloadId::StaleWrite,
        name: "stale-write",
        summary: "every round, all writers send the same version; exactly one may win",
        min_writers: 2,
        released_together: true,
        creates_per_round: false,
        may_create_per_round: true,
        resource_optional: false,
        steps: Steps::Rounds,
        write_needs: &[
            VERSION,
            Need {
                var: Var::Marker,
                in_body: true,
                why: "the [write] body must contain `{marker}` in a stale-write scenario",
                example: "put {marker} in the body so the final state shows which writer won, \
                          e.g. json = { text = \"{marker}\" }",
            },
        ],
        provides: &[],
        workload_keys: ROUNDS,
        locators: &[(LocatorKey::Version, Required)],
        unconditional: false,
        identical_writes: false,
        checks: {
            use ViolationKind::*;
            &[
                MultipleWinners,
                NoWinner,
                UnexpectedStatus,
                LoserWriteApplied,
                WinnerNotVisible,
                VersionNotAdvanced,
                PhantomSuccess,
            ]
        },
        warns: ANSWER_WARNINGS_AND_WEAK,
    },
    WorkloadRules {
        id: WorkloadId::Counter,
        name: "counter",
        summary: "each writer does read-modify-write increments, retrying on conflict; \
                  no acknowledged increment may be lost",
        min_writers: 1,
        released_together: false,
        creates_per_round: false,
        may_create_per_round: false,
        resource_optional: false,
        steps: Steps::Increments,
        write_needs: &[
            VERSION,
            Need {
                var: Var::Next,
                in_body: true,
                why: "the [write] body must contain `{next}` (the value read plus one) in a \
                      counter scenario",
                example: NEXT,
            },
        ],
        provides: &[Var::Value, Var::Next],
        workload_keys: &[
            (WorkloadKey::Writers, Optional),
            (WorkloadKey::Increments, Optional),
            (WorkloadKey::Retry, Optional),
            (WorkloadKey::Strategies, Optional),
        ],
        locators: COUNTER_LOCATORS,
        unconditional: false,
        identical_writes: false,
        checks: {
            use ViolationKind::*;
            &[
                UnexpectedStatus,
                LoserWriteApplied,
                LostUpdate,
                PhantomSuccess,
                VersionReused,
            ]
        },
        warns: ANSWER_WARNINGS,
    },
    WorkloadRules {
        id: WorkloadId::UniqueCreate,
        name: "unique-create",
        summary: "every round, all writers create a resource with the same unique key; \
                  exactly one may succeed",
        min_writers: 2,
        released_together: true,
        creates_per_round: false,
        may_create_per_round: true,
        resource_optional: true,
        steps: Steps::Rounds,
        write_needs: &[Need {
            var: Var::Unique,
            in_body: false,
            why: "[write] never uses `{unique}`, so every round would send the same unique key \
                  and only the first round could succeed",
            example: "for example: json = { email = \"{unique}@example.com\" }",
        }],
        provides: &[],
        workload_keys: ROUNDS,
        locators: &[
            (LocatorKey::Version, Optional),
            (LocatorKey::Count, Optional),
        ],
        unconditional: false,
        identical_writes: false,
        checks: {
            use ViolationKind::*;
            &[
                NoWinner,
                UnexpectedStatus,
                LoserWriteApplied,
                WinnerNotVisible,
                DuplicateCreate,
                PhantomSuccess,
            ]
        },
        warns: ANSWER_WARNINGS,
    },
    WorkloadRules {
        id: WorkloadId::Transition,
        name: "transition",
        summary: "every round, writers ask a fresh resource for different transitions; \
                  exactly one may succeed",
        min_writers: 2,
        released_together: true,
        creates_per_round: true,
        may_create_per_round: true,
        resource_optional: false,
        steps: Steps::Rounds,
        write_needs: &[Need {
            var: Var::Target,
            in_body: false,
            why: "[write] never sends `{target}`, so the writers' targets would not reach the API",
            example: "for example: json = { to = \"{target}\" }, or path = \"{id}/{target}\"",
        }],
        provides: &[Var::Target],
        workload_keys: &[
            (WorkloadKey::Writers, Optional),
            (WorkloadKey::Rounds, Optional),
            (WorkloadKey::Targets, Required),
            (WorkloadKey::Pace, Optional),
        ],
        locators: &[
            (LocatorKey::Version, Optional),
            (LocatorKey::State, Required),
        ],
        unconditional: false,
        identical_writes: false,
        checks: {
            use ViolationKind::*;
            &[
                NoWinner,
                UnexpectedStatus,
                LoserWriteApplied,
                WinnerNotVisible,
                InvalidTransition,
                PhantomSuccess,
            ]
        },
        warns: ANSWER_WARNINGS,
    },
    WorkloadRules {
        id: WorkloadId::Stock,
        name: "stock",
        summary: "every round, more writers than units each claim one; exactly `units` may \
                  succeed and the count never goes below zero",
        min_writers: 2,
        released_together: true,
        creates_per_round: true,
        may_create_per_round: true,
        resource_optional: false,
        steps: Steps::Rounds,
        write_needs: &[],
        provides: &[Var::Units],
        workload_keys: &[
            (WorkloadKey::Writers, Optional),
            (WorkloadKey::Rounds, Optional),
            (WorkloadKey::Units, Required),
            (WorkloadKey::Pace, Optional),
        ],
        locators: &[
            (LocatorKey::Version, Optional),
            (LocatorKey::Remaining, Optional),
            (LocatorKey::Claimed, Optional),
        ],
        unconditional: false,
        identical_writes: false,
        checks: {
            use ViolationKind::*;
            &[NoWinner, UnexpectedStatus, Oversell, PhantomSuccess]
        },
        warns: ANSWER_WARNINGS,
    },
    WorkloadRules {
        id: WorkloadId::Idempotency,
        name: "idempotency",
        summary: "every round, all writers send the same request with the same idempotency \
                  key; exactly one effect",
        min_writers: 2,
        released_together: true,
        creates_per_round: false,
        may_create_per_round: true,
        resource_optional: true,
        steps: Steps::Rounds,
        write_needs: &[Need {
            var: Var::Unique,
            in_body: false,
            why: "[write] never uses `{unique}`, so every round would send the same \
                  idempotency key and only the first round could succeed",
            example: "for example: headers = { \"Idempotency-Key\" = \"{unique}\" }",
        }],
        provides: &[],
        workload_keys: ROUNDS,
        locators: &[
            (LocatorKey::Version, Optional),
            (LocatorKey::Count, Required),
        ],
        unconditional: false,
        identical_writes: true,
        checks: {
            use ViolationKind::*;
            &[
                NoWinner,
                UnexpectedStatus,
                WinnerNotVisible,
                IdempotencyViolation,
                PhantomSuccess,
            ]
        },
        warns: ANSWER_WARNINGS,
    },
    WorkloadRules {
        id: WorkloadId::PreconditionRequired,
        name: "precondition-required",
        summary: "every round, writers send a write without its precondition; every one must \
                  be refused (428) and none applied",
        min_writers: 1,
        released_together: true,
        creates_per_round: false,
        may_create_per_round: true,
        resource_optional: false,
        steps: Steps::Rounds,
        write_needs: &[],
        provides: &[],
        workload_keys: ROUNDS,
        locators: &[(LocatorKey::Version, Optional)],
        unconditional: true,
        identical_writes: false,
        checks: {
            use ViolationKind::*;
            &[
                UnexpectedStatus,
                LoserWriteApplied,
                PreconditionNotRequired,
                PhantomSuccess,
            ]
        },
        warns: ANSWER_WARNINGS,
    },
    WorkloadRules {
        id: WorkloadId::Sustained,
        name: "sustained",
        summary: "connections run read-then-conditional-write on hot resources for a duration \
                  or a request count; no acknowledged write may be lost",
        min_writers: 1,
        released_together: false,
        creates_per_round: false,
        may_create_per_round: false,
        resource_optional: false,
        steps: Steps::Attempts,
        write_needs: &[
            VERSION,
            Need {
                var: Var::Next,
                in_body: true,
                why: "the [write] body must contain `{next}` (the value read plus one) in a \
                      sustained scenario: each resource's counter is what proves no write was \
                      lost",
                example: NEXT,
            },
        ],
        provides: &[Var::Value, Var::Next],
        workload_keys: &[
            (WorkloadKey::Connections, Optional),
            (WorkloadKey::Resources, Optional),
            (WorkloadKey::Duration, Optional),
            (WorkloadKey::Requests, Optional),
            (WorkloadKey::Rate, Optional),
        ],
        locators: COUNTER_LOCATORS,
        unconditional: false,
        identical_writes: false,
        checks: {
            use ViolationKind::*;
            &[UnexpectedStatus, LostUpdate, PhantomSuccess, VersionReused]
        },
        warns: ANSWER_WARNINGS,
    },
];

impl WorkloadId {
    /// Every workload, in documentation order.
    pub const ALL: [WorkloadId; 8] = [
        WorkloadId::StaleWrite,
        WorkloadId::Counter,
        WorkloadId::UniqueCreate,
        WorkloadId::Transition,
        WorkloadId::Stock,
        WorkloadId::Idempotency,
        WorkloadId::PreconditionRequired,
        WorkloadId::Sustained,
    ];

    /// This workload's rules.
    pub fn rules(self) -> &'static WorkloadRules {
        let index = match self {
            WorkloadId::StaleWrite => 0,
            WorkloadId::Counter => 1,
            WorkloadId::UniqueCreate => 2,
            WorkloadId::Transition => 3,
            WorkloadId::Stock => 4,
            WorkloadId::Idempotency => 5,
            WorkloadId::PreconditionRequired => 6,
            WorkloadId::Sustained => 7,
        };
        &WORKLOADS[index]
    }

    /// The name in scenario files, history records and reports.
    pub fn name(self) -> &'static str {
        self.rules().name
    }

    /// Looks a workload up by its name; `None` for a name no workload has.
    pub fn from_name(name: &str) -> Option<WorkloadId> {
        WORKLOADS.iter().find(|w| w.name == name).map(|w| w.id)
    }

    /// Every workload's name, in documentation order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        WORKLOADS.iter().map(|w| w.name)
    }

    /// Whether this workload measures the metrics of `scope`: the counter figures
    /// (increments, attempts per success...) are per increment, so only workloads whose
    /// steps are increments have them.
    pub fn measures(self, scope: crate::metrics::Scope) -> bool {
        match scope {
            crate::metrics::Scope::All => true,
            crate::metrics::Scope::Counter => self.rules().steps == Steps::Increments,
        }
    }
}

/// The names of the workloads whose rules `keep` selects, in documentation order: who
/// takes a key, reads a locator or provides a placeholder, for messages.
pub fn names_where(keep: impl Fn(&WorkloadRules) -> bool) -> Vec<&'static str> {
    WORKLOADS
        .iter()
        .filter(|w| keep(w))
        .map(|w| w.name)
        .collect()
}

impl fmt::Display for WorkloadId {
    /// The name, padded to a width when one is asked for (`{:<12}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl std::str::FromStr for WorkloadId {
    type Err = String;

    /// Parses a workload's name; the error lists the names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WorkloadId::from_name(s.trim()).ok_or_else(|| {
            let names: Vec<&str> = WorkloadId::names().collect();
            format!(
                "unknown workload `{}`; the workloads are {}",
                s.trim(),
                names.join(", ")
            )
        })
    }
}

impl serde::Serialize for WorkloadId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for WorkloadId {
    /// A saved history names its workload; a name no workload has is an error, never a
    /// guess.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_sits_at_its_own_index_and_names_round_trip() {
        for id in WorkloadId::ALL {
            assert_eq!(id.rules().id, id, "{id:?} points at another entry");
            assert_eq!(WorkloadId::from_name(id.name()), Some(id));
            assert_eq!(id.name().parse::<WorkloadId>(), Ok(id));
        }
        assert_eq!(WORKLOADS.len(), WorkloadId::ALL.len());
        assert!("stale_write".parse::<WorkloadId>().is_err());
    }

    #[test]
    fn only_counter_and_sustained_writers_run_free() {
        let free: Vec<&str> = WORKLOADS
            .iter()
            .filter(|w| !w.released_together)
            .map(|w| w.name)
            .collect();
        assert_eq!(free, ["counter", "sustained"]);
    }

    #[test]
    fn each_workload_takes_the_key_its_steps_are_counted_in_and_one_writer_count() {
        for w in &WORKLOADS {
            let counted_in: &[WorkloadKey] = match w.steps {
                Steps::Rounds => &[WorkloadKey::Rounds],
                Steps::Increments => &[WorkloadKey::Increments],
                Steps::Attempts => &[WorkloadKey::Duration, WorkloadKey::Requests],
            };
            for key in counted_in {
                assert!(w.takes(*key).is_some(), "{} counts in {key:?}", w.name);
            }
            assert!(
                w.takes(WorkloadKey::Writers).is_some()
                    != w.takes(WorkloadKey::Connections).is_some(),
                "{} counts its writers in `writers` or in `connections`",
                w.name
            );
        }
    }

    #[test]
    fn a_write_that_must_send_a_version_has_one_to_send_and_an_unconditional_one_none() {
        for w in &WORKLOADS {
            let needs_version = w.write_needs.iter().any(|n| n.var == Var::Version);
            let reads_version = w.reads(LocatorKey::Version);
            assert_eq!(
                needs_version,
                reads_version == Some(KeyUse::Required),
                "{}",
                w.name
            );
            assert!(reads_version.is_some(), "{} may read a version", w.name);
            assert!(!(w.unconditional && needs_version), "{}", w.name);
        }
    }

    #[test]
    fn a_resource_created_every_round_is_never_optional() {
        for w in WORKLOADS.iter().filter(|w| w.creates_per_round) {
            assert!(!w.resource_optional, "{}", w.name);
            assert!(w.may_create_per_round, "{}", w.name);
        }
    }

    #[test]
    fn exactly_the_round_based_workloads_take_a_pace() {
        for w in &WORKLOADS {
            assert_eq!(
                w.takes(WorkloadKey::Pace).is_some(),
                w.steps == Steps::Rounds,
                "{}",
                w.name
            );
        }
    }
}
