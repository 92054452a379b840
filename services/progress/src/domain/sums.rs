//! The sums a replay keeps in memory while it loads the facts: the current counts and the
//! monthly roll-up. Pure.
//!
//! Both are by definition sums of the facts. Summing them in SQL after the load read every
//! fact back (three in five seconds of a replay went there); summing them here, as each
//! batch is planned, costs a few array additions per fact. The roll-up is kept as one grid of
//! months × measures per kabupaten/kota and category (a few thousand grids of about a hundred
//! months: tens of MB for the whole country over a decade), and the coarser rows —
//! all categories, the province, the nation, all time — are summed from those grids at the
//! end, exactly as [`crate::projections::tables::Tables::months_from_facts`] sums them in SQL.
//! The live projection sums each batch's roll-up rows the same way
//! ([`crate::domain::months::roll_up`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use crate::domain::measure::{ALL_SCHEMES, Key, Measure, province_of};
use crate::domain::months::{ALL_CATEGORIES, ALL_TIME, Level, MonthKey, MonthRows, month_index};
use crate::domain::plan::{Fact, KeyedCounts, Plan};

/// The measures, one cell each in a month of a grid.
const MEASURES: usize = Measure::ALL.len();

/// A roll-up row's key without its month and measure: (level, parent, category, region), in
/// the order of the roll-up table's primary key.
type GridKey = (Level, String, i64, String);

/// A sum kept in memory: 32 bits, half the memory of the table's `BIGINT` (the grids and
/// counts were a third of a replay's heap). A cell takes at most one change per fact of one
/// region, month and measure, so a real log is many orders of magnitude inside its range; it
/// saturates rather than wraps or panics, and is widened again when written.
type Cell = i32;

/// One region's and category's months: net change per measure. Months are keys rather than
/// offsets, so a stray date centuries away costs one entry, not a century of cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Grid {
    months: BTreeMap<i64, [Cell; MEASURES]>,
}

impl Grid {
    fn add(&mut self, month: i64, slot: usize, delta: Cell) {
        if let Some(cell) = self
            .months
            .entry(month)
            .or_insert([0; MEASURES])
            .get_mut(slot)
        {
            *cell = cell.saturating_add(delta);
        }
    }

    fn add_grid(&mut self, other: &Grid) {
        for (month, cells) in &other.months {
            let mine = self.months.entry(*month).or_insert([0; MEASURES]);
            for (sum, delta) in mine.iter_mut().zip(cells) {
                *sum = sum.saturating_add(*delta);
            }
        }
    }

    /// The grid's rows: each nonzero month and measure, then each nonzero all-time sum.
    fn rows(&self) -> impl Iterator<Item = (i64, Measure, i64)> + '_ {
        let months = self.months.iter().flat_map(|(month, cells)| {
            Measure::ALL
                .iter()
                .zip(cells)
                .filter(|(_, delta)| **delta != 0)
                .map(move |(measure, delta)| (*month, *measure, i64::from(*delta)))
        });
        let all_time = Measure::ALL
            .iter()
            .enumerate()
            .filter_map(|(slot, measure)| {
                let sum: i64 = self
                    .months
                    .values()
                    .map(|cells| i64::from(cells[slot]))
                    .sum();
                (sum != 0).then_some((ALL_TIME, *measure, sum))
            });
        months.chain(all_time)
    }
}

fn measure_slot(measure: Measure) -> usize {
    Measure::ALL
        .iter()
        .position(|m| *m == measure)
        .unwrap_or_default()
}

/// Texts numbered in the order first met, so that a key holds a number instead of a copy.
#[derive(Debug, Default)]
struct Names {
    numbers: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn number(&mut self, name: &str) -> u32 {
        if let Some(number) = self.numbers.get(name) {
            return *number;
        }
        let number = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.numbers.insert(name.to_owned(), number);
        number
    }

    fn name(&self, number: u32) -> &str {
        self.names.get(number as usize).map_or("", String::as_str)
    }
}

/// A count's key with its kabupaten/kota and scheme numbered: (kabupaten/kota, category, role,
/// scheme, measure). Half a million of them as a map of owned texts took about a third of a
/// replay's memory.
type CountSlot = (u32, i32, i32, u32, Measure);

/// The counts and the roll-up of every batch added so far.
#[derive(Debug, Default)]
pub(crate) struct Sums {
    counts: HashMap<CountSlot, Cell>,
    kabkotas: Names,
    schemes: Names,
    /// Kabupaten/kota grids by kabupaten/kota (`PP.KK`, or empty) and category.
    kabkota: BTreeMap<String, BTreeMap<i64, Grid>>,
}

impl Sums {
    /// Adds a planned batch's count changes and its facts over all schemes.
    pub(crate) fn add(&mut self, plan: &Plan) {
        for ((key, scheme, measure), change) in &plan.counts {
            let slot = (
                self.kabkotas.number(&key.kabkota),
                key.category,
                key.role,
                self.schemes.number(scheme),
                *measure,
            );
            let change =
                Cell::try_from(*change).unwrap_or(if *change < 0 { Cell::MIN } else { Cell::MAX });
            let count = self.counts.entry(slot).or_default();
            *count = count.saturating_add(change);
        }
        self.add_facts(&plan.facts);
    }

    /// Adds the facts over all schemes among `facts` to the roll-up (not to the counts).
    pub(crate) fn add_facts(&mut self, facts: &[Fact]) {
        for fact in facts.iter().filter(|f| f.scheme == ALL_SCHEMES) {
            let kabkota = fact.key.kabkota.as_str();
            if !self.kabkota.contains_key(kabkota) {
                self.kabkota.insert(kabkota.to_owned(), BTreeMap::new());
            }
            if let Some(categories) = self.kabkota.get_mut(kabkota) {
                categories
                    .entry(i64::from(fact.key.category))
                    .or_default()
                    .add(
                        month_index(fact.day),
                        measure_slot(fact.measure),
                        fact.delta,
                    );
            }
        }
    }

    /// The current counts (those that net to zero left out), consuming them, in chunks of
    /// `chunk` in the order of the table's primary key.
    pub(crate) fn take_counts(&mut self, chunk: usize) -> impl Iterator<Item = KeyedCounts> + '_ {
        let mut slots: Vec<(CountSlot, Cell)> = std::mem::take(&mut self.counts)
            .into_iter()
            .filter(|(_, count)| *count != 0)
            .collect();
        let (kabkotas, schemes) = (&self.kabkotas, &self.schemes);
        slots.sort_unstable_by(|((ka, ca, ra, sa, ma), _), ((kb, cb, rb, sb, mb), _)| {
            (kabkotas.name(*ka), ca, ra, schemes.name(*sa), ma).cmp(&(
                kabkotas.name(*kb),
                cb,
                rb,
                schemes.name(*sb),
                mb,
            ))
        });
        let mut slots = slots.into_iter();
        std::iter::from_fn(move || {
            let counts: KeyedCounts = slots
                .by_ref()
                .take(chunk.max(1))
                .map(|((kabkota, category, role, scheme, measure), count)| {
                    let key = Key {
                        kabkota: kabkotas.name(kabkota).to_owned(),
                        category,
                        role,
                    };
                    let count = i64::from(count);
                    ((key, schemes.name(scheme).to_owned(), measure), count)
                })
                .collect();
            (!counts.is_empty()).then_some(counts)
        })
    }

    /// The roll-up, its coarser grids summed.
    pub(crate) fn roll_up(&self) -> RollUp<'_> {
        RollUp {
            grids: self.grids(),
        }
    }

    fn kabkota_grids(&self) -> impl Iterator<Item = (&str, i64, &Grid)> {
        self.kabkota.iter().flat_map(|(kabkota, categories)| {
            categories
                .iter()
                .map(move |(category, grid)| (kabkota.as_str(), *category, grid))
        })
    }

    /// Every grid of the roll-up, the coarser ones summed from the kabupaten/kota grids.
    fn grids(&self) -> BTreeMap<GridKey, Cow<'_, Grid>> {
        let mut grids: BTreeMap<GridKey, Cow<'_, Grid>> = BTreeMap::new();
        let mut add = |key: GridKey, grid: &Grid| {
            grids
                .entry(key)
                .or_insert_with(|| Cow::Owned(Grid::default()))
                .to_mut()
                .add_grid(grid);
        };
        for (kabkota, category, grid) in self.kabkota_grids() {
            let province = province_of(kabkota);
            let cuts = [
                (Level::KabupatenKota, province, kabkota),
                (Level::Province, "", province),
                (Level::Nation, "", ""),
            ];
            for (level, parent, region) in cuts {
                if level != Level::KabupatenKota {
                    add(
                        (level, parent.to_owned(), category, region.to_owned()),
                        grid,
                    );
                }
                let all = (level, parent.to_owned(), ALL_CATEGORIES, region.to_owned());
                add(all, grid);
            }
        }
        for (kabkota, category, grid) in self.kabkota_grids() {
            let province = province_of(kabkota).to_owned();
            let key = (Level::KabupatenKota, province, category, kabkota.to_owned());
            grids.insert(key, Cow::Borrowed(grid));
        }
        grids
    }
}

/// Every grid of the roll-up, ready to be written.
#[derive(Debug)]
pub(crate) struct RollUp<'a> {
    grids: BTreeMap<GridKey, Cow<'a, Grid>>,
}

impl RollUp<'_> {
    /// The rows, region by region in the order of the table's primary key, in chunks of about
    /// `chunk` rows (a region's rows are never split).
    pub(crate) fn chunks(&self, chunk: usize) -> impl Iterator<Item = MonthRows> + '_ {
        let mut grids = self.grids.iter();
        std::iter::from_fn(move || {
            let mut rows = MonthRows::new();
            while rows.len() < chunk {
                let Some(((level, parent, category, region), grid)) = grids.next() else {
                    break;
                };
                rows.extend(grid.rows().map(|(month, measure, delta)| {
                    let key = MonthKey {
                        level: *level,
                        parent: parent.clone(),
                        region: region.clone(),
                        category: *category,
                        measure,
                        month,
                    };
                    (key, delta)
                }));
            }
            (!rows.is_empty()).then_some(rows)
        })
    }

    /// Every row in one piece.
    pub(crate) fn rows(&self) -> MonthRows {
        self.chunks(usize::MAX).next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::months::roll_up;

    /// A deterministic spread of facts: several kabupaten/kota of two provinces, two
    /// categories, both cuts of scheme, every measure, days over several years (some before
    /// 1970), and changes that cancel.
    fn facts(seed: u64, count: usize) -> Vec<Fact> {
        let mut state = seed;
        let mut next = |below: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % below
        };
        let places = ["32.77", "32.17", "33.01", "", "33.74"];
        (0..count)
            .map(|_| Fact {
                key: Key {
                    kabkota: places[next(5) as usize].to_owned(),
                    category: 1 + next(2) as i32,
                    role: next(3) as i32,
                },
                scheme: if next(3) == 0 {
                    "PEKSOS-GENERALIS"
                } else {
                    ALL_SCHEMES
                }
                .to_owned(),
                measure: Measure::ALL[next(13) as usize],
                delta: if next(3) == 0 { -1 } else { 1 },
                day: next(4_000) as i64 - 500,
                recorded_us: 0,
            })
            .collect()
    }

    /// The roll-up by its definition, one map entry per row and fact: the reference the grids
    /// are checked against.
    fn reference_roll_up(facts: &[Fact]) -> BTreeMap<MonthKey, i64> {
        let mut rows: BTreeMap<MonthKey, i64> = BTreeMap::new();
        for fact in facts.iter().filter(|fact| fact.scheme == ALL_SCHEMES) {
            let province = fact.key.province();
            let regions = [
                (Level::Nation, "", ""),
                (Level::Province, "", province),
                (Level::KabupatenKota, province, fact.key.kabkota.as_str()),
            ];
            for (level, parent, region) in regions {
                for category in [i64::from(fact.key.category), ALL_CATEGORIES] {
                    for month in [month_index(fact.day), ALL_TIME] {
                        let key = MonthKey {
                            level,
                            parent: parent.to_owned(),
                            region: region.to_owned(),
                            category,
                            measure: fact.measure,
                            month,
                        };
                        *rows.entry(key).or_default() += i64::from(fact.delta);
                    }
                }
            }
        }
        rows.retain(|_, sum| *sum != 0);
        rows
    }

    /// A row's place in the roll-up table's primary key.
    fn table_order(key: &MonthKey) -> (Level, &str, i64, &str, i64, i64) {
        let measure = i64::from(key.measure.code());
        (
            key.level,
            &key.parent,
            key.category,
            &key.region,
            key.month,
            measure,
        )
    }

    fn counted(facts: &[Fact]) -> KeyedCounts {
        let mut counts = KeyedCounts::new();
        for fact in facts {
            *counts
                .entry((fact.key.clone(), fact.scheme.clone(), fact.measure))
                .or_default() += i64::from(fact.delta);
        }
        counts
    }

    #[test]
    fn the_roll_up_summed_batch_by_batch_in_memory_equals_the_roll_up_of_all_the_facts() {
        let mut sums = Sums::default();
        let mut all = Vec::new();
        for batch in 0..4 {
            let facts = facts(batch, 3_000);
            let plan = Plan {
                counts: counted(&facts),
                facts: facts.clone(),
                ..Plan::default()
            };
            sums.add(&plan);
            all.extend(facts);
        }
        let mut written = BTreeMap::new();
        let mut chunks = 0;
        for chunk in sums.roll_up().chunks(500) {
            chunks += 1;
            for (key, delta) in chunk {
                assert!(written.insert(key, delta).is_none(), "a row written twice");
            }
        }
        assert!(chunks > 1, "the rows come in chunks");
        let expected = reference_roll_up(&all);
        assert_eq!(written, expected);
        let in_one_piece = roll_up(&all);
        assert!(
            in_one_piece.is_sorted_by(|(a, _), (b, _)| table_order(a) < table_order(b)),
            "each row once, in the order of the table's primary key"
        );
        assert_eq!(
            in_one_piece.into_iter().collect::<BTreeMap<_, _>>(),
            expected
        );
        let mut expected = counted(&all);
        expected.retain(|_, count| *count != 0);
        let chunks: Vec<KeyedCounts> = sums.take_counts(7).collect();
        assert!(chunks.len() > 1, "the counts come in chunks");
        for (earlier, later) in chunks.iter().zip(chunks.iter().skip(1)) {
            assert!(earlier.keys().last() < later.keys().next(), "in key order");
        }
        let taken: KeyedCounts = chunks.into_iter().flatten().collect();
        assert_eq!(taken, expected);
    }

    #[test]
    fn a_region_s_rows_are_never_split_between_chunks() {
        let mut sums = Sums::default();
        let facts = facts(9, 2_000);
        sums.add(&Plan {
            facts,
            ..Plan::default()
        });
        let roll_up = sums.roll_up();
        let mut seen = std::collections::BTreeSet::new();
        for chunk in roll_up.chunks(1) {
            let regions: std::collections::BTreeSet<_> = chunk
                .iter()
                .map(|(k, _)| (k.level, k.parent.clone(), k.category, k.region.clone()))
                .collect();
            assert_eq!(regions.len(), 1, "one region per chunk of one row or more");
            assert!(
                seen.insert(regions.into_iter().next()),
                "a region in two chunks"
            );
        }
    }

    #[test]
    fn facts_that_cancel_leave_no_row_and_no_count() {
        let mut sums = Sums::default();
        let mut facts = facts(3, 1);
        let mut undo = facts[0].clone();
        undo.delta = -undo.delta;
        facts.push(undo);
        sums.add(&Plan {
            counts: counted(&facts),
            facts,
            ..Plan::default()
        });
        assert_eq!(sums.roll_up().chunks(10).count(), 0);
        assert_eq!(sums.take_counts(10).count(), 0);
    }
}
