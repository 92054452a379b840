//! Figures and how they are written: aligned text for people, one JSON object per line for
//! machines.

use std::io::Write;

use serde::Serialize;

use crate::StoreBenchOptions;

/// How a figure is held to its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// `value / baseline` must be at least `limit`: the baseline is plain SQL doing the same
    /// rows in the same run, so the limit holds on any machine.
    AtLeastRatio,
    /// `value` must be at least `limit` (an absolute rate).
    AtLeastValue,
    /// `value` must be at most `limit` (a resource bound, e.g. memory).
    AtMostValue,
}

/// One measured figure beside the limit it is compared with.
///
/// Invariant: `passed` is what `limit_kind` says about `value`, `ratio` and `limit`; `ratio`
/// is `value / baseline`. Both are `Some` for [`LimitKind::AtLeastRatio`], and for an absolute
/// limit shown beside a baseline ([`Figure::beside`]), where they inform but do not decide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// What was measured, e.g. `command path, 4 tasks`.
    pub name: String,
    /// The measurement, in `unit`.
    pub value: f64,
    /// The value's unit, e.g. `commands/s`.
    pub unit: String,
    /// The bound: a ratio for [`LimitKind::AtLeastRatio`], otherwise in `unit`.
    pub limit: f64,
    /// How `limit` applies.
    pub limit_kind: LimitKind,
    /// What the plain-SQL baseline did, e.g. `raw INSERT, 4 tasks`; `None` without a baseline.
    pub baseline_name: Option<String>,
    /// The plain-SQL baseline's rate in rows/s, measured in the same run.
    pub baseline: Option<f64>,
    /// `value / baseline`.
    pub ratio: Option<f64>,
    /// Whether the figure meets its limit.
    pub passed: bool,
}

/// Output order; figures are measured in another order (see `measure`).
const ORDER: [&str; 6] = [
    COMMAND_PATH,
    APPEND,
    REPLAY,
    REPLAY_RATE,
    REPLAY_MEMORY,
    RELAY,
];

/// Name of the command path figure.
pub(crate) const COMMAND_PATH: &str = "command path, 4 tasks";
/// Name of the batch append figure.
pub(crate) const APPEND: &str = "append, 100 events per transaction";
/// Name of the replay figure compared with a plain SELECT.
pub(crate) const REPLAY: &str = "replay, whole log in order";
/// Name of the absolute replay rate figure.
pub(crate) const REPLAY_RATE: &str = "replay rate";
/// Name of the replay memory figure.
pub(crate) const REPLAY_MEMORY: &str = "replay memory, peak RSS growth";
/// Name of the relay figure.
pub(crate) const RELAY: &str = "relay to JetStream";

/// Sort key putting figures in [`ORDER`].
pub(crate) fn rank(figure: &Figure) -> usize {
    ORDER
        .iter()
        .position(|name| *name == figure.name)
        .unwrap_or(ORDER.len())
}

impl Figure {
    /// A rate held to a ratio of a plain-SQL baseline (`(what, rows/s)`).
    pub(crate) fn ratio(
        name: &str,
        value: f64,
        unit: &str,
        (baseline_name, baseline): (&str, f64),
        limit: f64,
    ) -> Self {
        let ratio = value / baseline;
        Self {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            limit,
            limit_kind: LimitKind::AtLeastRatio,
            baseline_name: Some(baseline_name.to_owned()),
            baseline: Some(baseline),
            ratio: Some(ratio),
            passed: ratio >= limit,
        }
    }

    /// A value held to an absolute bound.
    pub(crate) fn absolute(
        name: &str,
        value: f64,
        unit: &str,
        kind: LimitKind,
        limit: f64,
    ) -> Self {
        let passed = match kind {
            LimitKind::AtMostValue => value <= limit,
            LimitKind::AtLeastValue | LimitKind::AtLeastRatio => value >= limit,
        };
        Self {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            limit,
            limit_kind: kind,
            baseline_name: None,
            baseline: None,
            ratio: None,
            passed,
        }
    }

    /// The same figure printed beside a plain-SQL rate measured in the same run (an absolute
    /// goal stays the verdict; the baseline shows what the database itself did).
    pub(crate) fn beside(mut self, baseline_name: &str, baseline: f64) -> Self {
        self.ratio = Some(self.value / baseline);
        self.baseline_name = Some(baseline_name.to_owned());
        self.baseline = Some(baseline);
        self
    }

    /// One aligned line, e.g. `command path, 4 tasks   9,870 commands/s   raw INSERT, 4 tasks
    /// 10,400 rows/s   ratio 0.95   limit >= 0.90   ok`.
    pub fn human_line(&self) -> String {
        let baseline = match (&self.baseline_name, self.baseline) {
            (Some(name), Some(rate)) => format!("{name} {} rows/s", number(rate)),
            _ => String::new(),
        };
        let ratio = self
            .ratio
            .map(|r| format!("ratio {r:.2}"))
            .unwrap_or_default();
        let limit = match self.limit_kind {
            LimitKind::AtLeastRatio => format!("limit >= {:.2}", self.limit),
            LimitKind::AtLeastValue => format!("limit >= {} {}", number(self.limit), self.unit),
            LimitKind::AtMostValue => format!("limit <= {} {}", number(self.limit), self.unit),
        };
        let verdict = if self.passed { "ok" } else { "MISSED" };
        format!(
            "{:<36}{:>11} {:<11} {:<38} {:<11} {:<27} {verdict}",
            self.name,
            number(self.value),
            self.unit,
            baseline,
            ratio,
            limit
        )
    }
}

/// Writes the figures: `header`, one line each and a verdict, or (with `json`) one JSON
/// object per line and no header.
pub(crate) fn write_all(
    out: &mut dyn Write,
    figures: &[Figure],
    header: &str,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        for figure in figures {
            serde_json::to_writer(&mut *out, figure)?;
            writeln!(out)?;
        }
        return Ok(());
    }
    writeln!(out, "{header}")?;
    for figure in figures {
        writeln!(out, "{}", figure.human_line().trim_end())?;
    }
    let missed = figures.iter().filter(|figure| !figure.passed).count();
    match missed {
        0 => writeln!(out, "all {} figures within their limits", figures.len())?,
        _ => writeln!(
            out,
            "{missed} of {} figures MISSED their limits",
            figures.len()
        )?,
    }
    out.flush()?;
    Ok(())
}

/// The header of `kesos bench store`.
pub(crate) fn store_header(options: &StoreBenchOptions) -> String {
    let backend = if options.sqlite {
        "SQLite (embedded)"
    } else {
        "PostgreSQL"
    };
    format!(
        "kesos bench store: {backend}, log of at least {} events, {} s per rate",
        number(options.events as f64),
        options.duration_secs.max(1)
    )
}

/// `12,345` for values of 100 and more, `12.3` below (memory in MiB, small rates).
fn number(value: f64) -> String {
    if !value.is_finite() || value.abs() < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0.0 {
        grouped.insert(0, '-');
    }
    grouped
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn large_numbers_are_grouped_by_thousands_and_small_ones_keep_a_decimal() {
        assert_eq!(number(9_870.4), "9,870");
        assert_eq!(number(1_000_000.0), "1,000,000");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(-2_500.0), "-2,500");
    }

    #[test]
    fn a_ratio_figure_passes_only_at_or_above_its_limit() {
        let figure = Figure::ratio("x", 95.0, "events/s", ("raw", 100.0), 0.9);
        assert!(figure.passed);
        assert_eq!(figure.ratio, Some(0.95));
        assert!(!Figure::ratio("x", 85.0, "events/s", ("raw", 100.0), 0.9).passed);
        assert!(Figure::absolute("m", 3.0, "MiB", LimitKind::AtMostValue, 64.0).passed);
        assert!(!Figure::absolute("r", 3.0, "events/s", LimitKind::AtLeastValue, 64.0).passed);
    }

    #[test]
    fn a_human_line_shows_value_baseline_ratio_limit_and_verdict() {
        let line = Figure::ratio(
            "command path, 4 tasks",
            9_870.0,
            "commands/s",
            ("raw INSERT, 4 tasks", 10_400.0),
            0.9,
        )
        .human_line();
        for part in [
            "9,870 commands/s",
            "raw INSERT, 4 tasks 10,400 rows/s",
            "ratio 0.95",
            "limit >= 0.90",
            "ok",
        ] {
            assert!(line.contains(part), "{line:?} lacks {part:?}");
        }
    }

    #[test]
    fn a_json_figure_carries_name_value_unit_limit_and_ratio() {
        let figure = Figure::absolute("replay rate", 4e5, "events/s", LimitKind::AtLeastValue, 3e5);
        let json: serde_json::Value = serde_json::to_value(&figure).unwrap();
        assert_eq!(json["name"], "replay rate");
        assert_eq!(json["value"], 4e5);
        assert_eq!(json["unit"], "events/s");
        assert_eq!(json["limit"], 3e5);
        assert!(json["ratio"].is_null());
        assert_eq!(json["limit_kind"], "at_least_value");
    }
}
