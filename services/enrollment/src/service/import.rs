//! Bulk import of workers from the spreadsheets Dinas offices send (CSV in UTF-8, or XLSX).
//!
//! Every row is validated on its own; valid rows are registered, invalid rows come back in
//! the report naming row, column and rule. Each row's command id derives from the file's
//! SHA-256 and the row number, so importing the same file again registers nobody twice: its
//! rows come back as `unchanged`. A NIK registered already (by another file or by hand) or
//! repeated inside the file is a row error. The file format is documented in the README. The
//! import answers once the worker directory lists every worker it registered.

use std::collections::HashMap;

use bytes::Bytes;
use futures::StreamExt;
use kesos_aggregate::Aggregate;
use kesos_commands::{CommandContext, to_new_events};
use kesos_eventstore::{BulkAppend, Claims, ExpectedVersion, StoreError};
use kesos_http::FieldError;
use kesos_spreadsheet::{Format, Limit, SheetError, Table, read_table};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::{Worker, WorkerCommand, WorkerId};
use crate::service::error::EnrollmentError;
use crate::service::form::{ValidWorker, WorkerForm};
use crate::service::{Enrollment, nik_claim, seal_registration, worker_of_stream, worker_stream};

/// Rows registered per round: one vault round trip and a few group-commit batches.
const CHUNK: usize = 1_000;
/// Rounds registering at once.
const ROUNDS_IN_FLIGHT: usize = 4;

/// Each field of [`WorkerForm`], with the column names a file may use for it (Indonesian
/// first). `true` marks a column the file must have.
pub const COLUMNS: &[(&str, bool, &[&str])] = &[
    ("nik", true, &["nik"]),
    (
        "full_name",
        true,
        &["nama_lengkap", "nama", "full_name", "name"],
    ),
    ("sex", true, &["jenis_kelamin", "jk", "sex"]),
    (
        "birth_date",
        true,
        &["tanggal_lahir", "tgl_lahir", "birth_date"],
    ),
    ("category", true, &["kategori", "category"]),
    ("role", true, &["peran", "program", "role"]),
    (
        "employment_status",
        true,
        &["status_kepegawaian", "status_pegawai", "employment_status"],
    ),
    (
        "posting",
        true,
        &["kode_wilayah", "kode_wilayah_penempatan", "posting"],
    ),
    (
        "education_level",
        true,
        &["pendidikan", "pendidikan_terakhir", "education_level"],
    ),
    (
        "education_in_social_work",
        false,
        &["pendidikan_pekerjaan_sosial", "education_in_social_work"],
    ),
    (
        "practice_months",
        false,
        &["bulan_praktik", "practice_months"],
    ),
    (
        "training_hours",
        false,
        &["jam_pelatihan", "training_hours"],
    ),
    (
        "association_member",
        false,
        &["anggota_asosiasi", "association_member"],
    ),
    (
        "registered_on",
        false,
        &["tanggal_registrasi", "tgl_registrasi", "registered_on"],
    ),
];

/// The column names of a file kesos itself writes (samples, templates, benchmarks): each
/// field's first, Indonesian, name in [`COLUMNS`] order, as a Dinas office would title them.
pub const HEADERS: [&str; 13] = [
    "NIK",
    "Nama Lengkap",
    "Jenis Kelamin",
    "Tanggal Lahir",
    "Kategori",
    "Peran",
    "Status Kepegawaian",
    "Kode Wilayah",
    "Pendidikan",
    "Pendidikan Pekerjaan Sosial",
    "Bulan Praktik",
    "Jam Pelatihan",
    "Anggota Asosiasi",
];

/// One rejected cell or row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Row number as the spreadsheet program shows it (the header is row 1).
    pub row: usize,
    /// Column name as written in the file.
    pub column: String,
    /// Rule identifier, e.g. `nik.length`.
    pub rule: String,
    /// What is wrong.
    pub detail: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// SHA-256 of the file (hex): the same file imports to the same workers.
    pub file_sha256: String,
    /// `csv` or `xlsx`.
    pub format: &'static str,
    /// Data rows read.
    pub rows: usize,
    /// Workers registered by this import.
    pub stored: usize,
    /// Rows registered already by an earlier import of this same file.
    pub unchanged: usize,
    /// Rows not registered (each has one or more errors).
    pub rejected_rows: usize,
    /// Every error, by row.
    pub errors: Vec<RowError>,
}

/// The rule id of a file that cannot be read at all.
pub fn sheet_rule(error: &SheetError) -> &'static str {
    match error {
        SheetError::Empty => "file.empty",
        SheetError::NoHeader => "file.header",
        SheetError::LegacyXls => "file.legacy_xls",
        SheetError::NotASpreadsheet { .. } => "file.spreadsheet",
        SheetError::WrongEncoding { .. } => "file.encoding",
        SheetError::Csv { .. } => "file.csv",
        SheetError::Xlsx { .. } => "file.xlsx",
        SheetError::OverLimit { limit, .. } => match limit {
            Limit::Rows => "file.limit.rows",
            Limit::Columns => "file.limit.columns",
            Limit::CellChars => "file.limit.cell_chars",
            Limit::TableBytes => "file.limit.table_bytes",
            Limit::UnpackedBytes => "file.limit.unpacked_bytes",
            Limit::XmlDepth => "file.limit.xml_depth",
            Limit::ZipEntries => "file.limit.zip_entries",
        },
    }
}

/// The error for a file that cannot be read: past a limit it is [`EnrollmentError::OverLimit`]
/// (HTTP 422), otherwise an invalid `file` (HTTP 400).
fn file_error(error: &SheetError) -> EnrollmentError {
    let field = FieldError::new("file", sheet_rule(error), error.to_string());
    match error {
        SheetError::OverLimit { .. } => EnrollmentError::OverLimit(field),
        _ => EnrollmentError::Invalid(vec![field]),
    }
}

/// Hashes and reads the file on a blocking thread: reading is CPU work proportional to the file
/// (and to a workbook's unpacked size), which must not hold up the async workers serving other
/// requests.
async fn read_file(bytes: Bytes) -> Result<(Vec<u8>, Table), EnrollmentError> {
    let read = tokio::task::spawn_blocking(move || {
        let hash = Sha256::digest(&bytes).to_vec();
        read_table(&bytes).map(|table| (hash, table))
    });
    match read.await {
        Ok(read) => read.map_err(|e| file_error(&e)),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(EnrollmentError::ShuttingDown),
    }
}

/// Where each field is in the table, or a file-level error naming the missing columns.
fn locate(table: &Table) -> Result<Vec<Option<usize>>, EnrollmentError> {
    let mut missing = Vec::new();
    let places = COLUMNS
        .iter()
        .map(|(field, required, names)| {
            let place = names.iter().find_map(|name| table.column(name));
            if place.is_none() && *required {
                missing.push(FieldError::new(
                    names[0],
                    "file.columns",
                    format!("the file has no column {} (for {field})", names[0]),
                ));
            }
            place
        })
        .collect();
    if missing.is_empty() {
        Ok(places)
    } else {
        Err(EnrollmentError::Invalid(missing))
    }
}

fn form_of(cells: &[String], places: &[Option<usize>]) -> WorkerForm {
    let cell = |field: usize| {
        places[field]
            .and_then(|index| cells.get(index))
            .cloned()
            .unwrap_or_default()
    };
    WorkerForm {
        nik: cell(0),
        full_name: cell(1),
        sex: cell(2),
        birth_date: cell(3),
        category: cell(4),
        role: cell(5),
        employment_status: cell(6),
        posting: cell(7),
        education_level: cell(8),
        education_in_social_work: cell(9),
        practice_months: cell(10),
        training_hours: cell(11),
        association_member: cell(12),
        registered_on: cell(13),
    }
}

/// The command id of a file's row: stable for the same file, distinct across rows and files.
fn row_command(file_hash: &[u8], row: usize) -> Uuid {
    let digest = Sha256::new()
        .chain_update(b"kesos-import-row-v1")
        .chain_update(file_hash)
        .chain_update(u64::try_from(row).unwrap_or(u64::MAX).to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

struct Pending {
    row: usize,
    command_id: Uuid,
    worker: ValidWorker,
}

impl Enrollment {
    /// Imports workers from a CSV or XLSX file's bytes. A file that cannot be read at all is
    /// an [`EnrollmentError::Invalid`] naming `file` (or the missing columns), one beyond a
    /// limit of the reader an [`EnrollmentError::OverLimit`]; bad rows are in the report.
    /// `progress(done, total)` is called after each round of rows. The file is read on a
    /// blocking thread, hence owned bytes (a `Vec<u8>` or the request body, without a copy).
    pub async fn import_workers(
        &self,
        bytes: impl Into<Bytes>,
        actor: &str,
        today: Date,
        progress: impl Fn(usize, usize),
    ) -> Result<ImportReport, EnrollmentError> {
        let (file_hash, table) = read_file(bytes.into()).await?;
        let places = locate(&table)?;
        let mut report = ImportReport {
            file_sha256: file_hash.iter().map(|b| format!("{b:02x}")).collect(),
            format: match table.format {
                Format::Csv { .. } => "csv",
                Format::Xlsx => "xlsx",
            },
            rows: table.rows.len(),
            stored: 0,
            unchanged: 0,
            rejected_rows: 0,
            errors: Vec::new(),
        };
        let column_name = |field: &str| {
            COLUMNS
                .iter()
                .position(|(name, _, _)| *name == field)
                .and_then(|index| places[index])
                .and_then(|index| table.headers.get(index))
                .cloned()
                .unwrap_or_else(|| field.to_owned())
        };
        let mut pending = Vec::new();
        // The last log position of a registered row: the directory is waited for up to it.
        let mut last_position = None;
        let mut first_row_of_nik: HashMap<String, usize> = HashMap::new();
        for row in &table.rows {
            match form_of(&row.cells, &places).validate(self.regions(), today) {
                Ok(worker) => {
                    if let Some(first) = first_row_of_nik.get(worker.nik.digits()) {
                        report.errors.push(RowError {
                            row: row.number,
                            column: column_name("nik"),
                            rule: "nik.unique_in_file".into(),
                            detail: format!("this NIK is on row {first} of the file already"),
                        });
                        report.rejected_rows += 1;
                        continue;
                    }
                    first_row_of_nik.insert(worker.nik.digits().to_owned(), row.number);
                    pending.push(Pending {
                        row: row.number,
                        command_id: row_command(&file_hash, row.number),
                        worker,
                    });
                }
                Err(errors) => {
                    report.rejected_rows += 1;
                    report.errors.extend(errors.into_iter().map(|e| RowError {
                        row: row.number,
                        column: column_name(&e.field),
                        rule: e.rule,
                        detail: e.detail,
                    }));
                }
            }
        }
        let total = pending.len();
        let mut done = 0;
        // A few rounds in flight: one round's key inserts overlap another's appends, and the
        // group-commit writer always has a full batch waiting.
        let pending = &pending;
        // Every registration of one file shares the file's correlation id.
        let correlation = &format!("import:{}", &report.file_sha256[..16]);
        let mut rounds = futures::stream::iter((0..total).step_by(CHUNK))
            .map(|start| async move {
                let chunk = &pending[start..(start + CHUNK).min(total)];
                (
                    chunk.len(),
                    self.register_chunk(chunk, actor, correlation).await,
                )
            })
            .buffered(ROUNDS_IN_FLIGHT);
        while let Some((size, registered)) = rounds.next().await {
            for (row, outcome) in registered? {
                match outcome {
                    RowOutcome::Stored(position) => {
                        report.stored += 1;
                        last_position = last_position.max(position);
                    }
                    RowOutcome::Unchanged(position) => {
                        report.unchanged += 1;
                        last_position = last_position.max(position);
                    }
                    RowOutcome::DuplicateNik(existing) => {
                        report.rejected_rows += 1;
                        report.errors.push(RowError {
                            row,
                            column: column_name("nik"),
                            rule: "nik.unique".into(),
                            detail: format!("this NIK is registered already, to worker {existing}"),
                        });
                    }
                }
            }
            done += size;
            progress(done, total);
        }
        report.errors.sort_by_key(|e| e.row);
        self.directory_reaches(last_position).await;
        for (outcome, rows) in [
            ("imported", report.stored),
            ("unchanged", report.unchanged),
            ("rejected", report.rejected_rows),
        ] {
            metrics::counter!("kesos_import_rows_total", "outcome" => outcome)
                .increment(rows as u64);
        }
        Ok(report)
    }

    async fn register_chunk(
        &self,
        chunk: &[Pending],
        actor: &str,
        correlation: &str,
    ) -> Result<Vec<(usize, RowOutcome)>, EnrollmentError> {
        let subjects: Vec<Uuid> = chunk.iter().map(|p| p.command_id).collect();
        let timer = std::time::Instant::now();
        let keys = self.vault.keys_for(&subjects).await?;
        let keyed = timer.elapsed();
        let now = OffsetDateTime::now_utc();
        let mut appends = Vec::with_capacity(chunk.len());
        for (pending, key) in chunk.iter().zip(keys) {
            let key = key?;
            let worker_id = WorkerId(pending.command_id);
            let context = CommandContext {
                command_id: pending.command_id,
                actor: actor.to_owned(),
                correlation_id: correlation.to_owned(),
                causation_id: None,
                occurred_at: pending.worker.registered_at(now),
            };
            let registration = seal_registration(worker_id, &key, &pending.worker);
            // A new stream: decided on the empty state, appended as "no stream yet".
            let events = Worker::default()
                .decide(&WorkerCommand::RegisterWorker(Box::new(registration)))
                .map_err(EnrollmentError::Worker)?;
            let new_events = to_new_events(&events, &context)?;
            let claims = Claims {
                take: vec![nik_claim(&self.vault, pending.worker.nik.digits())?],
                release: Vec::new(),
            };
            appends.push(BulkAppend {
                stream: worker_stream(worker_id)?,
                expected: ExpectedVersion::NoStream,
                events: new_events,
                claims,
            });
        }
        let sealed = timer.elapsed();
        let outcomes = self.store.append_bulk(appends).await;
        tracing::debug!(
            rows = chunk.len(),
            keys_ms = keyed.as_millis(),
            seal_ms = (sealed - keyed).as_millis(),
            append_ms = (timer.elapsed() - sealed).as_millis(),
            "registered a round of imported rows"
        );
        let mut rows = Vec::with_capacity(chunk.len());
        for (pending, outcome) in chunk.iter().zip(outcomes) {
            let outcome = match outcome {
                Ok(appended) if appended.already_stored => {
                    RowOutcome::Unchanged(appended.positions.last().copied())
                }
                Ok(appended) => RowOutcome::Stored(appended.positions.last().copied()),
                Err(StoreError::ClaimTaken { holder, .. }) => RowOutcome::DuplicateNik(
                    worker_of_stream(&holder).unwrap_or(WorkerId(pending.command_id)),
                ),
                Err(error) => return Err(error.into()),
            };
            rows.push((pending.row, outcome));
        }
        Ok(rows)
    }
}

/// What became of one row; a registered row carries its event's log position.
enum RowOutcome {
    Stored(Option<u64>),
    Unchanged(Option<u64>),
    DuplicateNik(WorkerId),
}
