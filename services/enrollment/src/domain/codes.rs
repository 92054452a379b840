//! The closed vocabularies of a worker's record — sex, category, role, employment status,
//! education level, departure reason — each with one stable code (used in JSON, spreadsheets
//! and logs) and the words people actually type for it in a Dinas office's spreadsheet.

use std::fmt;

/// A value outside a closed vocabulary: names the vocabulary and lists what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {vocabulary}; use one of: {accepted}")]
pub struct UnknownCode {
    /// What was given.
    pub value: String,
    /// Which vocabulary (e.g. "category").
    pub vocabulary: &'static str,
    /// The accepted codes, comma-separated.
    pub accepted: String,
}

/// Folds case, spaces, hyphens, dots and underscores so that "Pekerja Sosial", "pekerja_sosial"
/// and "PEKERJA-SOSIAL" are the same word.
fn fold(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '.' | '/'))
        .flat_map(char::to_lowercase)
        .collect()
}

macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $vocabulary:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $code:literal $([$($alias:literal),*])? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code (JSON, spreadsheets, logs).
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// Reads a code or one of its common spellings, ignoring case, spaces, hyphens,
            /// dots, slashes and underscores.
            pub fn parse(text: &str) -> Result<Self, UnknownCode> {
                let folded = fold(text);
                $(
                    if folded == fold($code) $($(|| folded == fold($alias))*)? {
                        return Ok($name::$variant);
                    }
                )+
                Err(UnknownCode {
                    value: text.to_owned(),
                    vocabulary: $vocabulary,
                    accepted: [$($code),+].join(", "),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_enum!(
    /// Sex as on the identity card; the NIK encodes it (women add 40 to the birth day).
    Sex, "sex" {
        /// Laki-laki.
        Male => "L" ["male", "laki-laki", "laki laki", "pria", "m"],
        /// Perempuan.
        Female => "P" ["female", "perempuan", "wanita", "f", "w"],
    }
);

code_enum!(
    /// The four SDM Kesos categories.
    Category, "category" {
        /// Pekerja Sosial: professional social worker.
        Peksos => "peksos" ["pekerja sosial"],
        /// Tenaga Kesejahteraan Sosial.
        Tks => "tks" ["tenaga kesejahteraan sosial"],
        /// Penyuluh Sosial (ASN only).
        PenyuluhSosial => "penyuluh_sosial" ["penyuluh"],
        /// Relawan Sosial: volunteer.
        RelawanSosial => "relawan_sosial" ["relawan"],
    }
);

code_enum!(
    /// The role or programme a worker is posted to.
    Role, "role" {
        /// Pendamping PKH.
        PendampingPkh => "pendamping_pkh" ["pkh"],
        /// Sakti Peksos.
        SaktiPeksos => "sakti_peksos" ["sakti"],
        /// Peksos at kelurahan level.
        KelurahanPeksos => "kelurahan_peksos" ["peksos kelurahan"],
        /// LK3 family counselling.
        Lk3 => "lk3",
        /// Dinas Sosial staff.
        DinsosStaff => "dinsos_staff" ["dinsos", "staf dinsos", "staf dinas sosial"],
        /// UPTAKS officer.
        Uptaks => "uptaks",
        /// TKSK.
        Tksk => "tksk",
        /// PSM.
        Psm => "psm",
        /// Tagana.
        Tagana => "tagana",
        /// Peksos adiksi.
        PeksosAdiksi => "peksos_adiksi",
        /// Konselor adiksi.
        KonselorAdiksi => "konselor_adiksi",
        /// LKSA staff.
        LksaStaff => "lksa_staff" ["lksa", "staf lksa"],
        /// Any other role.
        Other => "other" ["lainnya"],
    }
);

code_enum!(
    /// Employment status; changes over time (THL → PPPK).
    EmploymentStatus, "employment status" {
        /// ASN-PNS.
        AsnPns => "asn_pns" ["pns"],
        /// ASN-PPPK (P3K).
        AsnPppk => "asn_pppk" ["pppk", "p3k"],
        /// Tenaga harian lepas.
        Thl => "thl",
        /// Contract with the ministry.
        MinistryContract => "ministry_contract" ["kontrak", "kontrak kementerian"],
        /// Volunteer.
        Volunteer => "volunteer" ["relawan", "sukarela"],
    }
);

code_enum!(
    /// Highest completed education; compare levels by [`EducationLevel::rank`], not by declaration
    /// order (which follows the protobuf numbering).
    EducationLevel, "education level" {
        /// Primary school.
        Sd => "sd",
        /// Junior secondary school.
        Smp => "smp",
        /// Senior secondary school.
        Sma => "sma",
        /// Vocational secondary school.
        Smk => "smk",
        /// D1 diploma.
        D1 => "d1",
        /// D2 diploma.
        D2 => "d2",
        /// D3 diploma.
        D3 => "d3",
        /// D4 applied bachelor.
        D4 => "d4",
        /// S1 bachelor.
        S1 => "s1",
        /// S2 master.
        S2 => "s2",
        /// S3 doctorate.
        S3 => "s3",
        /// Professional programme (ranks between S1 and S2; declared last to keep the
        /// protobuf numbering).
        Profesi => "profesi",
    }
);

code_enum!(
    /// Why a worker left the programme (protobuf `DepartureReason`, in this order).
    DepartureReason, "departure reason" {
        /// Resigned.
        Resigned => "resigned" ["mengundurkan diri", "resign"],
        /// Retired.
        Retired => "retired" ["pensiun"],
        /// Died.
        Died => "died" ["meninggal", "meninggal dunia", "wafat"],
        /// Left the programme for another reason (end of contract, transfer out, dismissal).
        LeftProgramme => "left_programme" ["keluar", "keluar program"],
    }
);

impl EducationLevel {
    /// Rank for "at least" comparisons: SMA and SMK rank alike, as do D4 and S1 (an applied
    /// bachelor is a bachelor), and the professional programme sits above S1, below S2.
    pub fn rank(self) -> u8 {
        match self {
            Self::Sd => 1,
            Self::Smp => 2,
            Self::Sma | Self::Smk => 3,
            Self::D1 => 4,
            Self::D2 => 5,
            Self::D3 => 6,
            Self::D4 | Self::S1 => 7,
            Self::Profesi => 8,
            Self::S2 => 9,
            Self::S3 => 10,
        }
    }
}

impl EmploymentStatus {
    /// Whether this is a civil-service (ASN) status.
    pub fn is_asn(self) -> bool {
        matches!(self, Self::AsnPns | Self::AsnPppk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_category_is_read_from_its_indonesian_name_in_any_case() {
        assert_eq!(Category::parse("Pekerja Sosial"), Ok(Category::Peksos));
        assert_eq!(
            Category::parse("PENYULUH-SOSIAL"),
            Ok(Category::PenyuluhSosial)
        );
    }

    #[test]
    fn an_unknown_role_lists_the_accepted_codes() {
        let error = Role::parse("astronaut").unwrap_err();
        assert!(error.to_string().contains("pendamping_pkh"), "{error}");
    }

    #[test]
    fn every_code_reads_back_as_itself() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.code()), Ok(*role));
        }
        for level in EducationLevel::ALL {
            assert_eq!(EducationLevel::parse(level.code()), Ok(*level));
        }
    }

    #[test]
    fn d4_ranks_with_s1_and_profesi_above_it() {
        assert_eq!(EducationLevel::D4.rank(), EducationLevel::S1.rank());
        assert!(EducationLevel::Profesi.rank() > EducationLevel::S1.rank());
    }
}
