//! Indonesia's Kemendagri region codes (all 91,599, embedded): parsing, lookup, hierarchy and
//! validation.
//!
//! A region code is `PP.KK.CC.DDDD`: a province (`32` Jawa Barat), a kabupaten/kota inside it
//! (`32.77` Kota Cimahi; kabupaten number 01–69, kota 71–99), a kecamatan (`32.77.01` Cimahi
//! Selatan) and a desa/kelurahan (`32.77.01.1001` Melong; a village number starting with 1 is a
//! kelurahan, with 2 a desa).
//!
//! - [`RegionCode`] is a code that is *syntactically* valid, always in canonical dotted form.
//!   Parsing it says nothing about whether the region exists.
//! - [`Regions`] is the table of regions that *do* exist in one edition of the decree
//!   ([`EDITION`]); [`Regions::embedded`] is the copy compiled into the binary.
//!
//! Codes change by decree (Papua was split into new provinces in 2022), so whoever stores a code
//! should store the [`EDITION`] it was checked against as well.
//!
//! # Data and licence
//!
//! The table is `data/wilayah.csv`, embedded with `include_str!`. It carries the data of the
//! `cahyadsn/wilayah` project, which is published under the MIT licence; the licence text is kept
//! beside it in `data/LICENSE` and must travel with any copy of the data (see `data/README.md`).

mod code;
mod csv;
mod level;
mod region;
mod registry;
mod search;

pub use code::{RegionCode, RegionCodeError};
pub use level::Level;
pub use region::Region;
pub use registry::{RegionError, Regions};

/// The decree whose region list is embedded in this crate. Store it next to any code you store:
/// a code is only meaningful together with the edition that defined it.
pub const EDITION: &str = "Kepmendagri 300.2.2-2138/2025";
