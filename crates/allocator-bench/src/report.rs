//! Collecting, printing and writing the results.

use std::{collections::BTreeMap, fmt::Write as _, fs, path::Path};

use crate::{
    arenas::{ArenaRow, NUMBERS, REQUESTS},
    charts::{bar_chart, chart_unit, latency_chart, threads_chart, Bar},
    heaps::Kind,
    instructions::{self, Count},
    measure::{HealthRow, Overhead, PageRow},
    threads::{MtCell, MtRow, Shape},
    workloads::{Figure, HEALTH_HEAP, HEALTH_STEPS},
    Contender, Workload,
};

/// One contender's figures.
pub(crate) struct Row {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// The median run of each workload (by [`goodness`]).
    pub(crate) figures: BTreeMap<&'static str, Figure>,
    /// Every timed run of each workload, in the order run.
    pub(crate) runs: BTreeMap<&'static str, Vec<Figure>>,
}

impl Row {
    /// The spread of a workload's runs: (best - worst) / median, by
    /// [`goodness`]; `None` with fewer than two runs.
    pub(crate) fn spread(&self, workload: &str) -> Option<f64> {
        let runs = self.runs.get(workload).filter(|r| r.len() > 1)?;
        let g: Vec<f64> = runs.iter().map(|f| goodness(*f)).collect();
        let (lo, hi) = g.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        let median = goodness(*self.figures.get(workload)?);
        (median > 0.0).then(|| (hi - lo) / median)
    }
}

/// The median of `runs` by [`goodness`] (the lower middle one of an even
/// count).
fn median(runs: &[Figure]) -> Figure {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| goodness(*a).total_cmp(&goodness(*b)));
    sorted[(sorted.len() - 1) / 2]
}

/// Everything one run measured.
pub(crate) struct Results {
    baseline: String,
    rows: Vec<Row>,
    order: Vec<&'static str>,
    pub(crate) pages: Vec<PageRow>,
    pub(crate) overhead: Vec<Overhead>,
    /// The wrapper table in instructions, or why it was not counted.
    pub(crate) instructions: Option<Result<Vec<Count>, String>>,
    /// The multi-thread table.
    pub(crate) threads: Vec<MtRow>,
    /// The heap health after a random run.
    pub(crate) health: Vec<HealthRow>,
    /// The per-request arena table.
    pub(crate) arenas: Vec<ArenaRow>,
}

/// Higher is better, whatever the figure.
pub(crate) fn goodness(f: Figure) -> f64 {
    match f {
        Figure::Rate(r) => r,
        Figure::Seconds(s) => 1.0 / s,
        Figure::Latency { p50, .. } => 1.0 / p50,
        Figure::Efficiency(e) => e,
    }
}

/// `f` as a share of `best`'s figure, by [`goodness`].
fn percent_of(f: Figure, best: Figure) -> String {
    format!("{:.0} %", 100.0 * goodness(f) / goodness(best))
}

fn human_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M/s", r / 1e6)
    } else {
        format!("{:.0}k/s", r / 1e3)
    }
}

fn show(f: Figure) -> String {
    match f {
        Figure::Rate(r) => human_rate(r),
        Figure::Seconds(s) if s < 1.0 => format!("{:.1}ms", s * 1e3),
        Figure::Seconds(s) => format!("{s:.2}s"),
        Figure::Latency { p50, p99, max } => format!("{p50:.1}/{p99:.0}/{max:.0}ns"),
        Figure::Efficiency(e) => format!("{:.1}%", e * 100.0),
    }
}

fn raw_value(f: Figure) -> String {
    match f {
        Figure::Rate(r) => format!("{r:.0}"),
        Figure::Seconds(s) => format!("{s:.6}"),
        Figure::Latency { p50, p99, max } => format!("{p50:.0};{p99:.0};{max:.0}"),
        Figure::Efficiency(e) => format!("{e:.4}"),
    }
}

fn unit(f: Figure) -> &'static str {
    match f {
        Figure::Rate(_) => "ops/s",
        Figure::Seconds(_) => "s",
        Figure::Latency { .. } => "ns p50;p99;max",
        Figure::Efficiency(_) => "share",
    }
}

/// The memory `Checked` costs, from its docs.
const CHECKED_OVERHEAD: &str = "Checked's memory, per its docs: 32 bytes per block in the heap below \
(16-byte canaries before and after; max(align, 16) + 16 above 16-byte alignment) plus that heap's own \
rounding and header, a 32-byte live-table slot per possible live block (LIVE slots, fixed: 32 KiB at the \
default 1,024; the workbench uses 65,536), a 40-byte quarantine slot (2.5 KiB at the default 64), and \
each freed block's memory while it is quarantined.";

/// What the multi-thread tables show.
const MT_INTRO: &str =
    "Multi-thread throughput: million operations (an alloc or a free) per second, all threads together; \
the median of the runs, the lowest and highest in brackets; the last columns divide each median by the \
system allocator's and mimalloc's (1, 2, 4, 8 threads). Shared allocators through GlobalAlloc; * marks \
this workspace's. `!`: a run hit the time budget (2 s by default; the rate it reached is shown, and the cell \
is not run again).\n";

/// The arena table, as lines of text (`markdown`: a Markdown table).
fn arena_section(rows: &[ArenaRow], markdown: bool) -> String {
    let mut s = format!(
        "Arenas: a per-request workload ({REQUESTS} requests; each parses {NUMBERS} numbers into a vector, sorts them and \
         writes a comma-separated response that grows as it is written, through `allocator_api2` collections; \
         everything a request allocated released after it: the region's scope ends, bumpalo is reset, the global \
         heap frees). Requests/s, the median of the runs ± half their spread; the last column divides by bumpalo's.\n"
    );
    let bump = rows.iter().find(|r| r.name == "bumpalo").map(ArenaRow::median);
    if markdown {
        s += "\n| arena | requests/s | vs bumpalo |\n| --- | --- | --- |\n";
    }
    for r in rows {
        let ratio = bump.filter(|b| *b > 0.0).map_or("-".into(), |b| format!("{:.2}x", r.median() / b));
        let rate = format!("{:.0}k ±{:.0}%", r.median() / 1e3, r.spread() * 50.0);
        let name = format!("{}{}", r.name, if r.ours { " *" } else { "" });
        if markdown {
            let _ = writeln!(s, "| {name} | {rate} | {ratio} |");
        } else {
            let _ = writeln!(s, "{name:<16} {rate:<12} {ratio}");
        }
    }
    s
}

/// What the health table shows.
fn health_intro() -> String {
    format!(
        "Heap health after a random run: {}k steps on a fresh {} MiB heap (a block of 16-4096 B allocated three \
times in four while live blocks request under half the heap, else a random live block freed; one sequence for \
every heap), then `health()`, the blocks still live. Used counts headers and rounding; largest free is the \
largest request that would succeed now; fragmentation = 1 - largest free / free. pool256+tlsf counts its \
pool's free blocks as free but as fragments (no request above 256 B can have them); tlsf<-pages likewise its \
page allocator's free pages until they are refilled. `—`: not known. buddy and slab cannot tell their largest \
free block (the crates they wrap do not expose their free lists), nor can buddy_system_allocator and \
linked_list_allocator, whose APIs give used bytes only; rlsf, talc, system and mimalloc give nothing to read \
and ax_slab_allocator a total that counts slab memory twice, so they have no row. Requested bytes (live / peak) \
where something counts them: counted-tlsf is tlsf in `Proxy<_, Stats>` (policy::Counted); \
buddy_system_allocator counts the live ones, no peak.\n",
        HEALTH_STEPS / 1000,
        HEALTH_HEAP >> 20
    )
}

/// Bytes, in KiB or MiB.
fn bytes(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{:.2} MiB", n as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

/// An optional figure, `—` when the heap cannot tell.
fn or_dash<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "—".into(), f)
}

/// Columns padded to their widest cell, trailing blanks cut.
fn aligned(head: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter().map(|r| r[i].chars().count()).chain([head[i].chars().count()]).max().unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut s = line(head);
    s.push('\n');
    for r in rows {
        s += &line(r);
        s.push('\n');
    }
    s
}

/// A multi-thread cell: the median in M/s and the spread.
fn mt_show(c: &MtCell) -> String {
    match &c.error {
        Some(_) => "failed".into(),
        None if c.runs < 2 => format!("{:.2}{}", c.median / 1e6, if c.capped { " !" } else { "" }),
        None => format!(
            "{:.2} ({:.2}-{:.2}){}",
            c.median / 1e6,
            c.min / 1e6,
            c.max / 1e6,
            if c.capped { " !" } else { "" }
        ),
    }
}

impl Results {
    /// The multi-thread tables, one per workload: its title, header and
    /// rows.
    /// The best contender on `workload` by [`goodness`], among those
    /// `keep` lets through, with its figure.
    fn best_on(&self, workload: &str, keep: impl Fn(&Row) -> bool) -> Option<(&Row, Figure)> {
        self.rows
            .iter()
            .filter(|r| keep(r))
            .filter_map(|r| Some((r, *r.figures.get(workload)?)))
            .filter(|(_, f)| goodness(*f).is_finite())
            .max_by(|a, b| goodness(a.1).total_cmp(&goodness(b.1)))
    }

    /// "Pick X when ...": for each question a user choosing a heap asks,
    /// the answer computed from this run's figures (the best contender, and
    /// the best of this workspace's when another leads).
    pub(crate) fn summary(&self) -> Vec<String> {
        const QUESTIONS: [(&str, &str); 7] = [
            ("random-200", "many small blocks (up to 200 B), allocated and freed at random"),
            ("random-30k", "blocks of any size up to 30 KB"),
            ("realloc-30k", "blocks that grow and shrink through realloc"),
            ("fill-shuffled-free", "filling a heap, then freeing it in any order"),
            ("latency", "the fastest typical alloc+free pair"),
            ("efficiency", "the most of a small heap usable before the first failure"),
            ("btree-50k", "std collections (a BTreeMap of strings)"),
        ];
        let mut lines = Vec::new();
        for (w, when) in QUESTIONS {
            let Some((best, f)) = self.best_on(w, |_| true) else { continue };
            let base = self.base(w).map(|b| format!(", {:.2}x {}", goodness(f) / goodness(b), self.baseline));
            let mut line =
                format!("For {when} ({w}): `{}`, {}{}", best.name, show(f), base.unwrap_or_default());
            if best.kind != Kind::Ours {
                if let Some((ours, of)) = self.best_on(w, |r| r.kind == Kind::Ours) {
                    let _ = write!(
                        line,
                        "; of this workspace's, `{}`, {} of its figure",
                        ours.name,
                        percent_of(of, f)
                    );
                }
            }
            lines.push(line + ".");
        }
        if let Some(best) = self.arenas.iter().max_by(|a, b| a.median().total_cmp(&b.median())) {
            let mut line = format!(
                "For per-request memory released all at once (arena): `{}`, {:.0}k requests/s",
                best.name,
                best.median() / 1e3
            );
            if !best.ours {
                if let Some(ours) = self.arenas.iter().find(|a| a.ours) {
                    let _ = write!(
                        line,
                        "; of this workspace's, `{}`, {:.0} %",
                        ours.name,
                        100.0 * ours.median() / best.median()
                    );
                }
            }
            lines.push(line + ".");
        }
        // The tail: the lowest p99, ties (the clock's steps) broken by the
        // lowest max.
        let tail = |r: &Row| match r.figures.get("latency") {
            Some(Figure::Latency { p99, max, .. }) => Some((*p99, *max)),
            _ => None,
        };
        if let Some((r, (p99, max))) = self
            .rows
            .iter()
            .filter_map(|r| Some((r, tail(r)?)))
            .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then(a.1 .1.total_cmp(&b.1 .1)))
        {
            lines.push(format!(
                "For the shortest latency tail (latency p99, then max): `{}`, p99 {p99:.0} ns, max {max:.0} ns.",
                r.name
            ));
        }
        for shape in Shape::ALL {
            let at_most = |r: &&MtRow| {
                r.cells.iter().rev().find(|(_, c)| c.error.is_none()).map(|(t, c)| (*t, c.median))
            };
            let rows: Vec<&MtRow> = self.threads.iter().filter(|r| r.shape == shape).collect();
            let most = rows.iter().filter_map(at_most).map(|(t, _)| t).max();
            let Some(most) = most else { continue };
            let at = |r: &&MtRow| {
                r.cells.iter().find(|(t, c)| *t == most && c.error.is_none()).map(|(_, c)| c.median)
            };
            let best = rows.iter().filter_map(|r| Some((*r, at(r)?))).max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((r, rate)) = best {
                let mut line = format!(
                    "For {} threads sharing one heap ({}): `{}`, {:.1} M operations/s",
                    most,
                    shape.name(),
                    r.name,
                    rate / 1e6
                );
                if !r.ours {
                    if let Some((o, orate)) = rows
                        .iter()
                        .filter(|r| r.ours)
                        .filter_map(|r| Some((*r, at(r)?)))
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                    {
                        let _ = write!(
                            line,
                            "; of this workspace's, `{}`, {:.0} %",
                            o.name,
                            100.0 * orate / rate
                        );
                    }
                }
                lines.push(line + ".");
            }
        }
        lines
    }

    fn mt_grids(&self) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
        let mut out = Vec::new();
        for shape in Shape::ALL {
            let rows: Vec<&MtRow> = self.threads.iter().filter(|r| r.shape == shape).collect();
            let Some(first) = rows.first() else { continue };
            let counts: Vec<usize> = first.cells.iter().map(|c| c.0).collect();
            let mut head = vec!["allocator".to_string()];
            head.extend(counts.iter().map(|t| format!("{t} thread{}", if *t == 1 { "" } else { "s" })));
            let bases: Vec<&MtRow> = ["system", "mimalloc"]
                .iter()
                .filter_map(|b| rows.iter().find(|r| r.name == *b).copied())
                .collect();
            head.extend(bases.iter().map(|b| format!("vs {}", b.name)));
            let body = rows
                .iter()
                .map(|r| {
                    let mut line = vec![format!("{}{}", r.name, if r.ours { " *" } else { "" })];
                    line.extend(r.cells.iter().map(|(_, c)| mt_show(c)));
                    for b in &bases {
                        let ratios: Vec<String> = r
                            .cells
                            .iter()
                            .zip(&b.cells)
                            .map(|((_, c), (_, bc))| {
                                if c.error.is_none() && bc.error.is_none() {
                                    format!("{:.2}", c.median / bc.median)
                                } else {
                                    "-".into()
                                }
                            })
                            .collect();
                        line.push(ratios.join(" / "));
                    }
                    line
                })
                .collect();
            out.push((format!("{}: {}", shape.name(), shape.what()), head, body));
        }
        out
    }

    /// The health table: header and rows.
    fn health_grid(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let head = [
            "heap",
            "total",
            "used",
            "free",
            "largest free",
            "fragmentation",
            "requested live / peak",
            "live blocks",
            "failed allocs",
        ]
        .map(String::from)
        .to_vec();
        let rows = self
            .health
            .iter()
            .map(|r| {
                let h = r.after.health;
                vec![
                    format!("{}{}", r.name, if r.ours { " *" } else { "" }),
                    bytes(h.total),
                    bytes(h.used),
                    bytes(h.free()),
                    or_dash(h.largest_free, bytes),
                    or_dash(h.fragmentation_permille(), |p| format!("{:.1} %", f64::from(p) / 10.0)),
                    match (h.requested, h.peak_requested) {
                        (None, _) => "—".into(),
                        (Some(now), peak) => format!("{} / {}", bytes(now), or_dash(peak, bytes)),
                    },
                    r.after.live.to_string(),
                    r.after.failures.to_string(),
                ]
            })
            .collect();
        (head.to_vec(), rows)
    }

    /// The failed multi-thread cells, one line each.
    fn mt_errors(&self) -> Vec<String> {
        self.threads
            .iter()
            .flat_map(|r| {
                r.cells.iter().filter_map(move |(t, c)| {
                    c.error
                        .as_ref()
                        .map(|e| format!("{} / {} / {t} threads failed: {e}", r.name, r.shape.name()))
                })
            })
            .collect()
    }

    pub(crate) fn new(baseline: &str) -> Self {
        Self {
            baseline: baseline.into(),
            rows: Vec::new(),
            order: Vec::new(),
            pages: Vec::new(),
            overhead: Vec::new(),
            instructions: None,
            threads: Vec::new(),
            health: Vec::new(),
            arenas: Vec::new(),
        }
    }

    /// Gives each contender its row, in this order (the byte table's rows
    /// keep it whatever order the runs come in).
    pub(crate) fn rows_for(&mut self, contenders: &[&Contender]) {
        for c in contenders {
            if !self.rows.iter().any(|r| r.name == c.name) {
                self.rows.push(Row {
                    name: c.name,
                    kind: c.kind,
                    figures: BTreeMap::new(),
                    runs: BTreeMap::new(),
                });
            }
        }
    }

    pub(crate) fn byte(&mut self, name: &'static str, kind: Kind, w: Workload, f: Figure) {
        if !self.order.contains(&w.name()) {
            self.order.push(w.name());
        }
        let row = match self.rows.iter().position(|r| r.name == name) {
            Some(i) => &mut self.rows[i],
            None => {
                self.rows.push(Row { name, kind, figures: BTreeMap::new(), runs: BTreeMap::new() });
                self.rows.last_mut().expect("just pushed")
            }
        };
        let runs = row.runs.entry(w.name()).or_default();
        runs.push(f);
        let m = median(runs);
        row.figures.insert(w.name(), m);
    }

    fn base(&self, workload: &str) -> Option<Figure> {
        self.rows.iter().find(|r| r.name == self.baseline)?.figures.get(workload).copied()
    }

    /// The cell of a table: the figure and its ratio to the baseline
    /// (above 1: better than the baseline).
    fn cell(&self, row: &Row, workload: &str, f: Figure) -> String {
        let spread = row.spread(workload).map(|s| format!(" ±{:.0}%", s * 50.0)).unwrap_or_default();
        match self.base(workload) {
            Some(b) => format!("{}{spread} ({:.2}x)", show(f), goodness(f) / goodness(b)),
            None => format!("{}{spread}", show(f)),
        }
    }

    fn grid(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut head = vec!["allocator".to_string()];
        head.extend(self.order.iter().map(|w| w.to_string()));
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut line = vec![format!("{}{}", r.name, if r.kind == Kind::Ours { " *" } else { "" })];
                line.extend(
                    self.order.iter().map(|w| r.figures.get(w).map_or("-".into(), |f| self.cell(r, w, *f))),
                );
                line
            })
            .collect();
        (head, rows)
    }

    /// The terminal table.
    pub(crate) fn table(&self) -> String {
        let (head, rows) = self.grid();
        let widths: Vec<usize> = (0..head.len())
            .map(|i| rows.iter().map(|r| r[i].len()).chain([head[i].len()]).max().unwrap_or(0))
            .collect();
        let line = |cells: &[String]| {
            cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ")
        };
        let mut s = String::new();
        let summary = self.summary();
        if !summary.is_empty() {
            s += "Pick, from this run's figures:\n";
            for l in &summary {
                let _ = writeln!(s, "- {l}");
            }
            s.push('\n');
        }
        if !rows.is_empty() {
            s += &format!(
                "Throughput (higher is better), times and latency p50/p99/max (lower is better), heap use at the first failure (higher is better).\n\
                 Each cell is the median of the runs (`--repeat`, after one untimed warm-up run), ± half their spread (best - worst) around it.\n\
                 Latency: p50 is the median of 64-pair batches' mean; p99 and max are of pairs timed alone; both with the time-stamp counter (x86_64; elsewhere `Instant`), the clock's own cost taken off; the max includes preemption and page faults.\n\
                 In brackets: how much better than `{}` (above 1 is better). * marks this workspace's allocators.\n\n",
                self.baseline
            );
            s += &line(&head);
            s.push('\n');
            for r in &rows {
                s += &line(r);
                s.push('\n');
            }
        }
        if !self.pages.is_empty() {
            s += "\nPages and ids: alloc+free pairs per second\n";
            for p in &self.pages {
                let cells: Vec<String> =
                    p.rates.iter().map(|(l, r)| format!("{l} {}", human_rate(*r))).collect();
                let _ = writeln!(s, "{:<24} {}", p.name, cells.join("  "));
            }
        }
        if !self.overhead.is_empty() {
            s += "\nWrapper overhead: our time / the wrapped crate's time, best of 7 alternating runs (1.00 = none)\n";
            for o in &self.overhead {
                let _ = writeln!(s, "{:<14} vs {:<24} {:<16} {:.3}", o.ours, o.raw, o.workload, o.ratio);
            }
        }
        if !self.arenas.is_empty() {
            s += "\n";
            s += &arena_section(&self.arenas, false);
        }
        if !self.health.is_empty() {
            s += "\n";
            s += &health_intro();
            let (head, rows) = self.health_grid();
            s += &aligned(&head, &rows);
        }
        if !self.threads.is_empty() {
            s += "\n";
            s += MT_INTRO;
            for (title, head, rows) in self.mt_grids() {
                let widths: Vec<usize> = (0..head.len())
                    .map(|i| {
                        rows.iter().map(|r| r[i].chars().count()).chain([head[i].len()]).max().unwrap_or(0)
                    })
                    .collect();
                let line = |cells: &[String]| {
                    let padded: Vec<String> = cells
                        .iter()
                        .zip(&widths)
                        .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                        .collect();
                    padded.join("  ").trim_end().to_string()
                };
                let _ = writeln!(s, "\n{title}");
                let _ = writeln!(s, "{}", line(&head));
                for r in &rows {
                    let _ = writeln!(s, "{}", line(r));
                }
            }
            for e in self.mt_errors() {
                let _ = writeln!(s, "{e}");
            }
        }
        match &self.instructions {
            Some(Ok(counts)) => {
                if counts.iter().any(|c| !instructions::is_checker(c.ours)) {
                    s += "\nWrapper overhead in instructions per alloc+free pair (callgrind; the harness taken off)\n";
                }
                for c in counts.iter().filter(|c| !instructions::is_checker(c.ours)) {
                    let _ = writeln!(
                        s,
                        "{:<14} vs {:<24} {:<16} {:>7.1} vs {:>7.1}  {:+.1}%",
                        c.ours,
                        c.raw,
                        c.workload,
                        c.ours_per_pair,
                        c.raw_per_pair,
                        c.overhead_percent()
                    );
                }
                let checkers: Vec<&Count> =
                    counts.iter().filter(|c| instructions::is_checker(c.ours)).collect();
                if !checkers.is_empty() {
                    s += "\nDebug checker cost in instructions per alloc+free pair (a checker, not a wrapper: no overhead limit)\n";
                    for c in checkers {
                        let _ = writeln!(
                            s,
                            "{:<14} vs {:<24} {:<16} {:>7.1} vs {:>7.1}  {:.2}x",
                            c.ours,
                            c.raw,
                            c.workload,
                            c.ours_per_pair,
                            c.raw_per_pair,
                            c.ours_per_pair / c.raw_per_pair
                        );
                    }
                    s += CHECKED_OVERHEAD;
                    s.push('\n');
                }
            }
            Some(Err(why)) => {
                let _ = writeln!(s, "\nWrapper overhead in instructions: not counted: {why}");
            }
            None => {}
        }
        s
    }

    fn markdown(&self) -> String {
        let (head, rows) = self.grid();
        let mut s = String::from("# Workbench report\n\n");
        let summary = self.summary();
        if !summary.is_empty() {
            s += "## Pick, from this run's figures\n\nComputed from the tables below (the best contender; the best of this \
                  workspace's when another leads):\n\n";
            for l in &summary {
                let _ = writeln!(s, "- {l}");
            }
            s += "\n## Single-thread figures\n\n";
        }
        let _ = writeln!(
            s,
            "Each cell is the median of the runs (after one untimed warm-up run of every cell; the contenders \
             interleaved, each round in a rotated order), ± half their spread (best - worst) around the median. \
             Latency: p50 is the median of 64-pair batches' mean; p99 and max are of pairs timed alone; both \
             with the time-stamp counter (x86_64; elsewhere `Instant`), the clock's own cost taken off; the \
             max includes preemption and page faults. \
             Ratios in brackets are against `{}` (above 1 is better). * marks ours.\n",
            self.baseline
        );
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}", " --- |".repeat(head.len()));
        for r in rows {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
        if !self.pages.is_empty() {
            s += "\n## Pages and ids (alloc+free pairs per second)\n\n| allocator | runs |\n| --- | --- |\n";
            for p in &self.pages {
                let cells: Vec<String> =
                    p.rates.iter().map(|(l, r)| format!("{l}: {}", human_rate(*r))).collect();
                let _ = writeln!(s, "| {} | {} |", p.name, cells.join(", "));
            }
        }
        if !self.overhead.is_empty() {
            s += "\n## Wrapper overhead (our time / the wrapped crate's time)\n\n| ours | wraps | workload | ratio |\n| --- | --- | --- | --- |\n";
            for o in &self.overhead {
                let _ = writeln!(s, "| {} | {} | {} | {:.3} |", o.ours, o.raw, o.workload, o.ratio);
            }
        }
        if !self.arenas.is_empty() {
            s += "\n## Arenas\n\n";
            s += &arena_section(&self.arenas, true);
        }
        if !self.health.is_empty() {
            s += "\n## Heap health after a random run\n\n";
            s += &health_intro();
            let (head, rows) = self.health_grid();
            let _ = writeln!(s, "\n| {} |", head.join(" | "));
            let _ = writeln!(s, "|{}", " --- |".repeat(head.len()));
            for r in rows {
                let _ = writeln!(s, "| {} |", r.join(" | "));
            }
        }
        if let Some(Ok(counts)) = &self.instructions {
            if counts.iter().any(|c| !instructions::is_checker(c.ours)) {
                s += "\n## Wrapper overhead in instructions (per alloc+free pair, callgrind, harness taken off)\n\n| ours | wraps | workload | ours | wrapped | overhead |\n| --- | --- | --- | --- | --- | --- |\n";
            }
            for c in counts.iter().filter(|c| !instructions::is_checker(c.ours)) {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.1} | {:.1} | {:+.1}% |",
                    c.ours,
                    c.raw,
                    c.workload,
                    c.ours_per_pair,
                    c.raw_per_pair,
                    c.overhead_percent()
                );
            }
            let checkers: Vec<&Count> = counts.iter().filter(|c| instructions::is_checker(c.ours)).collect();
            if !checkers.is_empty() {
                s += "\n## Debug checker cost in instructions (per alloc+free pair; a checker, not a wrapper: no overhead limit)\n\n| checker | heap | workload | checked | bare | ratio |\n| --- | --- | --- | --- | --- | --- |\n";
                for c in checkers {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {:.1} | {:.1} | {:.2}x |",
                        c.ours,
                        c.raw,
                        c.workload,
                        c.ours_per_pair,
                        c.raw_per_pair,
                        c.ours_per_pair / c.raw_per_pair
                    );
                }
                let _ = writeln!(s, "\n{CHECKED_OVERHEAD}");
            }
        }
        if !self.threads.is_empty() {
            s += "\n## Multi-thread throughput\n\n";
            s += MT_INTRO;
            for (title, head, rows) in self.mt_grids() {
                let _ = writeln!(s, "\n### {title}\n");
                let _ = writeln!(s, "| {} |", head.join(" | "));
                let _ = writeln!(s, "|{}", " --- |".repeat(head.len()));
                for r in rows {
                    let _ = writeln!(s, "| {} |", r.join(" | "));
                }
            }
            let errors = self.mt_errors();
            if !errors.is_empty() {
                s.push('\n');
                for e in errors {
                    let _ = writeln!(s, "- {e}");
                }
            }
        }
        s += &measured_sections(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
        s += "\nCharts: `charts/*.svg` (each in its figure's unit and direction, whiskers from the lowest to the \
              highest run, a log scale where figures span more than 30x; orange: this workspace, grey: the crates it \
              wraps, blue: peers). Raw figures: `results.csv`.\n";
        s
    }

    fn csv(&self) -> String {
        let mut s = String::from("allocator,kind,workload,unit,value\n");
        for r in &self.rows {
            for (w, f) in &r.figures {
                let _ = writeln!(s, "{},{:?},{w},{},{}", r.name, r.kind, unit(*f), raw_value(*f));
                if let Some(spread) = r.spread(w) {
                    let _ =
                        writeln!(s, "{},{:?},{w},spread (best - worst) / median,{spread:.4}", r.name, r.kind);
                }
            }
        }
        for p in &self.pages {
            for (l, r) in &p.rates {
                let _ = writeln!(s, "{},pages,{l},pairs/s,{r:.0}", p.name);
            }
        }
        for o in &self.overhead {
            let _ = writeln!(s, "{},overhead vs {},{},ratio,{:.4}", o.ours, o.raw, o.workload, o.ratio);
        }
        for a in &self.arenas {
            let kind = if a.ours { "Ours arena" } else { "Peer arena" };
            let _ = writeln!(s, "{},{kind},arena,requests/s median,{:.0}", a.name, a.median());
            let _ = writeln!(s, "{},{kind},arena,spread (best - worst) / median,{:.4}", a.name, a.spread());
        }
        for r in &self.health {
            let h = r.after.health;
            let figures = [
                ("total", Some(h.total)),
                ("used", Some(h.used)),
                ("free", Some(h.free())),
                ("largest free", h.largest_free),
                ("requested", h.requested),
                ("peak requested", h.peak_requested),
            ];
            for (what, v) in figures.iter().filter_map(|(w, v)| Some((w, (*v)?))) {
                let _ = writeln!(s, "{},health,{what},bytes,{v}", r.name);
            }
            if let Some(p) = h.fragmentation_permille() {
                let _ = writeln!(s, "{},health,fragmentation,permille,{p}", r.name);
            }
            let _ = writeln!(s, "{},health,failed allocs,count,{}", r.name, r.after.failures);
            let _ = writeln!(s, "{},health,run,s,{:.6}", r.name, r.after.seconds);
        }
        for c in self.instructions.iter().flatten().flatten() {
            let _ = writeln!(s, "{},instructions,{},per pair,{:.2}", c.ours, c.workload, c.ours_per_pair);
            let _ = writeln!(s, "{},instructions,{},per pair,{:.2}", c.raw, c.workload, c.raw_per_pair);
        }
        for r in &self.threads {
            for (t, c) in &r.cells {
                if c.error.is_none() {
                    let kind = if r.ours { "Ours shared" } else { "Peer shared" };
                    let w = r.shape.name();
                    let _ = writeln!(s, "{},{kind},{w} x{t},ops/s median,{:.0}", r.name, c.median);
                    let _ = writeln!(s, "{},{kind},{w} x{t},ops/s min,{:.0}", r.name, c.min);
                    let _ = writeln!(s, "{},{kind},{w} x{t},ops/s max,{:.0}", r.name, c.max);
                }
            }
        }
        s
    }

    /// The results as JSON.
    pub(crate) fn json(&self) -> String {
        let mut s = format!("{{\"baseline\":\"{}\",\"byte\":[", self.baseline);
        for (i, r) in self.rows.iter().enumerate() {
            let figs: Vec<String> = r
                .figures
                .iter()
                .map(|(w, f)| match f {
                    Figure::Latency { p50, p99, max } => {
                        format!("\"{w}\":{{\"p50_ns\":{p50},\"p99_ns\":{p99},\"max_ns\":{max}}}")
                    }
                    Figure::Rate(v) => format!("\"{w}\":{{\"ops_per_s\":{v}}}"),
                    Figure::Seconds(v) => format!("\"{w}\":{{\"seconds\":{v}}}"),
                    Figure::Efficiency(v) => format!("\"{w}\":{{\"share\":{v}}}"),
                })
                .collect();
            let sep = if i == 0 { "" } else { "," };
            let _ =
                write!(s, "{sep}{{\"name\":\"{}\",\"kind\":\"{:?}\",{}}}", r.name, r.kind, figs.join(","));
        }
        s += "],\"pages\":[";
        let pages: Vec<String> = self
            .pages
            .iter()
            .map(|p| {
                let rates: Vec<String> = p.rates.iter().map(|(l, r)| format!("\"{l}\":{r}")).collect();
                format!("{{\"name\":\"{}\",{}}}", p.name, rates.join(","))
            })
            .collect();
        s += &pages.join(",");
        s += "],\"overhead\":[";
        let over: Vec<String> = self
            .overhead
            .iter()
            .map(|o| {
                format!(
                    "{{\"ours\":\"{}\",\"raw\":\"{}\",\"workload\":\"{}\",\"ratio\":{}}}",
                    o.ours, o.raw, o.workload, o.ratio
                )
            })
            .collect();
        s += &over.join(",");
        s += "],\"instructions\":[";
        let counts: Vec<String> = self
            .instructions
            .iter()
            .flatten()
            .flatten()
            .map(|c| {
                format!(
                    "{{\"ours\":\"{}\",\"raw\":\"{}\",\"workload\":\"{}\",\"ours_per_pair\":{},\"raw_per_pair\":{}}}",
                    c.ours, c.raw, c.workload, c.ours_per_pair, c.raw_per_pair
                )
            })
            .collect();
        s += &counts.join(",");
        s += "],\"threads\":[";
        let mt: Vec<String> = self
            .threads
            .iter()
            .flat_map(|r| {
                r.cells.iter().map(move |(t, c)| match &c.error {
                    None => format!(
                        "{{\"name\":\"{}\",\"workload\":\"{}\",\"threads\":{t},\"ops_per_s\":{},\"min\":{},\"max\":{},\"runs\":{},\"capped\":{}}}",
                        r.name,
                        r.shape.name(),
                        c.median,
                        c.min,
                        c.max,
                        c.runs,
                        c.capped
                    ),
                    Some(e) => format!(
                        "{{\"name\":\"{}\",\"workload\":\"{}\",\"threads\":{t},\"error\":{:?}}}",
                        r.name,
                        r.shape.name(),
                        e
                    ),
                })
            })
            .collect();
        s += &mt.join(",");
        s += "],\"health\":[";
        let opt = |v: Option<usize>| v.map_or("null".into(), |v| v.to_string());
        let health: Vec<String> = self
            .health
            .iter()
            .map(|r| {
                let h = r.after.health;
                format!(
                    "{{\"name\":\"{}\",\"total\":{},\"used\":{},\"largest_free\":{},\"fragmentation_permille\":{},\"requested\":{},\"peak_requested\":{},\"live_blocks\":{},\"failed_allocs\":{}}}",
                    r.name,
                    h.total,
                    h.used,
                    opt(h.largest_free),
                    opt(h.fragmentation_permille().map(usize::from)),
                    opt(h.requested),
                    opt(h.peak_requested),
                    r.after.live,
                    r.after.failures
                )
            })
            .collect();
        s += &health.join(",");
        s += "]}";
        s
    }

    /// Writes report.md, results.csv and the charts under `dir`.
    pub(crate) fn write(&self, dir: &Path) -> std::io::Result<()> {
        fs::create_dir_all(dir.join("charts"))?;
        fs::write(dir.join("report.md"), self.markdown())?;
        fs::write(dir.join("results.csv"), self.csv())?;
        for w in &self.order {
            let bars: Vec<Bar<'_>> = self.rows.iter().filter_map(|r| Bar::of(r, w)).collect();
            if let Some(first) = self.rows.iter().find_map(|r| r.figures.get(w)) {
                let (unit, better) = chart_unit(*first);
                bar_chart(&dir.join(format!("charts/{w}.svg")), w, unit, better, &bars)
                    .map_err(std::io::Error::other)?;
            }
        }
        let lat: Vec<(&str, Kind, [f64; 3])> = self
            .rows
            .iter()
            .filter_map(|r| match r.figures.get("latency")? {
                Figure::Latency { p50, p99, max } => Some((r.name, r.kind, [*p50, *p99, *max])),
                _ => None,
            })
            .filter(|r| r.2.iter().all(|v| v.is_finite()))
            .collect();
        if !lat.is_empty() {
            latency_chart(&dir.join("charts/latency-percentiles.svg"), &lat)
                .map_err(std::io::Error::other)?;
        }
        for shape in Shape::ALL {
            let lines: Vec<&MtRow> = self.threads.iter().filter(|r| r.shape == shape).collect();
            if !lines.is_empty() {
                threads_chart(&dir.join(format!("charts/{}.svg", shape.name())), shape, &lines)
                    .map_err(std::io::Error::other)?;
            }
        }
        Ok(())
    }
}

/// A table a CI script writes for the report (tab-separated, a header
/// row first), under the workspace's `target/`.
struct Measured {
    /// The section's title.
    title: &'static str,
    /// What the figures are, shown above the table.
    about: &'static str,
    /// The file, relative to the workspace's `target/`.
    file: &'static str,
    /// How to make the file, shown when it is missing.
    how: &'static str,
}

/// The tables the CI scripts write: what each heap costs a firmware, and
/// real programs through the C ABI.
const MEASURED: &[Measured] = &[
    Measured {
        title: "Footprint on a Cortex-M3 (bytes over a firmware without a heap)",
        about: "A `Box` and a `Vec` on each heap as the global allocator, behind a critical section, \
                4 KiB of heap memory not counted (thumbv7m-none-eabi, opt-level s, LTO).",
        file: "footprint/footprint.tsv",
        how: "`bash firmware/footprint.sh` (the packages of `cargo xtask firmware`)",
    },
    Measured {
        title: "Real programs through the C ABI (LD_PRELOAD), against glibc",
        about: "Each program's output compared with its output on glibc; wall-clock time and peak \
                resident memory from one run each (a shared machine: ratios move between runs).",
        file: "programs/programs.tsv",
        how: "`cargo xtask programs` (it builds the preload library for each heap)",
    },
];

/// The report's sections for [`MEASURED`]: each file's table, or how to
/// make it.
fn measured_sections(target: &Path) -> String {
    MEASURED.iter().map(|m| measured_section(m, &target.join(m.file))).collect()
}

/// One section: the table in `file`, or how to make it.
fn measured_section(m: &Measured, file: &Path) -> String {
    let mut s = format!("\n## {}\n\n", m.title);
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut lines = text.lines().map(|l| l.split('\t').collect::<Vec<_>>());
    let Some(head) = lines.next().filter(|h| h.len() > 1) else {
        let _ = writeln!(s, "Not measured in this run: {} writes `target/{}`.", m.how, m.file);
        return s;
    };
    let _ = writeln!(s, "{} ({} wrote it.)\n", m.about, m.how);
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(s, "|{}", " --- |".repeat(head.len()));
    for cells in lines.filter(|c| c.len() == head.len()) {
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{measured_section, MEASURED};

    #[test]
    fn a_measured_section_shows_the_script_s_table_or_how_to_make_it() {
        let dir = std::env::temp_dir().join(format!("measured-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("footprint.tsv");
        assert!(measured_section(&MEASURED[0], &file).contains("bash firmware/footprint.sh"));
        std::fs::write(&file, "heap\tflash\tram\tdata\ntlsf\t4200\t2752\t0\nbad line\n").unwrap();
        let s = measured_section(&MEASURED[0], &file);
        assert!(s.contains("| heap | flash | ram | data |"), "{s}");
        assert!(s.contains("| tlsf | 4200 | 2752 | 0 |"), "{s}");
        assert!(!s.contains("bad line"), "{s}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
