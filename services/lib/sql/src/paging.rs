//! Lists over a read model: a `WHERE` clause built from optional filters, and one page after a
//! cursor with the count of everything that matches. Every list of kesos pages the same way
//! (ordered by an id column, `after` = the last id of the previous page, one row more than
//! asked to learn whether a next page exists), so it is written here once.

use crate::convert::to_u64;
use crate::db::{Db, Row, Statement};

/// A value bound to a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Text(String),
    /// An integer (counts, positions, instants in microseconds).
    Int(i64),
    /// SQL NULL.
    Null,
}

impl<'e, 'q> Statement<'e, 'q> {
    /// Binds a filter value.
    #[must_use]
    pub fn bind_value(self, value: &Value) -> Self {
        match value {
            Value::Text(text) => self.bind(text.clone()),
            Value::Int(int) => self.bind(*int),
            Value::Null => self.bind(Option::<String>::None),
        }
    }

    /// Binds filter values in order.
    #[must_use]
    pub fn bind_values(self, values: &[Value]) -> Self {
        values.iter().fold(self, Statement::bind_value)
    }
}

/// The conditions of a list, joined by `AND`; a filter left out (`None`) adds nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Where {
    conditions: Vec<String>,
    values: Vec<Value>,
}

impl Where {
    /// No condition.
    pub fn new() -> Self {
        Self::default()
    }

    /// `column = value`, when given.
    pub fn equals(&mut self, column: &str, value: Option<impl Into<String>>) -> &mut Self {
        if let Some(value) = value {
            self.values.push(Value::Text(value.into()));
            self.conditions
                .push(format!("{column} = ${}", self.values.len()));
        }
        self
    }

    /// `column <op> value` for an integer column, when given (`op` is one of the comparison
    /// operators, written by the caller, never taken from input).
    pub fn compare(&mut self, column: &str, op: &'static str, value: Option<i64>) -> &mut Self {
        if let Some(value) = value {
            self.values.push(Value::Int(value));
            self.conditions
                .push(format!("{column} {op} ${}", self.values.len()));
        }
        self
    }

    /// The region `code` or any region below it (`32.77` holds `32.77.01` and
    /// `32.77.01.1001`), when given. `column` may be an expression.
    pub fn within(&mut self, column: &str, code: Option<&str>) -> &mut Self {
        if let Some(code) = code {
            self.values.push(Value::Text(code.to_owned()));
            self.values.push(Value::Text(format!("{code}.%")));
            let (exact, below) = (self.values.len() - 1, self.values.len());
            self.conditions
                .push(format!("({column} = ${exact} OR {column} LIKE ${below})"));
        }
        self
    }

    /// The clause (` WHERE …`, or nothing when there is no condition).
    pub fn sql(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    /// The values, in the order of their `$n`.
    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows, in key order.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<String>,
    /// How many rows match the filter in all.
    pub total: u64,
}

/// What a page reads: `SELECT {columns} FROM {from}{filter} ORDER BY {key}`.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery<'a> {
    /// The columns read (`{columns}` of the statement).
    pub columns: &'a str,
    /// The table, or tables with their joins.
    pub from: &'a str,
    /// The key the list is ordered and continued by (unique, text).
    pub key: &'a str,
    /// The filter.
    pub filter: &'a Where,
    /// The last key of the previous page.
    pub after: Option<&'a str>,
    /// Most rows (clamped to 1..=`max`).
    pub limit: u32,
    /// The largest page the list gives.
    pub max: u32,
}

impl Db {
    /// One page of `query`, each row made into a `T` by `item`, with the count of every
    /// matching row.
    pub async fn page<T, E>(
        &self,
        query: PageQuery<'_>,
        item: impl Fn(&Row) -> Result<T, E>,
        key_of: impl Fn(&T) -> String,
    ) -> Result<Page<T>, E>
    where
        E: From<sqlx::Error>,
    {
        let limit = query.limit.clamp(1, query.max.max(1));
        let count_sql = format!("SELECT COUNT(*) FROM {}{}", query.from, query.filter.sql());
        let total: i64 = self
            .query(&count_sql)
            .bind_values(query.filter.values())
            .fetch_scalar()
            .await?;
        let mut filter = query.filter.clone();
        if let Some(after) = query.after {
            filter.values.push(Value::Text(after.to_owned()));
            filter
                .conditions
                .push(format!("{} > ${}", query.key, filter.values.len()));
        }
        let page_sql = format!(
            "SELECT {} FROM {}{} ORDER BY {} LIMIT {}",
            query.columns,
            query.from,
            filter.sql(),
            query.key,
            u64::from(limit) + 1
        );
        let rows = self
            .query(&page_sql)
            .bind_values(filter.values())
            .fetch_all()
            .await?;
        let mut items = rows.iter().map(item).collect::<Result<Vec<T>, E>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(key_of)
        } else {
            None
        };
        Ok(Page {
            items,
            next,
            total: to_u64(total),
        })
    }
}
