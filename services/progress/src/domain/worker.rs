//! One worker's standing as progress sees it, and the counts it contributes. Pure.
//!
//! The counts are derived, never incremented by hand: after each change the worker's set of
//! counted (scheme, measure) flags is recomputed and compared with the set before, and only the
//! difference moves the counts. A move of posting, role or category therefore moves every count
//! of the worker from the old key to the new one, and an event that changes nothing moves
//! nothing. A departure empties the set (every count drops, dated by the departure's business
//! day) while the standing behind it is kept and still follows events, so a return brings
//! back every count as it then stands.
//!
//! Business dates need not follow the order facts are recorded in: a departure dated 2020 may
//! be recorded after a certificate issued in 2022. So the standing remembers the business day
//! each flag began on ([`WorkerProgress::since`]), and a count is never dated before the flag
//! it counts began: it drops on the later of the change's day and the flag's first day, and
//! comes back (a return) on the later of the return's day and the flag's first day. A count
//! therefore never goes below zero as of any date, whatever order the past is entered in.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::change::{CertificateStatus, WorkerChange};
use crate::domain::measure::{ALL_SCHEMES, Key, Measure, kabkota_of};

/// A nomination's outcome so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Outcome {
    Open,
    Verified,
    Rejected,
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Nomination {
    scheme: String,
    outcome: Outcome,
    #[serde(default, skip_serializing_if = "is_false")]
    seated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Certificate {
    scheme: String,
    status: CertificateStatus,
}

/// The latest decision per scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Decision {
    Kompeten,
    BelumKompeten,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct SchemeRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latest_decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "is_false")]
    ever_kompeten: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// What progress remembers of one worker: no name, no NIK, no birth date — only where they
/// are posted, what they are, and how far each nomination and certificate has come.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerProgress {
    #[serde(default, skip_serializing_if = "is_false")]
    registered: bool,
    /// Left the programme (until a return): counts for nothing, while everything else is
    /// kept, so a return brings every count back.
    #[serde(default, skip_serializing_if = "is_false")]
    departed: bool,
    key: Key,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    nominations: BTreeMap<Uuid, Nomination>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    schemes: BTreeMap<String, SchemeRecord>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    certificates: BTreeMap<Uuid, Certificate>,
    /// The business day (days since 1970-01-01, WIB) each flag of the standing began on,
    /// departed or not, per scheme; a standing stored before this was kept has none, and its
    /// counts are dated by their changes' days as before.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    since: BTreeMap<String, BTreeMap<Measure, i64>>,
}

/// A counted flag: a measure for one scheme, or for all schemes ([`ALL_SCHEMES`]).
pub type Flag = (String, Measure);

impl WorkerProgress {
    /// Where the worker counts now.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Applies a change.
    pub fn apply(&mut self, change: &WorkerChange) {
        match change {
            WorkerChange::Registered {
                posting,
                category,
                role,
            } => {
                self.registered = true;
                self.key = Key {
                    kabkota: kabkota_of(posting),
                    category: *category,
                    role: *role,
                };
            }
            WorkerChange::Moved { posting } => self.key.kabkota = kabkota_of(posting),
            WorkerChange::Departed => self.departed = true,
            WorkerChange::Returned => self.departed = false,
            WorkerChange::RoleChanged { role } => self.key.role = *role,
            WorkerChange::Nominated { nomination, scheme } => {
                self.nominations
                    .entry(*nomination)
                    .or_insert_with(|| Nomination {
                        scheme: scheme.clone(),
                        outcome: Outcome::Open,
                        seated: false,
                    });
            }
            WorkerChange::Verified { nomination, scheme } => {
                self.outcome(*nomination, scheme.as_deref(), Outcome::Verified);
            }
            WorkerChange::Rejected { nomination } => {
                self.outcome(*nomination, None, Outcome::Rejected);
            }
            WorkerChange::Withdrawn { nomination } => {
                self.outcome(*nomination, None, Outcome::Withdrawn);
            }
            WorkerChange::Queued {
                nomination,
                scheme,
                region,
            } => {
                self.learn_region(region);
                let entry = self.nomination(*nomination, Some(scheme));
                if entry.outcome == Outcome::Open {
                    entry.outcome = Outcome::Verified;
                }
            }
            WorkerChange::Seated { nomination } => self.nomination(*nomination, None).seated = true,
            WorkerChange::Decided {
                scheme,
                kompeten,
                region,
            } => {
                self.learn_region(region);
                let record = self.schemes.entry(scheme.clone()).or_default();
                if *kompeten {
                    record.latest_decision = Some(Decision::Kompeten);
                    record.ever_kompeten = true;
                } else {
                    record.latest_decision = Some(Decision::BelumKompeten);
                }
            }
            WorkerChange::Issued {
                certificate,
                scheme,
                supersedes,
                region,
            } => {
                self.learn_region(region);
                if let Some(old) = supersedes.and_then(|old| self.certificates.get_mut(&old)) {
                    old.status = CertificateStatus::Superseded;
                }
                self.certificates
                    .entry(*certificate)
                    .or_insert_with(|| Certificate {
                        scheme: scheme.clone(),
                        status: CertificateStatus::Valid,
                    });
            }
            WorkerChange::CertificateStatus {
                certificate,
                status,
            } => {
                if let Some(held) = self.certificates.get_mut(certificate) {
                    // Revoked is final, and a superseded certificate stays replaced.
                    if !matches!(
                        held.status,
                        CertificateStatus::Revoked | CertificateStatus::Superseded
                    ) || *status == CertificateStatus::Superseded
                    {
                        held.status = *status;
                    }
                }
            }
        }
    }

    /// A region learned from scheduling or certification, used only while enrollment's
    /// registration has not been seen (it carries the posting, which wins).
    fn learn_region(&mut self, region: &str) {
        if !self.registered && self.key.kabkota.is_empty() {
            self.key.kabkota = kabkota_of(region);
        }
    }

    fn nomination(&mut self, nomination: Uuid, scheme: Option<&str>) -> &mut Nomination {
        let entry = self
            .nominations
            .entry(nomination)
            .or_insert_with(|| Nomination {
                scheme: String::new(),
                outcome: Outcome::Open,
                seated: false,
            });
        if let Some(scheme) = scheme.filter(|s| !s.is_empty())
            && entry.scheme.is_empty()
        {
            entry.scheme = scheme.to_owned();
        }
        entry
    }

    fn outcome(&mut self, nomination: Uuid, scheme: Option<&str>, outcome: Outcome) {
        self.nomination(nomination, scheme).outcome = outcome;
    }

    /// Every flag the worker counts for now, per scheme and over all schemes.
    pub fn flags(&self) -> BTreeSet<Flag> {
        self.counted()
            .into_iter()
            .map(|(scheme, measure)| (scheme.to_owned(), measure))
            .collect()
    }

    /// [`Self::flags`], borrowing the scheme codes.
    fn counted(&self) -> BTreeSet<(&str, Measure)> {
        match self.departed {
            true => BTreeSet::new(),
            false => self.standing(),
        }
    }

    /// The first day of `flag` as remembered (none: not remembered).
    fn began(&self, scheme: &str, measure: Measure) -> Option<i64> {
        self.since.get(scheme)?.get(&measure).copied()
    }

    /// The flags the standing holds whether or not the worker departed, borrowing the scheme
    /// codes: computed twice for every event a projection applies, so it allocates no strings.
    fn standing<'a>(&'a self) -> BTreeSet<(&'a str, Measure)> {
        let mut flags: BTreeSet<(&'a str, Measure)> = BTreeSet::new();
        let mut add = |scheme: &'a str, measure: Measure| {
            if !scheme.is_empty() && scheme != ALL_SCHEMES {
                flags.insert((scheme, measure));
            }
            flags.insert((ALL_SCHEMES, measure));
        };
        if self.registered {
            add(ALL_SCHEMES, Measure::Registered);
        }
        let mut verified = BTreeSet::new();
        for nomination in self.nominations.values() {
            add(&nomination.scheme, Measure::Nominated);
            if nomination.outcome == Outcome::Verified {
                verified.insert(nomination.scheme.as_str());
                add(&nomination.scheme, Measure::Verified);
            }
            if nomination.seated {
                add(&nomination.scheme, Measure::Seated);
            }
        }
        for nomination in self.nominations.values() {
            if nomination.outcome == Outcome::Rejected
                && !verified.contains(nomination.scheme.as_str())
            {
                add(&nomination.scheme, Measure::Rejected);
            }
        }
        for (scheme, record) in &self.schemes {
            if record.latest_decision.is_some() {
                add(scheme, Measure::Assessed);
            }
            if record.ever_kompeten {
                add(scheme, Measure::Kompeten);
            }
            if record.latest_decision == Some(Decision::BelumKompeten) {
                add(scheme, Measure::BelumKompeten);
            }
        }
        let mut standing: BTreeMap<&str, Measure> = BTreeMap::new();
        for certificate in self.certificates.values() {
            add(&certificate.scheme, Measure::Certified);
            if let Some(measure) = status_measure(certificate.status) {
                let best = standing
                    .entry(certificate.scheme.as_str())
                    .or_insert(measure);
                *best = better(*best, measure);
            }
        }
        // The rejected and Belum Kompeten flags over all schemes are only kept when no scheme
        // got further; and a worker's standing over all schemes is their best certificate.
        let mut overall: Option<Measure> = None;
        for (scheme, measure) in &standing {
            flags.insert((*scheme, *measure));
            overall = Some(overall.map_or(*measure, |best| better(best, *measure)));
        }
        for measure in [
            Measure::Valid,
            Measure::Suspended,
            Measure::Expired,
            Measure::Revoked,
        ] {
            flags.remove(&(ALL_SCHEMES, measure));
        }
        if let Some(measure) = overall {
            flags.insert((ALL_SCHEMES, measure));
        }
        if flags.contains(&(ALL_SCHEMES, Measure::Verified)) {
            flags.remove(&(ALL_SCHEMES, Measure::Rejected));
        }
        if self
            .schemes
            .values()
            .any(|r| r.latest_decision == Some(Decision::Kompeten))
        {
            flags.remove(&(ALL_SCHEMES, Measure::BelumKompeten));
        }
        flags
    }
}

/// The standing measure of a certificate status (none for a superseded one: its renewal
/// counts instead).
fn status_measure(status: CertificateStatus) -> Option<Measure> {
    match status {
        CertificateStatus::Valid => Some(Measure::Valid),
        CertificateStatus::Suspended => Some(Measure::Suspended),
        CertificateStatus::Revoked => Some(Measure::Revoked),
        CertificateStatus::Expired => Some(Measure::Expired),
        CertificateStatus::Superseded => None,
    }
}

/// The better of two standings: valid, then suspended, then expired, then revoked.
fn better(a: Measure, b: Measure) -> Measure {
    let rank = |m: Measure| match m {
        Measure::Valid => 0,
        Measure::Suspended => 1,
        Measure::Expired => 2,
        _ => 3,
    };
    if rank(b) < rank(a) { b } else { a }
}

/// One count moving by `delta` for a key, scheme and measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// Where.
    pub key: Key,
    /// The scheme, or [`ALL_SCHEMES`].
    pub scheme: String,
    /// What.
    pub measure: Measure,
    /// +1 or -1.
    pub delta: i32,
}

/// A count change and the business day it is dated by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated {
    /// The change.
    pub delta: Delta,
    /// Its business day (days since 1970-01-01, WIB).
    pub day: i64,
}

/// The counts that move when a worker goes from `before` to `after` by a change of business
/// day `day`, each dated no earlier than the flag it counts began; `after` learns the first day
/// of each flag its standing gained, and forgets those it lost.
pub fn deltas(before: &WorkerProgress, after: &mut WorkerProgress, day: i64) -> Vec<Dated> {
    let (gained, lost) = {
        let (old, new) = (before.standing(), after.standing());
        let owned = |(scheme, measure): &(&str, Measure)| ((*scheme).to_owned(), *measure);
        let gained: Vec<Flag> = new.difference(&old).map(owned).collect();
        let lost: Vec<Flag> = old.difference(&new).map(owned).collect();
        (gained, lost)
    };
    for (scheme, measure) in lost {
        if let Some(days) = after.since.get_mut(&scheme) {
            days.remove(&measure);
            if days.is_empty() {
                after.since.remove(&scheme);
            }
        }
    }
    for (scheme, measure) in gained {
        after.since.entry(scheme).or_default().insert(measure, day);
    }
    let after: &WorkerProgress = after;
    let old = before.counted();
    let new = after.counted();
    let mut moved = Vec::new();
    let same_key = before.key == after.key;
    for (scheme, measure) in &old {
        if !same_key || !new.contains(&(*scheme, *measure)) {
            let began = before.began(scheme, *measure).unwrap_or(day);
            moved.push(Dated {
                delta: Delta {
                    key: before.key.clone(),
                    scheme: (*scheme).to_owned(),
                    measure: *measure,
                    delta: -1,
                },
                day: day.max(began),
            });
        }
    }
    for (scheme, measure) in &new {
        if !same_key || !old.contains(&(*scheme, *measure)) {
            let began = after.began(scheme, *measure).unwrap_or(day);
            moved.push(Dated {
                delta: Delta {
                    key: after.key.clone(),
                    scheme: (*scheme).to_owned(),
                    measure: *measure,
                    delta: 1,
                },
                day: day.max(began),
            });
        }
    }
    moved
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
