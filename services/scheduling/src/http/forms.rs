//! Request bodies and their checks: every field error names the field and the rule, all of
//! them at once, before anything reaches the domain.

use kesos_http::FieldError;
use kesos_http::openapi::one_of;
use kesos_regions::{Level, RegionCode, Regions};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use utoipa::openapi::Object;
use uuid::Uuid;

use crate::domain::{
    AssessorId, Attendance, CandidateId, Decision, ExternalId, LspsId, Plan, SchemeRef, SessionId,
    Timing, UnitResult, Venue,
};

/// Collects field errors.
#[derive(Default)]
pub struct Checks(pub Vec<FieldError>);

impl Checks {
    fn fail(&mut self, field: &str, rule: &str, detail: impl Into<String>) {
        self.0.push(FieldError::new(field, rule, detail));
    }

    fn instant(&mut self, field: &str, text: &str) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| {
                self.fail(
                    field,
                    &format!("{field}.rfc3339"),
                    "must be an RFC 3339 instant, e.g. 2026-12-01T08:00:00+07:00",
                )
            })
            .ok()
    }

    fn id(&mut self, field: &str, text: &str) -> Option<ExternalId> {
        ExternalId::parse(text)
            .map_err(|e| self.fail(field, &format!("{field}.format"), e.to_string()))
            .ok()
    }

    fn region(&mut self, field: &str, text: &str, regions: &Regions) -> Option<RegionCode> {
        regions
            .lookup(text)
            .map(|region| region.code().clone())
            .map_err(|e| self.fail(field, &format!("{field}.region"), e.to_string()))
            .ok()
    }

    fn text(&mut self, field: &str, text: &str) -> Option<String> {
        let trimmed = text.trim();
        if trimmed.is_empty()
            || trimmed.chars().count() > 500
            || trimmed.chars().any(char::is_control)
        {
            self.fail(
                field,
                &format!("{field}.text"),
                "must be 1-500 printable characters",
            );
            return None;
        }
        Some(trimmed.to_owned())
    }

    /// The errors, or `value` when there are none.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ if self.0.is_empty() => Err(vec![FieldError::new(
                "body",
                "body.invalid",
                "the body is invalid",
            )]),
            _ => Err(self.0),
        }
    }
}

/// A UUID path or body field.
pub fn uuid(field: &str, text: &str) -> Result<Uuid, FieldError> {
    Uuid::parse_str(text)
        .map_err(|_| FieldError::new(field, format!("{field}.uuid"), "must be a UUID"))
}

/// The test site of a session at a TUK.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSiteForm {
    name: String,
    region: String,
}

/// A session to schedule: its scheme, where (a test site, or online), when, how many seats,
/// who assesses, and for which LSPS.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleForm {
    /// Optional: a client-chosen id (else the command id).
    #[schema(format = "uuid")]
    pub session_id: Option<String>,
    scheme: String,
    #[schema(schema_with = modes)]
    mode: String,
    test_site: Option<TestSiteForm>,
    organiser_region: Option<String>,
    #[schema(format = DateTime)]
    starts_at: String,
    #[schema(format = DateTime)]
    ends_at: String,
    #[schema(minimum = 1)]
    capacity: u32,
    assessor_ids: Vec<String>,
    #[serde(default)]
    served_regions: Vec<String>,
    /// Default: roster_lock_days before the start.
    #[schema(format = DateTime)]
    reschedule_cutoff: Option<String>,
    lsps_id: String,
}

fn modes() -> Object {
    one_of(&["test_site", "online"])
}

fn assessors(checks: &mut Checks, ids: &[String]) -> Vec<AssessorId> {
    ids.iter()
        .enumerate()
        .filter_map(|(i, id)| checks.id(&format!("assessor_ids[{i}]"), id))
        .collect()
}

impl ScheduleForm {
    /// The scheme code as sent.
    pub fn scheme_code(&self) -> &str {
        &self.scheme
    }

    /// The plan, with `scheme` looked up by the caller and the default cut-off
    /// `roster_lock_days` before the start.
    pub fn plan(
        &self,
        scheme: Result<SchemeRef, String>,
        regions: &Regions,
        roster_lock_days: u32,
    ) -> Result<Plan, Vec<FieldError>> {
        let mut checks = Checks::default();
        let scheme = scheme
            .map_err(|e| checks.fail("scheme", "scheme.known", e))
            .ok();
        let venue = match self.mode.as_str() {
            "test_site" => match &self.test_site {
                Some(site) => {
                    let name = checks.text("test_site.name", &site.name);
                    let region = checks.region("test_site.region", &site.region, regions);
                    if let Some(region) = &region
                        && region.level() == Level::Provinsi
                    {
                        checks.fail(
                            "test_site.region",
                            "test_site.region.level",
                            "a test site lies in a kabupaten/kota or finer",
                        );
                    }
                    name.zip(region)
                        .map(|(name, region)| Venue::TestSite { name, region })
                }
                None => {
                    checks.fail(
                        "test_site",
                        "test_site.required",
                        "a session at a test site names the site",
                    );
                    None
                }
            },
            "online" => match &self.organiser_region {
                Some(code) => checks
                    .region("organiser_region", code, regions)
                    .map(|organiser| Venue::Online { organiser }),
                None => {
                    checks.fail(
                        "organiser_region",
                        "organiser_region.required",
                        "an online session names its organising office's region",
                    );
                    None
                }
            },
            _ => {
                checks.fail("mode", "mode.enum", "must be test_site or online");
                None
            }
        };
        let starts_at = checks.instant("starts_at", &self.starts_at);
        let ends_at = checks.instant("ends_at", &self.ends_at);
        let cutoff = match &self.reschedule_cutoff {
            Some(text) => checks.instant("reschedule_cutoff", text),
            None => starts_at.map(|s| s - time::Duration::days(i64::from(roster_lock_days))),
        };
        let assessors = assessors(&mut checks, &self.assessor_ids);
        let mut served = Vec::new();
        for (i, code) in self.served_regions.iter().enumerate() {
            served.extend(checks.region(&format!("served_regions[{i}]"), code, regions));
        }
        if served.is_empty()
            && let Some(Venue::TestSite { region, .. }) = &venue
        {
            // A test site serves its province unless told otherwise.
            served.push(region.province());
        }
        let lsps = checks.id("lsps_id", &self.lsps_id);
        let plan = (|| {
            Some(Plan {
                scheme: scheme?,
                venue: venue?,
                starts_at: starts_at?,
                ends_at: ends_at?,
                capacity: self.capacity,
                assessors,
                served,
                cutoff: cutoff?,
                lsps: lsps?,
                // Scheduling takes the scheme's units from the catalogue.
                units: Vec::new(),
            })
        })();
        checks.finish(plan)
    }
}

/// A session's new time, capacity, assessors and cut-off, with the reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeForm {
    #[schema(format = DateTime)]
    starts_at: String,
    #[schema(format = DateTime)]
    ends_at: String,
    capacity: u32,
    assessor_ids: Vec<String>,
    #[schema(format = DateTime)]
    reschedule_cutoff: String,
    reason: String,
}

impl ChangeForm {
    /// The new timing and the reason.
    pub fn timing(&self) -> Result<(Timing, String), Vec<FieldError>> {
        let mut checks = Checks::default();
        let starts_at = checks.instant("starts_at", &self.starts_at);
        let ends_at = checks.instant("ends_at", &self.ends_at);
        let cutoff = checks.instant("reschedule_cutoff", &self.reschedule_cutoff);
        let assessors = assessors(&mut checks, &self.assessor_ids);
        let reason = checks.text("reason", &self.reason);
        let timing = (|| {
            Some((
                Timing {
                    starts_at: starts_at?,
                    ends_at: ends_at?,
                    capacity: self.capacity,
                    assessors,
                    cutoff: cutoff?,
                },
                reason?,
            ))
        })();
        checks.finish(timing)
    }
}

/// A body with only a reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonForm {
    reason: String,
}

impl ReasonForm {
    /// The checked reason.
    pub fn reason(&self) -> Result<String, Vec<FieldError>> {
        let mut checks = Checks::default();
        let reason = checks.text("reason", &self.reason);
        checks.finish(reason)
    }
}

/// The waiting candidate to seat.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatForm {
    /// The candidate.
    pub candidate_id: String,
}

/// The session a seated candidate moves to, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleForm {
    /// The session to move to.
    pub to_session_id: String,
    reason: String,
}

impl RescheduleForm {
    /// The target session and the reason.
    pub fn checked(&self) -> Result<(SessionId, String), Vec<FieldError>> {
        let mut checks = Checks::default();
        let to = uuid("to_session_id", &self.to_session_id)
            .map_err(|e| checks.0.push(e))
            .ok()
            .map(SessionId);
        let reason = checks.text("reason", &self.reason);
        checks.finish(to.zip(reason))
    }
}

/// What to allocate: one scheme's waiting candidates, or every scheme's.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocateForm {
    /// Only this scheme (all when absent).
    pub scheme: Option<String>,
}

/// One unit judgement in a result recorded by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitForm {
    unit: String,
    #[schema(schema_with = judgements)]
    judgement: String,
}

fn judgements() -> Object {
    one_of(&["K", "BK"])
}

/// A result recorded by hand, for an LSPS without the integration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultForm {
    candidate_id: String,
    #[schema(schema_with = attendances)]
    attendance: String,
    #[schema(schema_with = decisions)]
    decision: Option<String>,
    #[serde(default)]
    units: Vec<UnitForm>,
    #[serde(default)]
    assessor_ids: Vec<String>,
    #[schema(format = DateTime)]
    decided_at: Option<String>,
    lsps_id: String,
}

fn attendances() -> Object {
    one_of(&["present", "no_show"])
}

fn decisions() -> Object {
    one_of(&["kompeten", "belum_kompeten"])
}

/// A checked result.
pub enum ResultInput {
    /// A no-show.
    NoShow(CandidateId, LspsId),
    /// A decision.
    Decided {
        /// The candidate.
        candidate: CandidateId,
        /// Units.
        units: Vec<UnitResult>,
        /// Decision.
        decision: Decision,
        /// Assessors.
        assessors: Vec<AssessorId>,
        /// When (now if absent).
        decided_at: Option<OffsetDateTime>,
        /// The LSPS.
        lsps: LspsId,
    },
}

impl ResultForm {
    /// The checked result.
    pub fn checked(&self) -> Result<ResultInput, Vec<FieldError>> {
        let mut checks = Checks::default();
        let candidate = uuid("candidate_id", &self.candidate_id)
            .map_err(|e| checks.0.push(e))
            .ok()
            .map(CandidateId);
        let lsps = checks.id("lsps_id", &self.lsps_id);
        let attendance = match self.attendance.as_str() {
            "present" => Some(Attendance::Present),
            "no_show" => Some(Attendance::NoShow),
            _ => {
                checks.fail(
                    "attendance",
                    "attendance.enum",
                    "must be present or no_show",
                );
                None
            }
        };
        if attendance == Some(Attendance::NoShow) {
            if self.decision.is_some() {
                checks.fail("decision", "decision.no_show", "a no-show has no decision");
            }
            let input = candidate.zip(lsps).map(|(c, l)| ResultInput::NoShow(c, l));
            return checks.finish(input);
        }
        let decision = match self.decision.as_deref() {
            Some("kompeten") => Some(Decision::Kompeten),
            Some("belum_kompeten") => Some(Decision::BelumKompeten),
            Some(_) => {
                checks.fail(
                    "decision",
                    "decision.enum",
                    "must be kompeten or belum_kompeten",
                );
                None
            }
            None => {
                checks.fail(
                    "decision",
                    "decision.required",
                    "a present candidate's result has a decision",
                );
                None
            }
        };
        let mut units = Vec::new();
        for (i, unit) in self.units.iter().enumerate() {
            let kompeten = match unit.judgement.as_str() {
                "K" => Some(true),
                "BK" => Some(false),
                _ => {
                    checks.fail(
                        &format!("units[{i}].judgement"),
                        "units.judgement.enum",
                        "must be K or BK",
                    );
                    None
                }
            };
            let code = checks.text(&format!("units[{i}].unit"), &unit.unit);
            if let Some((unit, kompeten)) = code.zip(kompeten) {
                units.push(UnitResult { unit, kompeten });
            }
        }
        let assessors = assessors(&mut checks, &self.assessor_ids);
        let decided_at = self
            .decided_at
            .as_ref()
            .and_then(|t| checks.instant("decided_at", t));
        let input = (|| {
            Some(ResultInput::Decided {
                candidate: candidate?,
                units,
                decision: decision?,
                assessors,
                decided_at,
                lsps: lsps?,
            })
        })();
        checks.finish(input)
    }
}
