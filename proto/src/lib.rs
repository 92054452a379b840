//! kesos protobuf contracts.
//!
//! The `.proto` sources under `proto/kesos/` are the contract; this crate only compiles them.
//! Every package is versioned (`kesos.<service>.v1`) and evolves additively: enums start with
//! `*_UNSPECIFIED = 0`, fields are never renumbered or reused.
#![allow(missing_docs, clippy::doc_markdown, clippy::large_enum_variant)]

/// `kesos.*` packages.
pub mod kesos {
    /// `kesos.common.*`: value types shared by the event contracts (dates, regions, schemes,
    /// encrypted personal data, assessment enums).
    pub mod common {
        /// Version 1 of the shared value types.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/kesos.common.v1.rs"));
        }
    }

    /// `kesos.enrollment.*`: events of workers, nominations and yearly targets.
    pub mod enrollment {
        /// Version 1 of the enrollment events.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/kesos.enrollment.v1.rs"));
        }
    }

    /// `kesos.scheduling.*`: events of the candidate pool, test sessions and assessments.
    pub mod scheduling {
        /// Version 1 of the scheduling events.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/kesos.scheduling.v1.rs"));
        }
    }

    /// `kesos.certification.*`: events of the life of a competency certificate.
    pub mod certification {
        /// Version 1 of the certification events.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/kesos.certification.v1.rs"));
        }
    }

    /// `kesos.lsps.*`: the asynchronous contract with LSPS, the certification body.
    pub mod lsps {
        /// Version 1 of the LSPS contract.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/kesos.lsps.v1.rs"));
        }
    }

    /// `kesos.envelope.*`: the envelope every event travels in.
    pub mod envelope {
        /// Version 1 of the envelope.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/kesos.envelope.v1.rs"));
        }
    }
}

pub use prost;
pub use prost_types;

#[cfg(test)]
mod tests {
    use crate::kesos::{certification, common, enrollment, lsps, scheduling};
    use prost::Message;

    fn region(code: &str) -> Option<common::v1::RegionRef> {
        Some(common::v1::RegionRef {
            code: code.to_owned(),
            edition: "2024".to_owned(),
        })
    }

    fn scheme() -> Option<common::v1::Scheme> {
        Some(common::v1::Scheme {
            code: "PEKSOS-GENERALIS".to_owned(),
            category: "PEKSOS".to_owned(),
            level: "GENERALIS".to_owned(),
        })
    }

    fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(
        message: &M,
    ) -> Result<(), prost::DecodeError> {
        let decoded = M::decode(message.encode_to_vec().as_slice())?;
        assert_eq!(&decoded, message);
        Ok(())
    }

    #[test]
    fn a_worker_registered_event_round_trips_through_protobuf() -> Result<(), prost::DecodeError> {
        use enrollment::v1::{
            Education, EducationLevel, EmploymentStatus, Qualifications, Sex, WorkerCategory,
            WorkerRegistered, WorkerRole,
        };
        let encrypted = |byte: u8| {
            Some(common::v1::EncryptedField {
                ciphertext: vec![byte; 32],
                nonce: vec![7; 12],
                key_id: "worker-key-1".to_owned(),
            })
        };
        round_trip(&WorkerRegistered {
            worker_id: "0190f1f4-0000-7000-8000-000000000001".to_owned(),
            nik: encrypted(1),
            full_name: encrypted(2),
            sex: Sex::Female.into(),
            sealed_birth_date: encrypted(3),
            category: WorkerCategory::Peksos.into(),
            role: WorkerRole::KelurahanPeksos.into(),
            employment_status: EmploymentStatus::Thl.into(),
            posting: region("32.77.01.1001"),
            qualifications: Some(Qualifications {
                education: Some(Education {
                    level: EducationLevel::S1.into(),
                    in_social_work: true,
                }),
                practice_months: 26,
                training_hours: 64,
                association_member: true,
            }),
            ..Default::default()
        })
    }

    #[test]
    fn an_assessment_decision_round_trips_through_protobuf() -> Result<(), prost::DecodeError> {
        round_trip(&scheduling::v1::AssessmentDecided {
            session_id: "session-1".to_owned(),
            candidate_id: "candidate-1".to_owned(),
            worker_id: "worker-1".to_owned(),
            scheme: scheme(),
            unit_results: vec![common::v1::UnitResult {
                unit_code: "KES.PS01.001.01".to_owned(),
                judgement: common::v1::UnitJudgement::K.into(),
            }],
            decision: common::v1::AssessmentDecision::Kompeten.into(),
            assessor_ids: vec!["asesor-1".to_owned()],
            decided_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            lsps_id: "lsps-1".to_owned(),
            attempt: 1,
            region: region("32.77"),
            lsps_message_id: "message-1".to_owned(),
        })
    }

    #[test]
    fn a_revoked_certificate_round_trips_through_protobuf() -> Result<(), prost::DecodeError> {
        round_trip(&certification::v1::CertificateRevoked {
            certificate_id: "certificate-1".to_owned(),
            worker_id: "worker-1".to_owned(),
            reason: certification::v1::RevocationReason::EthicsBreach.into(),
            reason_text: "breach of the code of ethics".to_owned(),
        })
    }

    #[test]
    fn a_candidate_roster_for_lsps_round_trips_through_protobuf() -> Result<(), prost::DecodeError>
    {
        round_trip(&lsps::v1::CandidateRoster {
            message_id: "message-1".to_owned(),
            session_id: "session-1".to_owned(),
            scheme: scheme(),
            mode: common::v1::SessionMode::AtTestSite.into(),
            venue: Some(common::v1::TestSite {
                name: "Poltekesos Bandung".to_owned(),
                region: region("32.73"),
            }),
            starts_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ends_at: Some(prost_types::Timestamp {
                seconds: 1_700_028_800,
                nanos: 0,
            }),
            assessor_ids: vec!["asesor-1".to_owned()],
            candidates: vec![lsps::v1::RosterCandidate {
                candidate_id: "candidate-1".to_owned(),
                worker_id: "worker-1".to_owned(),
                full_name: "Siti Rahmawati".to_owned(),
                nik: "3277016104900001".to_owned(),
            }],
            lsps_id: "lsps-1".to_owned(),
            units: vec![common::v1::CompetencyUnit {
                code: "PKS-GN.03".to_owned(),
                title: "Melakukan asesmen masalah, kebutuhan dan sumber klien".to_owned(),
            }],
        })
    }
}
