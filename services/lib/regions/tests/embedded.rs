//! The embedded edition, checked against the figures published with it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_regions::{EDITION, Level, RegionCode, RegionError, Regions};

fn code(text: &str) -> RegionCode {
    RegionCode::parse(text).unwrap()
}

fn regions() -> &'static Regions {
    Regions::embedded()
}

#[test]
fn the_embedded_data_loads_without_skipping_a_single_row() {
    assert_eq!(regions().skipped_rows(), 0);
}

#[test]
fn level_counts_match_the_decree() {
    assert_eq!(regions().count(Level::Provinsi), 38);
    assert_eq!(regions().count(Level::KabupatenKota), 514);
    assert_eq!(regions().count(Level::Kecamatan), 7_285);
    assert_eq!(regions().count(Level::DesaKelurahan), 83_762);
    assert_eq!(regions().len(), 91_599);
    assert!(!regions().is_empty());
}

#[test]
fn every_region_is_preceded_by_its_parent_and_agrees_with_its_code() {
    for region in regions().iter() {
        assert_eq!(region.level(), region.code().level());
        assert!(!region.name().trim().is_empty());
        if let Some(parent) = region.code().parent() {
            assert!(regions().get(&parent).is_some(), "{parent} is missing");
        }
    }
}

#[test]
fn kota_cimahi_has_3_kecamatan_and_15_kelurahan() {
    let cimahi = code("32.77");
    let region = regions().get(&cimahi).unwrap();
    assert_eq!(region.name(), "Kota Cimahi");
    assert!(region.is_kota());

    let kecamatan = regions().children(&cimahi);
    let names: Vec<&str> = kecamatan.iter().map(|r| r.name()).collect();
    assert_eq!(names, ["Cimahi Selatan", "Cimahi Tengah", "Cimahi Utara"]);

    let villages: Vec<_> = regions()
        .descendants(&cimahi)
        .into_iter()
        .filter(|r| r.level() == Level::DesaKelurahan)
        .collect();
    assert_eq!(villages.len(), 15);
    assert!(villages.iter().all(|village| village.is_kelurahan()));
}

#[test]
fn code_32_17_is_kabupaten_bandung_barat() {
    let region = regions().lookup("32.17").unwrap();
    assert_eq!(region.name(), "Kabupaten Bandung Barat");
    assert_eq!(region.level(), Level::KabupatenKota);
    assert!(!region.is_kota());
}

#[test]
fn the_provinces_named_in_the_domain_are_where_expected() {
    assert_eq!(regions().lookup("32").unwrap().name(), "Jawa Barat");
    assert_eq!(regions().lookup("18").unwrap().name(), "Lampung");
    let provinces = regions().provinces();
    assert_eq!(provinces.len(), 38);
    assert!(provinces.is_sorted_by_key(|r| r.code()));
    assert!(provinces.iter().all(|r| r.level() == Level::Provinsi));
}

#[test]
fn lookup_accepts_the_undotted_form() {
    assert_eq!(regions().lookup(" 3277011001 ").unwrap().name(), "Melong");
}

#[test]
fn an_unknown_code_is_reported_with_the_edition() {
    let error = regions().lookup("32.99").unwrap_err();
    assert_eq!(
        error,
        RegionError::Unknown {
            code: "32.99".into(),
            edition: EDITION
        }
    );
    assert_eq!(
        error.to_string(),
        "region 32.99 does not exist in edition Kepmendagri 300.2.2-2138/2025"
    );
}

#[test]
fn a_malformed_code_is_reported_as_malformed() {
    let error = regions().lookup("3x.77").unwrap_err();
    assert!(matches!(error, RegionError::Malformed(_)));
    assert_eq!(
        error.to_string(),
        "region code \"3x.77\" is malformed: expected PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD \
         (digits)"
    );
}

#[test]
fn ancestors_run_from_the_province_down_excluding_the_region_itself() {
    let names: Vec<&str> = regions()
        .ancestors(&code("32.77.01.1001"))
        .iter()
        .map(|r| r.name())
        .collect();
    assert_eq!(names, ["Jawa Barat", "Kota Cimahi", "Cimahi Selatan"]);
    assert!(regions().ancestors(&code("32")).is_empty());
}

#[test]
fn a_village_and_an_unknown_code_have_no_children() {
    assert!(regions().children(&code("32.77.01.1001")).is_empty());
    assert!(regions().children(&code("32.99")).is_empty());
    assert!(regions().descendants(&code("32.99")).is_empty());
}

#[test]
fn children_of_a_province_are_its_kabupaten_kota_in_code_order() {
    let children = regions().children(&code("32"));
    assert_eq!(children.len(), 27);
    assert!(children.is_sorted_by_key(|r| r.code()));
    assert!(children.iter().all(|r| r.level() == Level::KabupatenKota));
    assert!(children.iter().any(|r| r.name() == "Kota Cimahi"));
}

#[test]
fn the_first_four_digits_of_a_nik_name_a_kabupaten_kota() {
    let region = regions().kabupaten_kota_of_nik("3277").unwrap();
    assert_eq!(region.code(), &code("32.77"));
    assert_eq!(region.name(), "Kota Cimahi");
}

#[test]
fn anything_but_four_known_digits_names_no_kabupaten_kota() {
    for prefix in ["3299", "327", "32771", "32.7", "32 77", "3x77", "", "٣٢٧٧"] {
        assert!(
            regions().kabupaten_kota_of_nik(prefix).is_none(),
            "{prefix:?}"
        );
    }
}

#[test]
fn searching_cimahi_finds_kota_cimahi_first() {
    let found = regions().search("cimahi", 10);
    assert_eq!(found.first().unwrap().name(), "Kota Cimahi");
    assert_eq!(found.len(), 10);
    assert!(found.is_sorted_by_key(|r| r.level()));
}

#[test]
fn search_ignores_case_and_respects_the_limit() {
    assert_eq!(
        regions().search("JAWA BARAT", 5).first().unwrap().code(),
        &code("32")
    );
    assert_eq!(regions().search("a", 3).len(), 3);
    assert!(regions().search("a", 0).is_empty());
    assert!(regions().search("   ", 10).is_empty());
    assert!(regions().search("no such place", 10).is_empty());
}

#[test]
fn a_region_serialises_for_json_answers() {
    let region = regions().lookup("32.77.01.1001").unwrap();
    assert_eq!(
        serde_json::to_value(region).unwrap(),
        serde_json::json!({"code": "32.77.01.1001", "name": "Melong", "level": "desa_kelurahan"})
    );
}

#[test]
fn a_code_survives_a_serde_round_trip_inside_a_document() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Posting {
        region: RegionCode,
    }
    let posting = Posting {
        region: code("32.77.01.1001"),
    };
    let json = serde_json::to_string(&posting).unwrap();
    assert_eq!(json, r#"{"region":"32.77.01.1001"}"#);
    assert_eq!(serde_json::from_str::<Posting>(&json).unwrap(), posting);
    assert!(serde_json::from_str::<Posting>(r#"{"region":"32.7"}"#).is_err());
}
