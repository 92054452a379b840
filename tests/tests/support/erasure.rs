//! Searching everything kesos keeps for a person's data after their erasure (UU PDP): every
//! row of every table in the deployment's PostgreSQL schema, every message (payload and
//! headers) of every JetStream stream it names, and every process's log. A value is looked for
//! as written and, for byte columns, as PostgreSQL prints bytes (hex), so a name stored in
//! clear in a `bytea` is found too.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_nats::jetstream;
use kesos_testkit::database_url;
use sqlx::Row;

/// Where each of `needles` was found in the tables of `schema`: `table: needle` lines.
pub async fn in_schema(schema: &str, needles: &[&str]) -> Vec<String> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&database_url())
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .bind(schema)
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get::<String, _>(0))
    .collect();
    assert!(!tables.is_empty(), "schema {schema} holds no table");
    let mut found = Vec::new();
    for table in &tables {
        for needle in needles {
            let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
            // The whole row as text: every column, bytes printed as `\x<hex>`.
            let sql = format!(
                "SELECT COUNT(*) FROM \"{schema}\".\"{table}\" t \
                 WHERE strpos(lower(t::text), lower($1)) > 0 OR strpos(t::text, $2) > 0"
            );
            let hits: i64 = sqlx::query_scalar(&sql)
                .bind(*needle)
                .bind(&hex)
                .fetch_one(&pool)
                .await
                .unwrap();
            if hits > 0 {
                found.push(format!("table {table}: {needle} in {hits} row(s)"));
            }
        }
    }
    pool.close().await;
    found
}

/// Where each of `needles` was found in the messages of `streams` on the server at `url`:
/// `stream#sequence: needle` lines. Every message still stored is read, by sequence.
pub async fn in_streams(url: &str, streams: &[&str], needles: &[&str]) -> Vec<String> {
    let context = jetstream::new(async_nats::connect(url).await.unwrap());
    let mut found = Vec::new();
    for name in streams {
        let Ok(mut stream) = context.get_stream(*name).await else {
            continue;
        };
        let state = stream.info().await.unwrap().state.clone();
        if state.messages == 0 {
            continue;
        }
        for sequence in state.first_sequence..=state.last_sequence {
            let message = match stream.get_raw_message(sequence).await {
                Ok(message) => message,
                Err(error) => {
                    assert_eq!(
                        error.kind(),
                        jetstream::stream::RawMessageErrorKind::NoMessageFound,
                        "{error}"
                    );
                    continue;
                }
            };
            let mut bytes = message.payload.to_vec();
            bytes.extend_from_slice(format!("{:?}", message.headers).as_bytes());
            for needle in in_bytes(&bytes, needles) {
                found.push(format!("stream {name}#{sequence}: {needle}"));
            }
        }
    }
    found
}

/// Which of `needles` `bytes` holds, case aside.
pub fn in_bytes<'n>(bytes: &[u8], needles: &[&'n str]) -> Vec<&'n str> {
    let haystack = String::from_utf8_lossy(bytes).to_lowercase();
    needles
        .iter()
        .filter(|needle| haystack.contains(&needle.to_lowercase()))
        .copied()
        .collect()
}
