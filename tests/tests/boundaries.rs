//! The services stand apart in code: no service crate depends on another service crate, and no
//! service's SQL — its migrations and the statements in its source — names a table of another
//! service. Tables of the shared libraries (`kesos_*`: the log, checkpoints, consumer
//! bookkeeping, the vault) are not a service's and are allowed everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const SERVICES: [&str; 4] = ["enrollment", "scheduling", "certification", "progress"];

/// The SQL words after which a table's name follows.
const TABLE_WORDS: [&str; 6] = ["from", "join", "into", "update", "table", "references"];

fn service_dir(service: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services")
        .join(service)
}

/// Every `.rs` and `.sql` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path
            .extension()
            .is_some_and(|extension| extension == "rs" || extension == "sql")
        {
            found.push(path);
        }
    }
    found
}

/// The table names `text` refers to in SQL: each identifier after FROM, JOIN, INTO, UPDATE,
/// TABLE or REFERENCES (skipping `IF NOT EXISTS` and `ONLY`), lower-cased.
fn tables_named(text: &str) -> BTreeSet<String> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .collect();
    let mut tables = BTreeSet::new();
    for (index, word) in words.iter().enumerate() {
        if !TABLE_WORDS.contains(&word.to_ascii_lowercase().as_str()) {
            continue;
        }
        let next = words[index + 1..]
            .iter()
            .map(|word| word.to_ascii_lowercase())
            .find(|word| !["if", "not", "exists", "only"].contains(&word.as_str()));
        if let Some(table) = next {
            tables.insert(table);
        }
    }
    tables
}

/// The service whose prefix a table name carries, if any.
fn owner(table: &str) -> Option<&'static str> {
    SERVICES
        .into_iter()
        .find(|service| table.starts_with(&format!("{service}_")))
}

#[test]
fn the_scanner_finds_the_tables_a_statement_names() {
    let statement = "SELECT * FROM enrollment_directory d JOIN scheduling_sessions s ON 1 = 1; \
                     CREATE TABLE IF NOT EXISTS progress_counts (x int); \
                     INSERT INTO kesos_events VALUES (1)";
    let tables = tables_named(statement);
    for table in [
        "enrollment_directory",
        "scheduling_sessions",
        "progress_counts",
        "kesos_events",
    ] {
        assert!(tables.contains(table), "{table} not found in {tables:?}");
    }
    assert_eq!(owner("scheduling_sessions"), Some("scheduling"));
    assert_eq!(owner("kesos_events"), None);
}

#[test]
fn no_service_names_a_table_of_another_service() {
    let mut violations = Vec::new();
    for service in SERVICES {
        let files = sources(&service_dir(service).join("src"))
            .into_iter()
            .chain(sources(&service_dir(service).join("migrations")))
            .collect::<Vec<_>>();
        assert!(!files.is_empty(), "no sources found for {service}");
        let mut own = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for table in tables_named(&text) {
                match owner(&table) {
                    Some(other) if other != service => {
                        violations.push(format!("{} names {table}", file.display()));
                    }
                    Some(_) => own += 1,
                    None => {}
                }
            }
        }
        // Progress names its tables through its table set (`progress_` + name) rather than
        // literally; the other services' own tables must be found, or the scan proves nothing.
        if service != "progress" {
            assert!(own > 0, "no table of {service} found in its own SQL");
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn no_service_crate_depends_on_another_service_crate() {
    let mut violations = Vec::new();
    for service in SERVICES {
        let manifest = std::fs::read_to_string(service_dir(service).join("Cargo.toml")).unwrap();
        for other in SERVICES.into_iter().filter(|other| *other != service) {
            let dependency = format!("kesos-{other}");
            let named = manifest.lines().any(|line| {
                line.trim_start()
                    .strip_prefix(&dependency)
                    .is_some_and(|rest| rest.trim_start().starts_with(['=', '.']))
            });
            if named {
                violations.push(format!("{service} depends on {dependency}"));
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}
