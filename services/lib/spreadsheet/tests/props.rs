//! Property tests of the reader (issue 21, item 10): any bytes are read or refused without a
//! panic and within the limits, and what the writers write reads back exactly.
//!
//! Bounded in CI by proptest's default case count; longer on demand, e.g.
//! `PROPTEST_CASES=100000 cargo nextest run -p kesos-spreadsheet -E 'test(/props::/)'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props {
    use kesos_spreadsheet::{
        Limits, SheetError, Table, read_table, read_table_within, write_csv, write_xlsx,
    };
    use proptest::prelude::*;

    /// Small limits, so arbitrary input reaches them often.
    const SMALL: Limits = Limits {
        rows: 20,
        columns: 8,
        cell_chars: 40,
        table_bytes: 4_096,
        unpacked_bytes: 8_192,
        xml_depth: 6,
        zip_entries: 8,
    };

    /// Every cell of a table read under `limits` is within them, as is the table's size.
    fn within(table: &Table, limits: &Limits) {
        assert!(table.rows.len() <= limits.rows);
        assert!(table.headers.len() <= limits.columns);
        for row in &table.rows {
            assert!(row.cells.len() <= limits.columns);
            assert!(
                row.cells
                    .iter()
                    .all(|c| c.chars().count() <= limits.cell_chars)
            );
        }
        let bytes: usize = table
            .rows
            .iter()
            .map(|r| r.cells.iter().map(|c| 24 + c.len()).sum::<usize>() + 32)
            .sum();
        assert!(bytes <= limits.table_bytes);
    }

    /// Text a person could type in a cell: no surrounding white space (the reader trims), not
    /// empty, any other characters (quotes, delimiters, line breaks and non-ASCII included).
    fn cell() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ,;\t\"'\n\r_&<>éñ😀\u{1}-]{1,12}"
            .prop_map(|s| s.trim().to_owned())
            .prop_filter("a cell that trims to nothing", |s| !s.is_empty())
    }

    /// A header of distinct non-empty names and rows as wide, every row with a first cell.
    fn sheet() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
        (1usize..5).prop_flat_map(|width| {
            (
                proptest::collection::vec(cell(), width),
                proptest::collection::vec(proptest::collection::vec(cell(), width), 0..8),
            )
        })
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_or_refused_without_a_panic_and_within_the_limits(
            bytes in proptest::collection::vec(any::<u8>(), 0..2_048),
        ) {
            match read_table_within(&bytes, &SMALL) {
                Ok(table) => within(&table, &SMALL),
                Err(error) => prop_assert!(!error.to_string().is_empty()),
            }
        }

        #[test]
        fn any_text_is_read_as_csv_or_refused_without_a_panic(
            text in "[a-z0-9 ,;\t\"\r\n]{0,400}",
        ) {
            if let Ok(table) = read_table_within(text.as_bytes(), &SMALL) {
                within(&table, &SMALL);
            }
        }

        #[test]
        fn any_bytes_inside_a_zip_container_are_refused_or_read_without_a_panic(
            tail in proptest::collection::vec(any::<u8>(), 0..1_024),
        ) {
            let mut bytes = b"PK\x03\x04".to_vec();
            bytes.extend(tail);
            if let Ok(table) = read_table_within(&bytes, &SMALL) {
                within(&table, &SMALL);
            }
        }

        #[test]
        fn a_written_csv_reads_back_exactly((headers, rows) in sheet()) {
            let names: Vec<&str> = headers.iter().map(String::as_str).collect();
            let table = read_table(&write_csv(&names, &rows)).unwrap();
            prop_assert_eq!(&table.headers, &headers);
            let cells: Vec<&Vec<String>> = table.rows.iter().map(|r| &r.cells).collect();
            prop_assert_eq!(cells, rows.iter().collect::<Vec<_>>());
        }

        #[test]
        fn a_written_workbook_reads_back_exactly((headers, rows) in sheet()) {
            let names: Vec<&str> = headers.iter().map(String::as_str).collect();
            let table = read_table(&write_xlsx(&names, &rows).unwrap()).unwrap();
            prop_assert_eq!(&table.headers, &headers);
            let cells: Vec<&Vec<String>> = table.rows.iter().map(|r| &r.cells).collect();
            prop_assert_eq!(cells, rows.iter().collect::<Vec<_>>());
            prop_assert_eq!(
                table.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
                (2..rows.len() + 2).collect::<Vec<_>>()
            );
        }

        #[test]
        fn a_damaged_written_workbook_is_refused_or_read_without_a_panic(
            (headers, rows) in sheet(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let names: Vec<&str> = headers.iter().map(String::as_str).collect();
            let mut bytes = write_xlsx(&names, &rows).unwrap();
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= byte | 1;
            }
            match read_table_within(&bytes, &SMALL) {
                Ok(table) => within(&table, &SMALL),
                Err(SheetError::Empty) => prop_assert!(false, "a non-empty file read as empty"),
                Err(_) => {}
            }
        }
    }
}
