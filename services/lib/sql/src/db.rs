//! One database handle for both backends. kesos writes its tables in SQL that PostgreSQL
//! and SQLite both accept (`$n` parameters, `ON CONFLICT`, `CASE`), so each statement is written
//! once against [`Db`] and [`Tx`]; the backend is chosen where the handle is built and matched
//! here, in one place, instead of in a macro or a generic per crate. Code that must use one
//! backend's own tools (PostgreSQL's `COPY`, SQLite's pragmas) asks for the concrete pool or
//! connection ([`Db::backend`], [`Tx::postgres`], [`Tx::sqlite`]).
//!
//! A value is bound once, with the type both drivers agree on ([`Bindable`]); a column is read
//! with [`Row::get`] into a type both drivers decode ([`Readable`]). An instant has no type both
//! store alike, so it has its own pair: [`Statement::bind_instant`] and [`Row::instant`] keep it
//! in each backend's native form (`timestamptz` on PostgreSQL, Unix microseconds on SQLite).

use futures::stream::{BoxStream, StreamExt};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow, Postgres};
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Decode, Encode, Row as _, Transaction, Type};
use time::OffsetDateTime;

use crate::convert::{from_unix_micros, unix_micros};

/// A value both drivers can bind: `i64`, `bool`, `f64`, `String`/`&str`, `Vec<u8>`/`&[u8]`,
/// `Uuid`, `OffsetDateTime`, and `Option`s of them.
pub trait Bindable<'q>:
    'q + Send + Encode<'q, Postgres> + Type<Postgres> + Encode<'q, Sqlite> + Type<Sqlite>
{
}

impl<'q, T> Bindable<'q> for T where
    T: 'q + Send + Encode<'q, Postgres> + Type<Postgres> + Encode<'q, Sqlite> + Type<Sqlite>
{
}

/// A column type both drivers can read.
pub trait Readable:
    for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

impl<T> Readable for T where
    T: for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

/// Which backend a handle talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL: the distributed mode.
    Postgres,
    /// SQLite: the embedded mode.
    Sqlite,
}

/// A service's database: a pool of one backend or the other. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Db {
    /// PostgreSQL (the service's schema is the connections' search path).
    Postgres(PgPool),
    /// The embedded SQLite file.
    Sqlite(SqlitePool),
}

/// A pair of migration sets, one per backend, for the same tables.
pub struct Migrations {
    /// The PostgreSQL migrations (`sqlx::migrate!("./migrations/postgres")`).
    pub postgres: Migrator,
    /// The SQLite migrations.
    pub sqlite: Migrator,
}

impl Db {
    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Runs the backend's migrations. Several crates' migrations share the schema's migration
    /// table, each in its own range of versions, so the ones a set does not know are ignored.
    pub async fn migrate(&self, migrations: Migrations) -> Result<(), sqlx::Error> {
        let (mut postgres, mut sqlite) = (migrations.postgres, migrations.sqlite);
        postgres.set_ignore_missing(true);
        sqlite.set_ignore_missing(true);
        match self {
            Self::Postgres(pool) => postgres.run(pool).await?,
            Self::Sqlite(pool) => sqlite.run(pool).await?,
        }
        Ok(())
    }

    /// A statement on the pool (each run takes a connection for its duration).
    pub fn query<'e, 'q>(&'e self, sql: &'q str) -> Statement<'e, 'q> {
        match self {
            Self::Postgres(pool) => {
                Statement::Postgres(PgTarget::Pool(pool), sqlx::query::<Postgres>(sql))
            }
            Self::Sqlite(pool) => {
                Statement::Sqlite(SqliteTarget::Pool(pool), sqlx::query::<Sqlite>(sql))
            }
        }
    }

    /// Opens a transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
        })
    }

    /// Opens a transaction that will write. On SQLite it takes the file's write lock first
    /// (`BEGIN IMMEDIATE`): a transaction that read first cannot write once another connection
    /// has committed meanwhile (its snapshot is stale, `SQLITE_BUSY_SNAPSHOT`, at once and
    /// whatever the busy timeout), so it would fail and back off instead of waiting its turn.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    /// Opens a transaction that writes only what can be rebuilt from a durable log (a read
    /// model and its checkpoint, moved together). On PostgreSQL its commit does not wait for
    /// the WAL flush (`synchronous_commit = off` for this transaction only): a crash can lose
    /// its last fraction of a second, which the projector then applies again from the older
    /// checkpoint, and meanwhile it no longer competes with the log's own commits for flushes.
    /// On SQLite it is [`Db::begin`].
    pub async fn begin_derived(&self) -> Result<Tx, sqlx::Error> {
        let mut tx = self.begin().await?;
        if let Tx::Postgres(connection) = &mut tx {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut **connection)
                .await?;
        }
        Ok(tx)
    }

    /// Closes the pool: waits for its connections to be returned, then closes them.
    pub async fn close(&self) {
        match self {
            Self::Postgres(pool) => pool.close().await,
            Self::Sqlite(pool) => pool.close().await,
        }
    }
}

impl From<PgPool> for Db {
    fn from(pool: PgPool) -> Self {
        Self::Postgres(pool)
    }
}

impl From<SqlitePool> for Db {
    fn from(pool: SqlitePool) -> Self {
        Self::Sqlite(pool)
    }
}

/// An open transaction on either backend; rolled back when dropped without [`Tx::commit`].
#[derive(Debug)]
pub enum Tx {
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
    /// SQLite.
    Sqlite(Transaction<'static, Sqlite>),
}

impl Tx {
    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// A statement inside the transaction.
    pub fn query<'e, 'q>(&'e mut self, sql: &'q str) -> Statement<'e, 'q> {
        match self {
            Self::Postgres(tx) => {
                Statement::Postgres(PgTarget::Connection(tx), sqlx::query::<Postgres>(sql))
            }
            Self::Sqlite(tx) => {
                Statement::Sqlite(SqliteTarget::Connection(tx), sqlx::query::<Sqlite>(sql))
            }
        }
    }

    /// The PostgreSQL connection, for PostgreSQL's own tools (`COPY`); `None` on SQLite.
    pub fn postgres(&mut self) -> Option<&mut PgConnection> {
        match self {
            Self::Postgres(tx) => Some(tx),
            Self::Sqlite(_) => None,
        }
    }

    /// The SQLite connection, for SQLite's own statements; `None` on PostgreSQL.
    pub fn sqlite(&mut self) -> Option<&mut SqliteConnection> {
        match self {
            Self::Postgres(_) => None,
            Self::Sqlite(tx) => Some(tx),
        }
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Postgres(tx) => tx.commit().await,
            Self::Sqlite(tx) => tx.commit().await,
        }
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Postgres(tx) => tx.rollback().await,
            Self::Sqlite(tx) => tx.rollback().await,
        }
    }
}

#[doc(hidden)]
pub enum PgTarget<'e> {
    Pool(&'e PgPool),
    Connection(&'e mut PgConnection),
}

#[doc(hidden)]
pub enum SqliteTarget<'e> {
    Pool(&'e SqlitePool),
    Connection(&'e mut SqliteConnection),
}

/// One SQL statement with its bound values, on a pool or in a transaction; run it with
/// [`Statement::execute`], [`Statement::fetch_all`], [`Statement::fetch_optional`] or
/// [`Statement::fetch_one`].
pub enum Statement<'e, 'q> {
    /// PostgreSQL.
    #[doc(hidden)]
    Postgres(PgTarget<'e>, Query<'q, Postgres, PgArguments>),
    /// SQLite.
    #[doc(hidden)]
    Sqlite(SqliteTarget<'e>, Query<'q, Sqlite, SqliteArguments<'q>>),
}

impl<'e, 'q> Statement<'e, 'q> {
    /// Binds the next `$n` parameter.
    #[must_use]
    pub fn bind<T: Bindable<'q>>(self, value: T) -> Self {
        match self {
            Self::Postgres(target, query) => Self::Postgres(target, query.bind(value)),
            Self::Sqlite(target, query) => Self::Sqlite(target, query.bind(value)),
        }
    }

    /// Binds an instant in the backend's native column form: `timestamptz` on PostgreSQL,
    /// integer Unix microseconds on SQLite (read back with [`Row::instant`]).
    #[must_use]
    pub fn bind_instant(self, at: OffsetDateTime) -> Self {
        match self {
            Self::Postgres(target, query) => Self::Postgres(target, query.bind(at)),
            Self::Sqlite(target, query) => Self::Sqlite(target, query.bind(unix_micros(at))),
        }
    }

    /// Streams its rows as they arrive, never holding more than the driver's buffer: for reads
    /// whose size has no bound (every stream's head, a whole table).
    pub fn fetch(self) -> BoxStream<'e, Result<Row, sqlx::Error>>
    where
        'q: 'e,
    {
        match self {
            Self::Postgres(PgTarget::Pool(pool), query) => {
                query.fetch(pool).map(|row| row.map(Row::Postgres)).boxed()
            }
            Self::Postgres(PgTarget::Connection(connection), query) => query
                .fetch(connection)
                .map(|row| row.map(Row::Postgres))
                .boxed(),
            Self::Sqlite(SqliteTarget::Pool(pool), query) => {
                query.fetch(pool).map(|row| row.map(Row::Sqlite)).boxed()
            }
            Self::Sqlite(SqliteTarget::Connection(connection), query) => query
                .fetch(connection)
                .map(|row| row.map(Row::Sqlite))
                .boxed(),
        }
    }

    /// Runs it; returns the rows it changed.
    pub async fn execute(self) -> Result<u64, sqlx::Error> {
        match self {
            Self::Postgres(PgTarget::Pool(pool), query) => {
                Ok(query.execute(pool).await?.rows_affected())
            }
            Self::Postgres(PgTarget::Connection(connection), query) => {
                Ok(query.execute(connection).await?.rows_affected())
            }
            Self::Sqlite(SqliteTarget::Pool(pool), query) => {
                Ok(query.execute(pool).await?.rows_affected())
            }
            Self::Sqlite(SqliteTarget::Connection(connection), query) => {
                Ok(query.execute(connection).await?.rows_affected())
            }
        }
    }

    /// Every row it returns.
    pub async fn fetch_all(self) -> Result<Vec<Row>, sqlx::Error> {
        Ok(match self {
            Self::Postgres(PgTarget::Pool(pool), query) => {
                wrap(query.fetch_all(pool).await?, Row::Postgres)
            }
            Self::Postgres(PgTarget::Connection(connection), query) => {
                wrap(query.fetch_all(connection).await?, Row::Postgres)
            }
            Self::Sqlite(SqliteTarget::Pool(pool), query) => {
                wrap(query.fetch_all(pool).await?, Row::Sqlite)
            }
            Self::Sqlite(SqliteTarget::Connection(connection), query) => {
                wrap(query.fetch_all(connection).await?, Row::Sqlite)
            }
        })
    }

    /// The first row, if any.
    pub async fn fetch_optional(self) -> Result<Option<Row>, sqlx::Error> {
        Ok(match self {
            Self::Postgres(PgTarget::Pool(pool), query) => {
                query.fetch_optional(pool).await?.map(Row::Postgres)
            }
            Self::Postgres(PgTarget::Connection(connection), query) => {
                query.fetch_optional(connection).await?.map(Row::Postgres)
            }
            Self::Sqlite(SqliteTarget::Pool(pool), query) => {
                query.fetch_optional(pool).await?.map(Row::Sqlite)
            }
            Self::Sqlite(SqliteTarget::Connection(connection), query) => {
                query.fetch_optional(connection).await?.map(Row::Sqlite)
            }
        })
    }

    /// The first row; [`sqlx::Error::RowNotFound`] when there is none.
    pub async fn fetch_one(self) -> Result<Row, sqlx::Error> {
        self.fetch_optional().await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of the first row.
    pub async fn fetch_scalar<T: Readable>(self) -> Result<T, sqlx::Error> {
        self.fetch_one().await?.get_index(0)
    }
}

fn wrap<R>(rows: Vec<R>, each: fn(R) -> Row) -> Vec<Row> {
    rows.into_iter().map(each).collect()
}

/// A row of either backend.
pub enum Row {
    /// PostgreSQL.
    Postgres(PgRow),
    /// SQLite.
    Sqlite(SqliteRow),
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Postgres(_) => "Row(PostgreSQL)",
            Self::Sqlite(_) => "Row(SQLite)",
        })
    }
}

impl Row {
    /// The column named `column`.
    pub fn get<T: Readable>(&self, column: &str) -> Result<T, sqlx::Error> {
        match self {
            Self::Postgres(row) => row.try_get(column),
            Self::Sqlite(row) => row.try_get(column),
        }
    }

    /// The instant in column `column`, stored in the backend's native form (see
    /// [`Statement::bind_instant`]).
    pub fn instant(&self, column: &str) -> Result<OffsetDateTime, sqlx::Error> {
        match self {
            Self::Postgres(row) => row.try_get(column),
            Self::Sqlite(row) => from_unix_micros(row.try_get(column)?)
                .map_err(|error| sqlx::Error::Decode(Box::new(error))),
        }
    }

    /// The instant in column `column`, or `None` where it is NULL (a nullable column written
    /// with [`Statement::bind_instant`]).
    pub fn optional_instant(&self, column: &str) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        match self {
            Self::Postgres(row) => row.try_get(column),
            Self::Sqlite(row) => row
                .try_get::<Option<i64>, _>(column)?
                .map(from_unix_micros)
                .transpose()
                .map_err(|error| sqlx::Error::Decode(Box::new(error))),
        }
    }

    /// The column at `index` (from 0).
    pub fn get_index<T: Readable>(&self, index: usize) -> Result<T, sqlx::Error> {
        match self {
            Self::Postgres(row) => row.try_get(index),
            Self::Sqlite(row) => row.try_get(index),
        }
    }
}
