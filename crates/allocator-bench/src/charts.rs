//! The report's SVG charts, drawn with `plotters`.

use std::path::Path;

use plotters::prelude::*;

use crate::{
    heaps::Kind,
    report::Row,
    threads::{MtCell, MtRow, Shape},
    workloads::Figure,
};

pub(crate) type ChartResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A bar of a workload's chart: a contender's median and the range of its
/// runs, in the chart's unit.
pub(crate) struct Bar<'a> {
    name: &'a str,
    kind: Kind,
    value: f64,
    lo: f64,
    hi: f64,
}

impl<'a> Bar<'a> {
    /// The bar of `row` on workload `w`; `None` without a finite figure.
    pub(crate) fn of(row: &'a Row, w: &str) -> Option<Self> {
        let value = chart_value(*row.figures.get(w)?);
        let runs: Vec<f64> = row.runs.get(w)?.iter().map(|f| chart_value(*f)).collect();
        let lo = runs.iter().copied().fold(value, f64::min);
        let hi = runs.iter().copied().fold(value, f64::max);
        [value, lo, hi].iter().all(|v| v.is_finite()).then_some(Self {
            name: row.name,
            kind: row.kind,
            value,
            lo,
            hi,
        })
    }
}

/// A figure in its chart's unit: M operations/s, ms, ns (the typical
/// pair) or percent.
fn chart_value(f: Figure) -> f64 {
    match f {
        Figure::Rate(r) => r / 1e6,
        Figure::Seconds(s) => s * 1e3,
        Figure::Latency { p50, .. } => p50,
        Figure::Efficiency(e) => e * 100.0,
    }
}

/// The unit of a figure's chart, and whether higher is better.
pub(crate) fn chart_unit(f: Figure) -> (&'static str, bool) {
    match f {
        Figure::Rate(_) => ("M operations/s", true),
        Figure::Seconds(_) => ("milliseconds", false),
        Figure::Latency { .. } => ("ns per alloc+free pair (p50)", false),
        Figure::Efficiency(_) => ("% of the heap in use at the first failure", true),
    }
}

/// The colour of a contender's bar: this workspace's, the crates it wraps,
/// the peers.
fn kind_colour(kind: Kind) -> RGBColor {
    match kind {
        Kind::Ours => RGBColor(230, 120, 20),
        Kind::Raw => RGBColor(150, 150, 150),
        Kind::Peer => RGBColor(40, 100, 190),
    }
}

/// The axis of a chart of values from `min` to `max` (all positive): a
/// log scale when they span more than 30x (values are drawn as their
/// logarithm, and the labels turned back), else linear from 0.
struct Axis {
    log: bool,
    from: f64,
    to: f64,
}

impl Axis {
    fn new(values: impl Iterator<Item = f64>) -> Self {
        let (min, max) = values
            .filter(|v| *v > 0.0 && v.is_finite())
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if min.is_finite() && max / min > 30.0 {
            Self { log: true, from: min.log10().floor(), to: max.log10().ceil() }
        } else {
            Self { log: false, from: 0.0, to: max.max(f64::MIN_POSITIVE) * 1.1 }
        }
    }

    /// Where `v` sits on the axis.
    fn at(&self, v: f64) -> f64 {
        if self.log {
            v.max(10f64.powf(self.from)).log10()
        } else {
            v
        }
    }

    /// The label of axis position `x`.
    fn label(&self, x: f64) -> String {
        let v = if self.log { 10f64.powf(x) } else { x };
        if v >= 100.0 || v == 0.0 {
            format!("{v:.0}")
        } else if v >= 1.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.3}")
        }
    }
}

/// The coordinates of a chart with a row per contender: a value axis
/// across, the rows up.
type RowCoord = Cartesian2d<
    plotters::coord::types::RangedCoordf64,
    plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordusize>,
>;

/// A chart with one row per contender, `labels` from the top down (each a
/// name, marked * when ours), over `axis` across; `draw` draws the rows,
/// row `i` from the top at `SegmentValue::CenterOf(labels.len() - 1 - i)`.
fn row_chart(
    path: &Path,
    caption: &str,
    labels: &[(&str, Kind)],
    axis: &Axis,
    x_desc: &str,
    draw: impl FnOnce(&mut ChartContext<'_, SVGBackend<'_>, RowCoord>) -> ChartResult,
) -> ChartResult {
    let n = labels.len();
    let root = SVGBackend::new(path, (900, 110 + 26 * n as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 15))
        .margin(12)
        .margin_right(36)
        .x_label_area_size(45)
        .y_label_area_size(180)
        .build_cartesian_2d(axis.from..axis.to, (0..n.saturating_sub(1)).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(row) => {
                n.checked_sub(row + 1).and_then(|i| labels.get(i)).map_or(String::new(), |(name, kind)| {
                    format!("{name}{}", if *kind == Kind::Ours { " *" } else { "" })
                })
            }
            _ => String::new(),
        })
        .x_label_formatter(&|x| axis.label(*x))
        .x_desc(x_desc)
        .label_style(("sans-serif", 13))
        .draw()?;
    draw(&mut chart)?;
    root.present()?;
    Ok(())
}

/// A workload's chart: a horizontal bar per contender (best first), its
/// median, with a whisker from its lowest to its highest run; colours
/// tell this workspace's heaps (orange), the crates they wrap (grey) and
/// the peers (blue).
pub(crate) fn bar_chart(
    path: &Path,
    workload: &str,
    unit: &str,
    higher_better: bool,
    bars: &[Bar<'_>],
) -> ChartResult {
    let mut bars: Vec<&Bar<'_>> = bars.iter().collect();
    bars.sort_by(
        |a, b| if higher_better { b.value.total_cmp(&a.value) } else { a.value.total_cmp(&b.value) },
    );
    let n = bars.len();
    let labels: Vec<(&str, Kind)> = bars.iter().map(|b| (b.name, b.kind)).collect();
    let axis = Axis::new(bars.iter().flat_map(|b| [b.value, b.lo, b.hi]));
    let direction = if higher_better { "higher is better" } else { "lower is better" };
    let scale = if axis.log { ", log scale" } else { "" };
    let caption = format!("{workload}: orange = this workspace, grey = crates it wraps, blue = peers");
    let x_desc = format!("{unit} ({direction}{scale}); whiskers: lowest to highest run");
    row_chart(path, &caption, &labels, &axis, &x_desc, |chart| {
        chart.draw_series(
            Histogram::horizontal(chart)
                .baseline(axis.from)
                .margin(4)
                .style_func(|y, _| match y {
                    SegmentValue::Exact(row) | SegmentValue::CenterOf(row) => n
                        .checked_sub(row + 1)
                        .and_then(|i| bars.get(i))
                        .map_or(BLACK.filled(), |b| kind_colour(b.kind).filled()),
                    SegmentValue::Last => BLACK.filled(),
                })
                .data(bars.iter().enumerate().map(|(i, b)| (n - 1 - i, axis.at(b.value)))),
        )?;
        chart.draw_series(bars.iter().enumerate().filter(|(_, b)| b.hi > b.lo).map(|(i, b)| {
            ErrorBar::new_horizontal(
                SegmentValue::CenterOf(n - 1 - i),
                axis.at(b.lo),
                axis.at(b.value),
                axis.at(b.hi),
                BLACK.stroke_width(1),
                8,
            )
        }))?;
        Ok(())
    })
}

/// The latency chart: per contender (the lowest p99 on top), a line from
/// its p50 to its max, with a dot at p50, a square at p99 and a cross at
/// the max, in its kind's colour, on a log scale when they span more than
/// 30x.
pub(crate) fn latency_chart(path: &Path, rows: &[(&str, Kind, [f64; 3])]) -> ChartResult {
    let mut rows: Vec<&(&str, Kind, [f64; 3])> = rows.iter().collect();
    rows.sort_by(|a, b| a.2[1].total_cmp(&b.2[1]));
    let n = rows.len();
    let labels: Vec<(&str, Kind)> = rows.iter().map(|r| (r.0, r.1)).collect();
    let axis = Axis::new(rows.iter().flat_map(|r| r.2));
    let scale = if axis.log { ", log scale" } else { "" };
    let caption =
        "alloc+free latency: dot p50, square p99, cross max (orange = ours, grey = wrapped, blue = peers)";
    row_chart(path, caption, &labels, &axis, &format!("ns per pair (lower is better{scale})"), |chart| {
        for (i, (_, kind, [p50, p99, max])) in rows.iter().enumerate() {
            let y = SegmentValue::CenterOf(n - 1 - i);
            let colour = kind_colour(*kind);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(axis.at(*p50), y.clone()), (axis.at(*max), y.clone())],
                colour.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(
                (axis.at(*p50), y.clone()),
                5,
                colour.filled(),
            )))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((axis.at(*p99), y.clone()))
                    + Rectangle::new([(-5, -5), (5, 5)], ShapeStyle::from(&BLACK).filled()),
            ))?;
            chart.draw_series(std::iter::once(Cross::new((axis.at(*max), y), 5, BLACK.stroke_width(2))))?;
        }
        Ok(())
    })
}

/// A multi-thread workload's chart: M operations/s by thread count (a log2
/// axis: 1, 2, 4, 8 evenly spaced), a line per contender through its
/// medians with a whisker from its lowest to its highest run; this
/// workspace's contenders solid and marked *, the peers dashed.
pub(crate) fn threads_chart(path: &Path, shape: Shape, rows: &[&MtRow]) -> ChartResult {
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = rows
        .iter()
        .flat_map(|r| r.cells.iter().filter(|(_, c)| c.error.is_none()).map(|(_, c)| c.max / 1e6))
        .fold(0.0, f64::max)
        * 1.1
        + f64::EPSILON;
    let most = rows.iter().flat_map(|r| r.cells.iter().map(|(t, _)| *t)).max().unwrap_or(8).max(2);
    let caption = format!("{}: all threads together (ours solid and *, peers dashed)", shape.name());
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.25f64..(most as f64).log2() + 0.25, 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(4 * (most as f64).log2() as usize + 1)
        .x_label_formatter(&|x| {
            let t = 2f64.powf(*x);
            if (t - t.round()).abs() < 1e-6 {
                format!("{t:.0}")
            } else {
                String::new()
            }
        })
        .x_desc("threads (log scale)")
        .y_desc("M operations/s (higher is better); whiskers: lowest to highest run")
        .label_style(("sans-serif", 13))
        .draw()?;
    for (i, r) in rows.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        let cells: Vec<(f64, &MtCell)> =
            r.cells.iter().filter(|(_, c)| c.error.is_none()).map(|(t, c)| ((*t as f64).log2(), c)).collect();
        let points: Vec<(f64, f64)> = cells.iter().map(|(x, c)| (*x, c.median / 1e6)).collect();
        let label = format!("{}{}", r.name, if r.ours { " *" } else { "" });
        if r.ours {
            chart
                .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(3)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3)));
        } else {
            chart
                .draw_series(DashedLineSeries::new(points.iter().copied(), 6, 4, colour.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], colour.stroke_width(2)));
        }
        chart.draw_series(cells.iter().map(|(x, c)| {
            ErrorBar::new_vertical(*x, c.min / 1e6, c.median / 1e6, c.max / 1e6, colour.stroke_width(1), 8)
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
