//! Property tests of request-body decoding and problem bodies (issue 21, item 10): any bytes are
//! read or refused as a 400 problem without a panic, the problem is bounded by the input, and
//! its JSON reads back to the same members. Longer on demand:
//! `PROPTEST_CASES=100000 cargo nextest run -p kesos-http -E 'test(/props::/)'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props {
    use std::collections::BTreeMap;

    use kesos_http::body::parse;
    use kesos_http::{FieldError, Problem};
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::Value;

    /// A command body with the shapes kesos takes: text, numbers, options, nesting, a list.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Form {
        name: String,
        count: u32,
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        nested: Option<BTreeMap<String, i64>>,
    }

    /// The problem as a client sees it: its JSON read back.
    fn json_of(problem: &Problem) -> Value {
        serde_json::from_slice(&serde_json::to_vec(problem).unwrap()).unwrap()
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_or_refused_with_a_bounded_400(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            if let Err(problem) = parse::<Form>(&bytes) {
                prop_assert_eq!(problem.status, 400);
                prop_assert!(!problem.errors.is_empty());
                let size = serde_json::to_vec(&problem).unwrap().len();
                prop_assert!(size <= 1_024 + 6 * bytes.len(), "{size} bytes from {}", bytes.len());
            }
        }

        #[test]
        fn any_json_text_is_read_or_refused_without_a_panic(
            text in r#"[{}\[\]":,0-9a-z \-.e]{0,200}"#,
        ) {
            if let Err(problem) = parse::<Form>(text.as_bytes()) {
                prop_assert!(problem.errors[0].rule.starts_with("json."));
            }
        }

        #[test]
        fn a_problem_reads_back_from_its_json(
            field in any::<String>(),
            rule in "[a-z_.]{1,30}",
            detail in any::<String>(),
        ) {
            let problem = Problem::invalid(vec![FieldError::new(field.clone(), rule.clone(), detail.clone())]);
            let json = json_of(&problem);
            prop_assert_eq!(json["status"].as_u64(), Some(400));
            prop_assert_eq!(json["errors"][0]["field"].as_str(), Some(field.as_str()));
            prop_assert_eq!(json["errors"][0]["rule"].as_str(), Some(rule.as_str()));
            prop_assert_eq!(json["errors"][0]["detail"].as_str(), Some(detail.as_str()));
        }
    }
}
