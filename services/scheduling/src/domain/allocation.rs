//! Auto-allocation as a pure plan: which waiting candidate goes into which open session.
//!
//! Candidates are taken oldest verification first. Sessions are filled in three passes:
//! candidates from the session's own kabupaten/kota, then from its province, then — online
//! sessions only — from anywhere the session serves. Within a pass, sessions are taken in
//! start order. A candidate is planned once; a session never beyond its free seats. The shell
//! then seats each session's list in one append, where capacity and "one seat per candidate"
//! are enforced again against concurrent allocations (the plan is only a proposal).

use std::collections::HashMap;

use kesos_regions::RegionCode;
use time::{Date, OffsetDateTime};

use super::types::{CandidateId, SessionId, WorkerId};

/// An open session with free seats, as the pool's read model shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSession {
    /// The session.
    pub id: SessionId,
    /// Its scheme code.
    pub scheme_code: String,
    /// The site's (or organiser's) region.
    pub region: RegionCode,
    /// Online or at a test site.
    pub online: bool,
    /// Regions served; empty for the nation.
    pub served: Vec<RegionCode>,
    /// Its start.
    pub starts_at: OffsetDateTime,
    /// Free seats.
    pub free: u32,
}

/// A waiting candidate, as the pool's read model shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingCandidate {
    /// The candidate.
    pub id: CandidateId,
    /// The worker.
    pub worker: WorkerId,
    /// Scheme code.
    pub scheme_code: String,
    /// Posting region.
    pub region: RegionCode,
    /// First day allowed to sit a test.
    pub eligible_from: Date,
    /// Queue order.
    pub verified_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pass {
    SameKabupatenKota,
    SameProvince,
    Anywhere,
}

fn kabupaten_kota(region: &RegionCode) -> RegionCode {
    region.kabupaten_kota().unwrap_or_else(|| region.clone())
}

/// The plan: for each session that gets candidates, the candidates in seating order.
pub fn plan_allocation(
    sessions: &[OpenSession],
    candidates: &[WaitingCandidate],
) -> Vec<(SessionId, Vec<CandidateId>)> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| (candidates[i].verified_at, candidates[i].id));
    let mut by_session: Vec<usize> = (0..sessions.len()).collect();
    by_session.sort_by_key(|&i| (sessions[i].starts_at, sessions[i].id));

    let mut buckets: HashMap<(Pass, String, RegionCode), Vec<usize>> = HashMap::new();
    let mut nation: HashMap<String, Vec<usize>> = HashMap::new();
    for &i in &order {
        let candidate = &candidates[i];
        let scheme = candidate.scheme_code.clone();
        buckets
            .entry((
                Pass::SameKabupatenKota,
                scheme.clone(),
                kabupaten_kota(&candidate.region),
            ))
            .or_default()
            .push(i);
        buckets
            .entry((
                Pass::SameProvince,
                scheme.clone(),
                candidate.region.province(),
            ))
            .or_default()
            .push(i);
        nation.entry(scheme).or_default().push(i);
    }

    let mut planned = vec![false; candidates.len()];
    let mut free: Vec<u32> = sessions.iter().map(|s| s.free).collect();
    let mut seated: Vec<Vec<CandidateId>> = vec![Vec::new(); sessions.len()];
    for pass in [Pass::SameKabupatenKota, Pass::SameProvince, Pass::Anywhere] {
        for &s in &by_session {
            let session = &sessions[s];
            if free[s] == 0 || (pass == Pass::Anywhere && !session.online) {
                continue;
            }
            let bucket = match pass {
                Pass::Anywhere => nation.get(&session.scheme_code),
                Pass::SameKabupatenKota => buckets.get(&(
                    pass,
                    session.scheme_code.clone(),
                    kabupaten_kota(&session.region),
                )),
                Pass::SameProvince => {
                    buckets.get(&(pass, session.scheme_code.clone(), session.region.province()))
                }
            };
            let Some(bucket) = bucket else { continue };
            let start_day = session.starts_at.date();
            for &c in bucket {
                if free[s] == 0 {
                    break;
                }
                let candidate = &candidates[c];
                let serves = session.served.is_empty()
                    || session.served.iter().any(|r| candidate.region.is_within(r));
                if planned[c] || !serves || candidate.eligible_from > start_day {
                    continue;
                }
                planned[c] = true;
                free[s] -= 1;
                seated[s].push(candidate.id);
            }
        }
    }
    by_session
        .into_iter()
        .filter_map(|s| {
            let chosen = std::mem::take(&mut seated[s]);
            (!chosen.is_empty()).then(|| (sessions[s].id, chosen))
        })
        .collect()
}
