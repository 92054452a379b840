//! Reading CSV: delimiters, byte-order marks, row numbers, padding and the CSV-specific refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kesos_spreadsheet::{Format, Limit, MAX_ROWS, Row, SheetError, read_table, write_csv};

fn row(number: usize, cells: &[&str]) -> Row {
    Row {
        number,
        cells: cells.iter().map(|c| (*c).to_owned()).collect(),
    }
}

#[test]
fn a_comma_csv_is_read_into_trimmed_headers_and_rows() {
    let table = read_table(b" NIK , Nama \n3277014508900001,  Siti Aminah \n").unwrap();
    assert_eq!(table.format, Format::Csv { delimiter: b',' });
    assert_eq!(table.headers, ["NIK", "Nama"]);
    assert_eq!(table.rows, [row(2, &["3277014508900001", "Siti Aminah"])]);
}

#[test]
fn a_semicolon_csv_from_indonesian_excel_is_split_on_semicolons() {
    let table = read_table(b"NIK;Nama;Nilai\n3277014508900001;Budi, S.Sos;7,5\n").unwrap();
    assert_eq!(table.format, Format::Csv { delimiter: b';' });
    assert_eq!(
        table.rows,
        [row(2, &["3277014508900001", "Budi, S.Sos", "7,5"])]
    );
}

#[test]
fn a_tab_separated_file_is_split_on_tabs() {
    let table = read_table(b"NIK\tNama\n1\tAni\n").unwrap();
    assert_eq!(table.format, Format::Csv { delimiter: b'\t' });
    assert_eq!(table.rows, [row(2, &["1", "Ani"])]);
}

#[test]
fn commas_inside_quoted_headers_do_not_decide_the_delimiter() {
    let table = read_table(b"\"Nama, lengkap\";NIK\n\"Ani, S.Pd\";1\n").unwrap();
    assert_eq!(table.format, Format::Csv { delimiter: b';' });
    assert_eq!(table.headers, ["Nama, lengkap", "NIK"]);
}

#[test]
fn a_utf8_byte_order_mark_is_stripped_from_the_first_header() {
    let table = read_table("\u{feff}NIK,Nama\n1,Dédé Sutisna\n".as_bytes()).unwrap();
    assert_eq!(table.headers, ["NIK", "Nama"]);
    assert_eq!(table.column("NIK"), Some(0));
    assert_eq!(table.rows, [row(2, &["1", "Dédé Sutisna"])]);
}

#[test]
fn a_quoted_newline_does_not_shift_row_numbers() {
    let table =
        read_table(b"NIK,Alamat\n1,\"Jl. Merdeka 1\nRT 02/RW 03\"\n2,Jl. Asia Afrika\n").unwrap();
    assert_eq!(
        table.rows,
        [
            row(2, &["1", "Jl. Merdeka 1\nRT 02/RW 03"]),
            row(3, &["2", "Jl. Asia Afrika"]),
        ]
    );
}

#[test]
fn blank_rows_are_skipped_but_keep_their_row_numbers() {
    for bytes in [
        &b"NIK,Nama\n1,Ani\n\n,\n  ,  \n2,Budi\n"[..],
        &b"NIK,Nama\r\n1,Ani\r\n\r\n,\r\n  ,  \r\n2,Budi\r\n"[..],
    ] {
        let table = read_table(bytes).unwrap();
        assert_eq!(table.rows, [row(2, &["1", "Ani"]), row(6, &["2", "Budi"])]);
    }
}

#[test]
fn blank_lines_before_the_header_are_counted_too() {
    let table = read_table(b"\n\nNIK\n1\n").unwrap();
    assert_eq!(table.headers, ["NIK"]);
    assert_eq!(table.rows, [row(4, &["1"])]);
}

#[test]
fn short_rows_end_at_their_last_cell_and_long_rows_keep_their_extra_cells() {
    let table = read_table(b"NIK,Nama,Kota\n1\n2,Ani,Bogor,extra\n3,Budi,Depok,,\n").unwrap();
    assert_eq!(table.rows[0].cell(2), "");
    assert_eq!(
        table.rows,
        [
            row(2, &["1"]),
            row(3, &["2", "Ani", "Bogor", "extra"]),
            row(4, &["3", "Budi", "Depok"]),
        ]
    );
}

#[test]
fn empty_headers_after_the_last_name_are_dropped() {
    let table = read_table(b"NIK,Nama,,\n1,Ani,,\n").unwrap();
    assert_eq!(table.headers, ["NIK", "Nama"]);
    assert_eq!(table.rows, [row(2, &["1", "Ani"])]);
}

#[test]
fn a_file_without_a_final_newline_keeps_its_last_row() {
    let table = read_table(b"NIK\n1\n2").unwrap();
    assert_eq!(table.rows, [row(2, &["1"]), row(3, &["2"])]);
}

#[test]
fn columns_are_found_ignoring_case_spaces_dashes_and_underscores() {
    let table = read_table(b"NIK,Nama Lengkap,tanggal_lahir\n").unwrap();
    assert_eq!(table.column("nik"), Some(0));
    assert_eq!(table.column(" NAMA-LENGKAP "), Some(1));
    assert_eq!(table.column("Tanggal  Lahir"), Some(2));
    assert_eq!(table.column("Kota"), None);
}

#[test]
fn write_csv_output_reads_back_exactly() {
    let rows = vec![
        vec![
            "3277014508900001".to_owned(),
            "Ani \"Nining\", S.Pd".to_owned(),
        ],
        vec![
            "3277014508900002".to_owned(),
            "Jl. Merdeka 1\nRT 02".to_owned(),
        ],
    ];
    let table = read_table(&write_csv(&["NIK", "Nama"], &rows)).unwrap();
    assert_eq!(table.format, Format::Csv { delimiter: b',' });
    assert_eq!(table.headers, ["NIK", "Nama"]);
    assert_eq!(
        table
            .rows
            .iter()
            .map(|r| r.cells.clone())
            .collect::<Vec<_>>(),
        rows
    );
    assert_eq!(table.rows[1].number, 3);
}

#[test]
fn a_file_of_blank_lines_has_no_header() {
    assert_eq!(read_table(b"\n\r\n  \n,,\n"), Err(SheetError::NoHeader));
    assert_eq!(read_table("\u{feff}".as_bytes()), Err(SheetError::NoHeader));
}

#[test]
fn a_latin1_csv_is_refused_naming_the_first_bad_line() {
    let err = read_table(b"NIK,Nama\n1,Ani\n2,Jos\xe9\n3,Andr\xe9\n").unwrap_err();
    assert_eq!(
        err,
        SheetError::WrongEncoding {
            line: 3,
            detail: "probably Windows-1252 or Latin-1".to_owned(),
        }
    );
    let message = err.to_string();
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("CSV UTF-8"), "{message}");
}

#[test]
fn a_utf16_file_is_refused_naming_its_encoding() {
    let utf16 = SheetError::WrongEncoding {
        line: 1,
        detail: "UTF-16".to_owned(),
    };
    let little_endian: Vec<u8> = "NIK,Nama\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let big_endian: Vec<u8> = "NIK,Nama\n"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    assert_eq!(
        read_table(&[&b"\xff\xfe"[..], &little_endian].concat()),
        Err(utf16.clone())
    );
    assert_eq!(
        read_table(&[&b"\xfe\xff"[..], &big_endian].concat()),
        Err(utf16.clone())
    );
    // Without a byte-order mark, too.
    assert_eq!(read_table(&little_endian), Err(utf16));
}

#[test]
fn an_unterminated_quote_is_refused_naming_its_line() {
    let err = read_table(b"NIK,Nama\n1,Ani\n2,\"Budi\n3,Cici\n4,Dedi\n").unwrap_err();
    assert!(
        matches!(err, SheetError::Csv { line: 3, .. }),
        "unexpected {err:?}"
    );
    assert!(err.to_string().contains("line 3"));
}

#[test]
fn quotes_inside_unquoted_cells_and_escaped_quotes_are_not_malformed() {
    let table = read_table(b"Nama,Ukuran\nAni,5\" pipa\n\"Budi \"\"Bud\"\"\",\"\"\"\"").unwrap();
    assert_eq!(
        table.rows,
        [
            row(2, &["Ani", "5\" pipa"]),
            row(3, &["Budi \"Bud\"", "\""])
        ]
    );
}

#[test]
fn more_than_max_rows_is_refused() {
    let mut bytes = b"NIK\n".to_vec();
    bytes.extend(b"1\n".repeat(MAX_ROWS));
    assert_eq!(read_table(&bytes).map(|t| t.rows.len()), Ok(MAX_ROWS));
    bytes.extend(b"1\n");
    assert_eq!(
        read_table(&bytes),
        Err(SheetError::OverLimit {
            limit: Limit::Rows,
            max: MAX_ROWS as u64,
            row: Some(MAX_ROWS + 2)
        })
    );
}

#[test]
fn a_written_header_holding_a_tab_or_a_semicolon_reads_back_as_one_name() {
    let rows = vec![vec!["1".to_owned(), "2".to_owned()]];
    let table = read_table(&write_csv(&["A\t>", "B;C"], &rows)).unwrap();
    assert_eq!(table.headers, ["A\t>", "B;C"]);
    assert_eq!(table.rows, [row(2, &["1", "2"])]);
}
