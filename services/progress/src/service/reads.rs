//! The answers central operations and auditors get: a region's figures with rates and targets,
//! its children, its monthly series, and a worker's history.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use crate::domain::history::Step;
use crate::domain::measure::Measure;
use crate::domain::months::month_label;
use crate::domain::query::{AsOf, Counts, Filter, TargetFigure};
use crate::domain::targets::target_in_force;
use crate::error::ProgressError;
use crate::projections::model::ProgressModel;
use crate::projections::replay::Source;
use crate::wire::history::step;

/// A region's figures: the counts, the certification rate and progress against the target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Counts per measure.
    pub counts: Counts,
    /// Workers holding a valid certificate per registered worker (0-1); none without workers.
    pub certification_rate: Option<f64>,
    /// The year's target in force, when one is set for this region.
    pub target: Option<TargetFigure>,
    /// Valid certificates per target (0-1 and beyond); none without a target.
    pub target_progress: Option<f64>,
}

/// A region and its children.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionReport {
    /// The region's code (empty: the nation).
    pub code: String,
    /// The region's own figures.
    pub figures: Figures,
    /// Each child region's figures, by code (provinces of the nation, kabupaten/kota of a
    /// province).
    pub children: BTreeMap<String, Figures>,
}

/// One month of a time series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    /// Net change of each count during the month (registrations, decisions, certificates…).
    pub change: Counts,
    /// Each count at the end of the month.
    pub end: Counts,
}

/// The progress read side: the model plus the event logs histories are read from.
#[derive(Clone)]
pub struct Progress {
    model: ProgressModel,
    sources: Arc<Vec<Source>>,
}

impl Progress {
    /// Reads from `model`, and histories from `sources`.
    pub fn new(model: ProgressModel, sources: Vec<Source>) -> Self {
        Self {
            model,
            sources: Arc::new(sources),
        }
    }

    /// The model.
    pub fn model(&self) -> &ProgressModel {
        &self.model
    }

    /// The event logs.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// A region's figures and its children's, now or as of a moment, for the targets of
    /// `year`.
    pub async fn region(
        &self,
        filter: &Filter,
        as_of: AsOf,
        year: i32,
    ) -> Result<RegionReport, ProgressError> {
        let counts = self.model.counts(filter, as_of).await?;
        let own = filter.scope.code();
        let mut codes: Vec<&str> = vec![own];
        codes.extend(counts.children.keys().map(String::as_str));
        let settings = self.model.target_settings(year, &codes).await?;
        let target =
            |region: &str| target_in_force(&settings, year, region, filter.category, as_of);
        let own_target = target(own);
        let children = counts
            .children
            .into_iter()
            .map(|(code, child)| {
                let target = target(&code);
                (code, figures(child, target))
            })
            .collect();
        Ok(RegionReport {
            code: filter.scope.code().to_owned(),
            figures: figures(counts.total, own_target),
            children,
        })
    }

    /// A region's monthly series up to the as-of moment.
    pub async fn series(&self, filter: &Filter, as_of: AsOf) -> Result<Vec<Month>, ProgressError> {
        let monthly = self.model.monthly(filter, as_of).await?;
        let mut months: BTreeMap<i64, Counts> = BTreeMap::new();
        for (month, measure, value) in monthly {
            months.entry(month).or_default().add(measure, value);
        }
        let mut running = Counts::default();
        Ok(months
            .into_iter()
            .map(|(month, change)| {
                for (measure, value) in &change.0 {
                    running.add(*measure, *value);
                }
                Month {
                    month: month_label(month),
                    change,
                    end: running.clone(),
                }
            })
            .collect())
    }

    /// Every step of a worker's history across the services, in business-time order.
    pub async fn history(&self, worker: Uuid) -> Result<Vec<Step>, ProgressError> {
        let index = self.model.history_index(worker).await?;
        let mut steps = Vec::with_capacity(index.len());
        for (source, position) in index {
            let store = self
                .sources
                .iter()
                .find(|s| s.name == source)
                .ok_or_else(|| ProgressError::UnknownSource(source.clone()))?;
            let events = store
                .store
                .read_batch(position.saturating_sub(1), 1)
                .await?;
            if let Some(event) = events.first().filter(|e| e.position == position)
                && let Some(step) = step(&source, event)
            {
                steps.push(step);
            }
        }
        Ok(steps)
    }
}

fn figures(counts: Counts, target: Option<TargetFigure>) -> Figures {
    let registered = counts.get(Measure::Registered);
    let valid = counts.get(Measure::Valid);
    #[allow(clippy::cast_precision_loss)]
    let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
    Figures {
        certification_rate: ratio(valid, registered),
        target_progress: target.and_then(|t| ratio(valid, t.count)),
        target,
        counts,
    }
}
