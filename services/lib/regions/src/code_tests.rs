#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn code(text: &str) -> RegionCode {
    RegionCode::parse(text).unwrap()
}

#[test]
fn every_dotted_form_parses_and_round_trips() {
    for text in ["32", "32.77", "32.77.01", "32.77.01.1001"] {
        let parsed = code(text);
        assert_eq!(parsed.as_str(), text);
        assert_eq!(parsed.to_string(), text);
        assert_eq!(code(parsed.as_str()), parsed);
        assert_eq!(text.parse::<RegionCode>().unwrap(), parsed);
    }
}

#[test]
fn undotted_forms_normalise_to_the_dotted_form() {
    assert_eq!(code("32").as_str(), "32");
    assert_eq!(code("3277").as_str(), "32.77");
    assert_eq!(code("327701").as_str(), "32.77.01");
    assert_eq!(code("3277011001").as_str(), "32.77.01.1001");
}

#[test]
fn surrounding_whitespace_is_ignored() {
    assert_eq!(code("  32.77\t").as_str(), "32.77");
    assert_eq!(code("\u{a0}3277\n").as_str(), "32.77");
}

#[test]
fn a_code_knows_its_level_from_its_parts() {
    assert_eq!(code("32").level(), Level::Provinsi);
    assert_eq!(code("32.77").level(), Level::KabupatenKota);
    assert_eq!(code("32.77.01").level(), Level::Kecamatan);
    assert_eq!(code("32.77.01.1001").level(), Level::DesaKelurahan);
}

#[test]
fn malformed_codes_are_refused_with_the_expected_format() {
    for text in [
        "",
        "3",
        "3x.77",
        "32.7",
        "32.777",
        "32.77.1",
        "32.77.01.101",
        "32.77.01.10011",
        "32.77.01.1001.01",
        "32..77",
        ".32",
        "32.",
        "32-77",
        "327",
        "32770",
        "32770110",
        "32.7701",
        "3277.01",
        "32 77",
        "٣٢",
        "+32",
    ] {
        let error = RegionCode::parse(text).expect_err(text);
        assert_eq!(
            error.to_string(),
            format!(
                "region code {:?} is malformed: expected PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD \
                 (digits)",
                text.trim()
            )
        );
    }
}

#[test]
fn the_error_names_the_exact_rule_for_a_typo() {
    assert_eq!(
        RegionCode::parse("3x.77").unwrap_err().to_string(),
        "region code \"3x.77\" is malformed: expected PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD \
         (digits)"
    );
}

#[test]
fn a_long_refused_input_is_cut_short_in_the_error() {
    let long = "9".repeat(1_000);
    let error = RegionCode::parse(&long).unwrap_err();
    assert_eq!(error.input().chars().count(), ECHO_LIMIT + 1);
    assert!(error.input().ends_with('…'));
}

#[test]
fn parents_climb_one_level_at_a_time() {
    assert_eq!(code("32.77.01.1001").parent(), Some(code("32.77.01")));
    assert_eq!(code("32.77.01").parent(), Some(code("32.77")));
    assert_eq!(code("32.77").parent(), Some(code("32")));
    assert_eq!(code("32").parent(), None);
}

#[test]
fn province_and_kabupaten_kota_are_read_from_the_prefix() {
    assert_eq!(code("32.77.01.1001").province(), code("32"));
    assert_eq!(code("32").province(), code("32"));
    assert_eq!(code("32.77.01.1001").kabupaten_kota(), Some(code("32.77")));
    assert_eq!(code("32.77").kabupaten_kota(), Some(code("32.77")));
    assert_eq!(code("32").kabupaten_kota(), None);
}

#[test]
fn a_dinas_scoped_to_a_kota_sees_its_villages_but_not_its_neighbours() {
    let cimahi = code("32.77");
    assert!(code("32.77").is_within(&cimahi));
    assert!(code("32.77.01").is_within(&cimahi));
    assert!(code("32.77.01.1001").is_within(&cimahi));
    assert!(!code("32.17").is_within(&cimahi));
    assert!(!code("32.17.01.2001").is_within(&cimahi));
    assert!(!code("32").is_within(&cimahi));
    assert!(code("32.77").is_within(&code("32")));
}

#[test]
fn digits_drop_the_dots() {
    assert_eq!(code("32.77.01.1001").digits(), "3277011001");
    assert_eq!(code("32").digits(), "32");
}

#[test]
fn codes_order_each_region_before_its_descendants() {
    let mut codes = [
        code("33"),
        code("32.77.02"),
        code("32.77.01.1001"),
        code("32"),
        code("32.77"),
        code("32.77.01"),
    ];
    codes.sort();
    let texts: Vec<&str> = codes.iter().map(RegionCode::as_str).collect();
    assert_eq!(
        texts,
        ["32", "32.77", "32.77.01", "32.77.01.1001", "32.77.02", "33"]
    );
}

#[test]
fn equal_codes_hash_alike_whatever_form_they_were_written_in() {
    let set: std::collections::HashSet<RegionCode> = [code("3277"), code("32.77"), code(" 32.77 ")]
        .into_iter()
        .collect();
    assert_eq!(set.len(), 1);
    assert_eq!(format!("{:?}", code("3277")), "RegionCode(\"32.77\")");
}

#[test]
fn a_code_serialises_as_its_dotted_string_and_back() {
    let original = code("32.77.01.1001");
    let json = serde_json::to_string(&original).unwrap();
    assert_eq!(json, "\"32.77.01.1001\"");
    assert_eq!(serde_json::from_str::<RegionCode>(&json).unwrap(), original);
    assert_eq!(
        serde_json::from_str::<RegionCode>("\"3277\"").unwrap(),
        code("32.77")
    );
}

#[test]
fn deserialising_a_malformed_code_fails_with_the_parse_message() {
    let error = serde_json::from_str::<RegionCode>("\"3x.77\"").unwrap_err();
    assert!(error.to_string().contains("is malformed"), "{error}");
    assert!(serde_json::from_str::<RegionCode>("3277").is_err());
}
