//! The two reports as pictures, for platforms that show images: the metrics
//! answer as deployments per day per environment (stacked by outcome) over a
//! mean-time-to-restore trend, and the history answer as a timeline with one
//! bar per deployment. The numbers come from [`crate::store::report`] exactly
//! as the tables get them, so a picture never says something its table does
//! not.
//!
//! Every input draws something: an empty report says "no deployments in this
//! period", ten years of days are grouped into weeks, months or quarters so a
//! bar stays wide enough to see, and counts or timestamps no sane store holds
//! still give a picture rather than a panic. The font is built into the binary
//! because a server (or a container) may have none installed.

use std::sync::LazyLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::intent::slots::is_invisible;
use crate::store::report::{DAY_MS, HistorySummary, Metrics};
use crate::store::{Deployment, DeploymentState};

/// Width and height of [`metrics_chart`]'s picture, in pixels.
pub const METRICS_SIZE: (u32, u32) = (1000, 600);

/// Width and height of [`history_timeline`]'s picture, in pixels.
pub const TIMELINE_SIZE: (u32, u32) = (1000, 600);

/// What an empty report draws instead of axes.
pub const EMPTY: &str = "no deployments in this period";

/// Most bars across the metrics chart: beyond this many days, days are
/// grouped (weeks, then 30 days, quarters, years) so a bar stays several
/// pixels wide and its date label readable.
pub const MAX_BARS: i64 = 60;

/// Most environments with a panel of their own; the rest share the last one,
/// so four panels of at least ~80 pixels fit above the MTTR trend.
pub const MAX_PANELS: usize = 4;

/// Most deployments on the timeline (the newest); a row stays tall enough
/// for its label.
pub const MAX_ROWS: usize = 25;

/// The longest version or environment name drawn; longer ones end in `…`.
const MAX_LABEL_CHARS: usize = 24;

const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FONT: &str = "sans-serif";

const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
const INK: RGBColor = RGBColor(36, 41, 47);
const MUTED: RGBColor = RGBColor(101, 109, 118);
const GRID: RGBColor = RGBColor(225, 228, 232);

// Outcome colours: the bars, the timeline and the legend use exactly these,
// and no other element does, so a test can tell from the pixels which outcomes
// a picture shows.
const SUCCEEDED: RGBColor = RGBColor(45, 164, 78);
const FAILED: RGBColor = RGBColor(207, 34, 46);
const ROLLED_BACK: RGBColor = RGBColor(191, 135, 0);
const ABORTED: RGBColor = RGBColor(140, 149, 159);
const UNFINISHED: RGBColor = RGBColor(84, 174, 255);

/// One colour per environment panel, for its name and its MTTR line; none is
/// an outcome colour.
const ENV_COLOURS: [RGBColor; MAX_PANELS] = [
    RGBColor(9, 105, 218),
    RGBColor(130, 80, 223),
    RGBColor(27, 124, 131),
    RGBColor(191, 57, 137),
];

/// What a metrics bar stacks, bottom to top: the three outcomes the issue
/// asks for, then aborted (a person's decision, but a deployment of the day
/// all the same) and those still under way, so a bar is as tall as the
/// table's Deployments column counts.
const STACK: [(&str, RGBColor); 5] = [
    ("succeeded", SUCCEEDED),
    ("failed", FAILED),
    ("rolled back", ROLLED_BACK),
    ("aborted", ABORTED),
    ("in progress", UNFINISHED),
];

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The embedded font did not load: a broken build, not bad data.
    #[error("the embedded chart font could not be loaded")]
    Font,
    #[error("drawing the chart: {0}")]
    Draw(String),
    #[error("encoding the chart as PNG: {0}")]
    Encode(String),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> ChartError {
        ChartError::Draw(e.to_string())
    }
}

/// The metrics report as a PNG of [`METRICS_SIZE`]: per environment a panel
/// of stacked bars per day (or week, ...) by outcome, and under them the mean
/// time to restore per day for each environment.
pub fn metrics_chart(report: &Metrics) -> Result<Vec<u8>, ChartError> {
    let plan = MetricsPlan::of(report);
    png(METRICS_SIZE, |root| draw_metrics(root, &plan))
}

/// The history report as a PNG of [`TIMELINE_SIZE`]: the newest
/// [`MAX_ROWS`] deployments, one row each, a bar from start to finish (to
/// `now` while it runs) coloured by outcome and labelled with the version.
/// `env` is the environment asked about, for the title (`None`: all).
pub fn history_timeline(
    summary: &HistorySummary,
    env: Option<&str>,
    now: i64,
) -> Result<Vec<u8>, ChartError> {
    png(TIMELINE_SIZE, |root| draw_timeline(root, summary, env, now))
}

type Root<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Draws with `draw` on a white picture of `size` and returns it as PNG.
fn png<F>(size: (u32, u32), draw: F) -> Result<Vec<u8>, ChartError>
where
    F: FnOnce(&Root<'_>) -> Result<(), ChartError>,
{
    if !*FONT_LOADED {
        return Err(ChartError::Font);
    }
    // Drawn into an RGB buffer and encoded in memory: no file is written.
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&BACKGROUND)?;
        draw(&root)?;
        root.present()?;
    }
    let mut out = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut out, size.0, size.1);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    let encode = |e: ::png::EncodingError| ChartError::Encode(e.to_string());
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(&pixels).map_err(encode)?;
    writer.finish().map_err(encode)?;
    Ok(out)
}

/// Registered once per process; every chart after a failure fails the same way.
static FONT_LOADED: LazyLock<bool> =
    LazyLock::new(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());

// ---------------------------------------------------------------------------
// Metrics

/// The metrics chart's data, grouped into bars before anything is drawn.
struct MetricsPlan {
    title: String,
    buckets: Buckets,
    panels: Vec<Panel>,
    /// Which of [`STACK`] occur anywhere, for the legend.
    present: [bool; 5],
}

/// One environment's row of bars (or several environments', in the last
/// panel when there are more than [`MAX_PANELS`]).
struct Panel {
    name: String,
    colour: RGBColor,
    /// Per bucket: counts in [`STACK`] order.
    bars: Vec<[u64; 5]>,
    /// Per bucket: (sum of restore times in ms, how many) for the MTTR mean.
    restores: Vec<(i128, u64)>,
}

impl MetricsPlan {
    fn of(report: &Metrics) -> MetricsPlan {
        let buckets = Buckets::of(report.from, report.to);
        // Environments in the report's order (promotion order), then any that
        // only the daily list names.
        let mut envs: Vec<&str> = report.per_env.iter().map(|e| e.env.as_str()).collect();
        for day in &report.daily {
            if !envs.contains(&day.env.as_str()) {
                envs.push(&day.env);
            }
        }
        let own = if envs.len() > MAX_PANELS {
            MAX_PANELS - 1
        } else {
            envs.len()
        };
        let mut panels: Vec<Panel> = envs[..own]
            .iter()
            .enumerate()
            .map(|(i, env)| Panel::new(label(env), ENV_COLOURS[i], buckets.count))
            .collect();
        if envs.len() > own {
            panels.push(Panel::new(
                format!("{} others", envs.len() - own),
                ENV_COLOURS[own],
                buckets.count,
            ));
        }
        let mut present = [false; 5];
        for day in &report.daily {
            let Some(i) = buckets.index(day.day) else {
                continue;
            };
            let panel = envs
                .iter()
                .position(|e| *e == day.env)
                .map_or(own, |p| p.min(own));
            let Some(panel) = panels.get_mut(panel) else {
                continue;
            };
            let finished = [day.succeeded, day.failed, day.rolled_back, day.aborted]
                .iter()
                .fold(0usize, |a, &b| a.saturating_add(b));
            let counts = [
                day.succeeded,
                day.failed,
                day.rolled_back,
                day.aborted,
                day.deployments.saturating_sub(finished),
            ];
            for (k, count) in counts.into_iter().enumerate() {
                let count = u64::try_from(count).unwrap_or(u64::MAX);
                panel.bars[i][k] = panel.bars[i][k].saturating_add(count);
                present[k] |= count > 0;
            }
            if let Some(mttr) = day.mttr_ms
                && day.restored > 0
            {
                let n = u64::try_from(day.restored).unwrap_or(u64::MAX);
                let (sum, count) = &mut panel.restores[i];
                *sum = sum.saturating_add(i128::from(mttr).saturating_mul(i128::from(n)));
                *count = count.saturating_add(n);
            }
        }
        let title = format!(
            "Deployments per {}, {} to {}",
            buckets.unit(),
            date(report.from),
            date(report.to.saturating_sub(1).max(report.from)),
        );
        MetricsPlan {
            title,
            buckets,
            panels,
            present,
        }
    }

    /// The tallest stack of any panel (all panels share one scale, so a
    /// short bar in prd reads as fewer deployments than a tall one in dev).
    fn tallest(&self) -> u64 {
        self.panels
            .iter()
            .flat_map(|p| &p.bars)
            .map(|bar| bar.iter().fold(0u64, |a, &b| a.saturating_add(b)))
            .max()
            .unwrap_or(0)
    }
}

impl Panel {
    fn new(name: String, colour: RGBColor, buckets: usize) -> Panel {
        Panel {
            name,
            colour,
            bars: vec![[0; 5]; buckets],
            restores: vec![(0, 0); buckets],
        }
    }

    /// Mean time to restore per bucket, in ms, where any failure was restored.
    fn mttr(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.restores
            .iter()
            .enumerate()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(i, (sum, n))| (i, *sum as f64 / *n as f64))
    }
}

/// The window cut into bars: `count` buckets of `days` UTC days from
/// `first_day` (days since the epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Buckets {
    first_day: i64,
    days: i64,
    count: usize,
}

impl Buckets {
    /// The calendar days of `[from, to)`: the day of `from` through the day of
    /// its last millisecond, as the table's "from - to" dates read.
    fn of(from: i64, to: i64) -> Buckets {
        let first_day = from.div_euclid(DAY_MS);
        let last_day = to.saturating_sub(1).max(from).div_euclid(DAY_MS);
        let span = last_day.saturating_sub(first_day).saturating_add(1).max(1);
        let days = [1, 7, 30, 91, 365]
            .into_iter()
            .find(|&d| div_ceil(span, d) <= MAX_BARS)
            .unwrap_or_else(|| div_ceil(div_ceil(span, MAX_BARS), 365).saturating_mul(365));
        let count = usize::try_from(div_ceil(span, days)).unwrap_or(1).max(1);
        Buckets {
            first_day,
            days,
            count,
        }
    }

    /// The bucket of the day starting at `day_ms`, if in the window.
    fn index(&self, day_ms: i64) -> Option<usize> {
        let offset = day_ms.div_euclid(DAY_MS).checked_sub(self.first_day)?;
        let i = usize::try_from(offset.div_euclid(self.days)).ok()?;
        (offset >= 0 && i < self.count).then_some(i)
    }

    /// The first millisecond of bucket `i`.
    fn start(&self, i: usize) -> i64 {
        let i = i64::try_from(i).unwrap_or(i64::MAX);
        self.first_day
            .saturating_add(i.saturating_mul(self.days))
            .saturating_mul(DAY_MS)
    }

    fn unit(&self) -> &'static str {
        match self.days {
            1 => "day",
            7 => "week",
            30 => "30 days",
            91 => "quarter",
            365 => "year",
            _ => "period",
        }
    }

    /// The label under bucket `i`: short, because up to ten share the axis.
    fn label(&self, i: usize) -> String {
        let (year, month, day) = civil(self.start(i));
        match self.days {
            1 | 7 => format!("{} {day}", MONTHS[month as usize - 1]),
            30 | 91 => format!("{} {year}", MONTHS[month as usize - 1]),
            _ => year.to_string(),
        }
    }

    /// Bucket centres to label, at most ten, evenly spaced.
    fn labelled(&self) -> Vec<f64> {
        let every = self.count.div_ceil(10).max(1);
        (0..self.count)
            .step_by(every)
            .map(|i| i as f64 + 0.5)
            .collect()
    }
}

fn draw_metrics(root: &Root<'_>, plan: &MetricsPlan) -> Result<(), ChartError> {
    let (body, legend_right) = title_row(root, &plan.title)?;
    let legend: Vec<(&str, RGBColor)> = STACK
        .iter()
        .zip(plan.present)
        .filter(|(_, present)| *present)
        .map(|(entry, _)| *entry)
        .collect();
    draw_legend(root, legend_right, &legend)?;
    if plan.panels.is_empty() {
        return empty(&body);
    }

    let (bars, trend) = body.split_vertically(body.dim_in_pixel().1.saturating_sub(190));
    let rows = bars.split_evenly((plan.panels.len(), 1));
    let tallest = plan.tallest();
    for (panel, area) in plan.panels.iter().zip(&rows) {
        draw_panel(area, panel, &plan.buckets, tallest)?;
    }
    draw_trend(&trend, plan)
}

/// The title across the top; returns the area under it and the x where a
/// legend may end (the right edge, less the margin).
fn title_row<'a>(root: &Root<'a>, title: &str) -> Result<(Root<'a>, i32), ChartError> {
    let (width, _) = root.dim_in_pixel();
    let (head, body) = root.split_vertically(44);
    head.draw(&Text::new(
        title.to_string(),
        (16, 14),
        text(18).color(&INK),
    ))?;
    Ok((body, i32::try_from(width).unwrap_or(i32::MAX) - 16))
}

/// Swatches and names, right-aligned to `right` on the title row.
fn draw_legend(
    root: &Root<'_>,
    right: i32,
    entries: &[(&str, RGBColor)],
) -> Result<(), ChartError> {
    let style = text(13).color(&INK);
    let mut x = right;
    for (name, colour) in entries.iter().rev() {
        let (w, _) = root.estimate_text_size(name, &style)?;
        x -= i32::try_from(w).unwrap_or(0);
        root.draw(&Text::new(name.to_string(), (x, 17), style.clone()))?;
        x -= 18;
        root.draw(&Rectangle::new([(x, 16), (x + 12, 28)], colour.filled()))?;
        x -= 16;
    }
    Ok(())
}

fn empty(area: &Root<'_>) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let style = text(22)
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        EMPTY,
        (
            i32::try_from(w / 2).unwrap_or(0),
            i32::try_from(h / 2).unwrap_or(0),
        ),
        style,
    ))?;
    Ok(())
}

/// Space left of the plots for the y labels; the same in every panel so the
/// bars of one day line up from top to bottom.
const Y_LABELS: u32 = 64;
const RIGHT_MARGIN: u32 = 36;

fn draw_panel(
    area: &Root<'_>,
    panel: &Panel,
    buckets: &Buckets,
    tallest: u64,
) -> Result<(), ChartError> {
    let (ticks, top) = ticks(tallest as f64, 3, true);
    let n = buckets.count as f64;
    let mut chart = ChartBuilder::on(area)
        .margin_top(20)
        .margin_bottom(4)
        .margin_right(RIGHT_MARGIN)
        .y_label_area_size(Y_LABELS)
        .build_cartesian_2d(Axis::new(0.0, n, Vec::new()), Axis::new(0.0, top, ticks))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .y_label_style(text(12).color(&MUTED))
        .y_label_formatter(&|v| compact(*v))
        .draw()?;
    area.draw(&Text::new(
        panel.name.clone(),
        (i32::try_from(Y_LABELS).unwrap_or(0), 3),
        text(14).color(&panel.colour),
    ))?;
    // Bars fill 70% of their slot, but no more than 60 pixels: one day's
    // single bar should not look like a wall.
    let (plot_width, _) = chart.plotting_area().dim_in_pixel();
    let slot = f64::from(plot_width.max(1)) / n;
    let half = 0.35f64.min(30.0 / slot);
    chart.draw_series(panel.bars.iter().enumerate().flat_map(|(i, bar)| {
        let x = i as f64 + 0.5;
        let mut base = 0f64;
        bar.iter()
            .zip(STACK)
            .filter(|(count, _)| **count > 0)
            .map(move |(&count, (_, colour))| {
                let low = base;
                base += count as f64;
                Rectangle::new([(x - half, low), (x + half, base)], colour.filled())
            })
            .collect::<Vec<_>>()
    }))?;
    Ok(())
}

/// The MTTR panel: one line per environment over the buckets with a restored
/// failure, and the shared date axis.
fn draw_trend(area: &Root<'_>, plan: &MetricsPlan) -> Result<(), ChartError> {
    let longest = plan
        .panels
        .iter()
        .flat_map(Panel::mttr)
        .map(|(_, ms)| ms)
        .fold(0f64, f64::max);
    let restored = plan.panels.iter().any(|p| p.mttr().next().is_some());
    let (unit, per_unit) = time_unit(longest);
    let (mut ticks, top) = ticks(longest / per_unit, 3, false);
    if !restored {
        // An empty axis says nothing; the sentence below says why.
        ticks.clear();
    }
    let buckets = plan.buckets;
    let mut chart = ChartBuilder::on(area)
        .margin_top(36)
        .margin_bottom(8)
        .margin_right(RIGHT_MARGIN)
        .y_label_area_size(Y_LABELS)
        .x_label_area_size(26)
        .build_cartesian_2d(
            Axis::new(0.0, buckets.count as f64, buckets.labelled()),
            Axis::new(0.0, top, ticks),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(text(12).color(&MUTED))
        .x_label_formatter(&|v| buckets.label(v.max(0.0) as usize))
        .y_label_formatter(&|v| compact(*v))
        .draw()?;

    let caption = format!("Mean time to restore, {unit}");
    let style = text(14).color(&INK);
    let (w, _) = area.estimate_text_size(&caption, &style)?;
    let x0 = i32::try_from(Y_LABELS).unwrap_or(0);
    area.draw(&Text::new(caption, (x0, 12), style))?;
    let entries: Vec<(&str, RGBColor)> = plan
        .panels
        .iter()
        .map(|p| (p.name.as_str(), p.colour))
        .collect();
    let mut x = x0 + i32::try_from(w).unwrap_or(0) + 24;
    for (name, colour) in entries {
        area.draw(&PathElement::new(
            vec![(x, 19), (x + 18, 19)],
            colour.stroke_width(2),
        ))?;
        area.draw(&Text::new(
            name.to_string(),
            (x + 24, 12),
            text(13).color(&INK),
        ))?;
        let (w, _) = area.estimate_text_size(name, &text(13))?;
        x += i32::try_from(w).unwrap_or(0) + 44;
    }

    if !restored {
        let (w, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            "no failed deployment was restored in this period",
            (
                i32::try_from(w / 2).unwrap_or(0),
                i32::try_from(h / 2).unwrap_or(0),
            ),
            text(14)
                .color(&MUTED)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        return Ok(());
    }
    for panel in &plan.panels {
        let points: Vec<(f64, f64)> = panel
            .mttr()
            .map(|(i, ms)| (i as f64 + 0.5, ms / per_unit))
            .collect();
        chart.draw_series(LineSeries::new(
            points.clone(),
            panel.colour.stroke_width(2),
        ))?;
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, panel.colour.filled())),
        )?;
    }
    Ok(())
}

/// The unit MTTR reads best in for a longest value of `ms`: its name and
/// its length in ms.
fn time_unit(ms: f64) -> (&'static str, f64) {
    const HOUR: f64 = 3_600_000.0;
    if ms < 2.0 * HOUR {
        ("minutes", 60_000.0)
    } else if ms < 72.0 * HOUR {
        ("hours", HOUR)
    } else {
        ("days", 24.0 * HOUR)
    }
}

// ---------------------------------------------------------------------------
// Timeline

/// One deployment on the timeline.
struct Bar {
    label: String,
    text: String,
    start: f64,
    end: f64,
    colour: RGBColor,
}

fn bar(d: &Deployment, with_env: bool, now: i64) -> Bar {
    let start = d.started_at.unwrap_or(d.created_at);
    let end = d.finished_at.unwrap_or(now).max(start);
    // As `Deployment::duration_ms`, but saturating: a row from anywhere
    // may hold any two timestamps.
    let how_long = match d.finished_at {
        Some(finished) => duration(finished.saturating_sub(start)),
        None => d.state.as_str().to_string(),
    };
    Bar {
        label: if with_env {
            format!("#{} {}", d.id, label(&d.env))
        } else {
            format!("#{}", d.id)
        },
        text: format!("{} · {how_long}", label(&d.version)),
        start: start as f64,
        end: end as f64,
        colour: state_colour(d.state),
    }
}

fn state_colour(state: DeploymentState) -> RGBColor {
    match state {
        DeploymentState::Succeeded => SUCCEEDED,
        DeploymentState::Failed => FAILED,
        DeploymentState::RolledBack => ROLLED_BACK,
        DeploymentState::Aborted => ABORTED,
        DeploymentState::Pending | DeploymentState::Running | DeploymentState::Paused => UNFINISHED,
    }
}

fn draw_timeline(
    root: &Root<'_>,
    summary: &HistorySummary,
    env: Option<&str>,
    now: i64,
) -> Result<(), ChartError> {
    let rows: Vec<&Deployment> = summary.rows.iter().take(MAX_ROWS).collect();
    let whose = env.map_or_else(|| "all environments".to_string(), label);
    let Some((first, last)) = rows
        .iter()
        .map(|d| d.started_at.unwrap_or(d.created_at))
        .min()
        .zip(rows.iter().map(|d| d.finished_at.unwrap_or(now)).max())
    else {
        let (body, _) = title_row(root, &format!("Deployment history of {whose}"))?;
        return empty(&body);
    };
    let shown = if summary.rows.len() > rows.len() {
        format!(", latest {} of {}", rows.len(), summary.rows.len())
    } else {
        String::new()
    };
    let title = format!(
        "Deployment history of {whose}, {} to {}{shown}",
        date(first),
        date(last.max(first)),
    );
    let (body, legend_right) = title_row(root, &title)?;
    let mut legend: Vec<(&str, RGBColor)> = Vec::new();
    for (name, state) in [
        ("succeeded", DeploymentState::Succeeded),
        ("failed", DeploymentState::Failed),
        ("rolled back", DeploymentState::RolledBack),
        ("aborted", DeploymentState::Aborted),
        ("in progress", DeploymentState::Running),
    ] {
        let colour = state_colour(state);
        if rows.iter().any(|d| state_colour(d.state) == colour) {
            legend.push((name, colour));
        }
    }
    draw_legend(root, legend_right, &legend)?;

    let bars: Vec<Bar> = rows.iter().map(|d| bar(d, env.is_none(), now)).collect();
    let (lo, hi) = (first as f64, last.max(first) as f64);
    // Room either side, and never a zero-width axis (one instant deployment).
    let pad = ((hi - lo) * 0.04).max(60_000.0);
    let (x0, x1) = (lo - pad, hi + pad);
    // Short rows at most ~1/8 of the height, so three deployments do not
    // become three slabs.
    let span = rows.len().max(8) as f64;
    let ticks = time_ticks(x0, x1);
    let step = ticks
        .get(1)
        .zip(ticks.first())
        .map_or(DAY_MS as f64, |(b, a)| b - a);
    let row_keys: Vec<f64> = (0..bars.len()).map(|r| span - r as f64 - 0.5).collect();
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    let mut chart = ChartBuilder::on(&body)
        .margin_top(8)
        .margin_bottom(8)
        .margin_right(RIGHT_MARGIN)
        .y_label_area_size(if env.is_none() { 120 } else { 56 })
        .x_label_area_size(26)
        .build_cartesian_2d(Axis::new(x0, x1, ticks), Axis::new(0.0, span, row_keys))?;
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(text(12).color(&MUTED))
        .x_label_formatter(&|v| time_label(*v, step))
        .y_label_formatter(&|v| {
            let r = (span - v - 0.5).round();
            if r >= 0.0 {
                labels.get(r as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .draw()?;

    let plot = chart.plotting_area();
    let (width, _) = plot.dim_in_pixel();
    // A bar is at least a few pixels wide, however short the deployment.
    let min_width = (x1 - x0) * 5.0 / f64::from(width.max(1));
    let style = text(12).color(&INK);
    for (r, b) in bars.iter().enumerate() {
        let y = span - r as f64 - 0.5;
        let end = b.end.max(b.start + min_width);
        plot.draw(&Rectangle::new(
            [(b.start, y - 0.3), (end, y + 0.3)],
            b.colour.filled(),
        ))?;
        // The label right of the bar; left of it when it does not fit there
        // (a bar near the right edge) and there is more room on the left.
        let (text_width, _) = plot.estimate_text_size(&b.text, &style)?;
        let text_width = i32::try_from(text_width).unwrap_or(0);
        let (bar_left, y_px) = chart.backend_coord(&(b.start, y));
        let (bar_right, _) = chart.backend_coord(&(end, y));
        let (plot_left, _) = chart.backend_coord(&(x0, y));
        let (plot_right, _) = chart.backend_coord(&(x1, y));
        let (room_right, room_left) = (plot_right - bar_right, bar_left - plot_left);
        let (x, pos) = if room_right >= text_width + 6 || room_right >= room_left {
            (bar_right + 6, HPos::Left)
        } else {
            (bar_left - 6, HPos::Right)
        };
        root.draw(&Text::new(
            b.text.clone(),
            (x, y_px),
            style.clone().pos(Pos::new(pos, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// Tick positions of a time axis over `[x0, x1]` (ms): whole multiples of a
/// step from one minute to years, at most about eight.
fn time_ticks(x0: f64, x1: f64) -> Vec<f64> {
    const MIN: f64 = 60_000.0;
    const HOUR: f64 = 60.0 * MIN;
    const DAY: f64 = 24.0 * HOUR;
    let span = (x1 - x0).max(1.0);
    let step = [
        MIN,
        5.0 * MIN,
        15.0 * MIN,
        30.0 * MIN,
        HOUR,
        3.0 * HOUR,
        6.0 * HOUR,
        12.0 * HOUR,
        DAY,
        2.0 * DAY,
        7.0 * DAY,
        14.0 * DAY,
        30.0 * DAY,
        91.0 * DAY,
        365.0 * DAY,
    ]
    .into_iter()
    .find(|s| span / s <= 8.0)
    .unwrap_or_else(|| (span / 8.0 / (365.0 * DAY)).ceil() * 365.0 * DAY);
    let first = (x0 / step).ceil();
    (0..10)
        .map(|i| (first + f64::from(i)) * step)
        .take_while(|t| *t <= x1)
        .collect()
}

/// A time axis label: the time of day for steps under a day, else the date.
fn time_label(ms: f64, step: f64) -> String {
    let ms = ms.clamp(i64::MIN as f64, i64::MAX as f64) as i64;
    let (year, month, day) = civil(ms);
    let month = MONTHS[month as usize - 1];
    if step < DAY_MS as f64 {
        let minutes = ms.rem_euclid(DAY_MS) / 60_000;
        format!("{month} {day} {:02}:{:02}", minutes / 60, minutes % 60)
    } else if step < 30.0 * DAY_MS as f64 {
        format!("{month} {day}")
    } else {
        format!("{month} {year}")
    }
}

// ---------------------------------------------------------------------------
// Shared helpers

/// A linear axis over `[from, to)` with ticks exactly at `keys`. plotters'
/// `with_key_points` does the same but loses the label formatter for `f64`;
/// ticks of our own keep dates on day boundaries and counts whole.
struct Axis {
    linear: RangedCoordf64,
    keys: Vec<f64>,
}

impl Axis {
    fn new(from: f64, to: f64, keys: Vec<f64>) -> Axis {
        Axis {
            linear: (from..to).into(),
            keys,
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // No light (minor) lines: the bold ones are the ticks.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.keys.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.linear.range()
    }
}

/// `a / b` rounded up, for `a >= 0` and `b > 0` (`i64::div_ceil` is unstable).
fn div_ceil(a: i64, b: i64) -> i64 {
    a / b + i64::from(a % b != 0)
}

fn text(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// Tick values from 0 for a largest value of `max`: about `target` steps of
/// 1, 2 or 5 times a power of ten (whole numbers only for counts), through
/// the first tick at or above `max`; and the top of the axis just above that
/// tick, so the tallest bar has a labelled line at or above it.
fn ticks(max: f64, target: u32, whole: bool) -> (Vec<f64>, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / f64::from(target.max(1));
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    if whole {
        step = step.max(1.0).round();
    }
    let mut ticks = Vec::new();
    for i in 0..=target + 2 {
        let tick = f64::from(i) * step;
        if !tick.is_finite() {
            break;
        }
        ticks.push(tick);
        if tick >= max * 0.999_999 {
            break;
        }
    }
    let top = ticks.last().copied().unwrap_or(max).max(max) * 1.06;
    (ticks, if top.is_finite() { top } else { f64::MAX })
}

/// A tick label: whole numbers as such, large ones shortened (`12k`), small
/// fractions with one decimal.
fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e15 {
        format!("{:.0e}", v)
    } else if a >= 1e12 {
        format!("{:.0}T", v / 1e12)
    } else if a >= 1e9 {
        format!("{:.0}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.0}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Stored text (an environment, a version) as one short line: control and
/// invisible characters become spaces, and it ends in `…` past
/// [`MAX_LABEL_CHARS`].
fn label(text: &str) -> String {
    let plain: String = text
        .chars()
        .map(|c| {
            if c.is_control() || is_invisible(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut out = String::new();
    for (i, c) in plain.trim().chars().enumerate() {
        if i == MAX_LABEL_CHARS {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `YYYY-MM-DD` (UTC) of `ms`, as the report tables print dates.
fn date(ms: i64) -> String {
    let (year, month, day) = civil(ms);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The UTC (year, month 1-12, day 1-31) of `ms` since the epoch: Howard
/// Hinnant's `civil_from_days`, the same algorithm (and proof of range) as
/// the report tables' `format::civil_from_days`, which is private to them.
fn civil(ms: i64) -> (i64, u32, u32) {
    let z = ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // In [1, 12] and [1, 31] by construction.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// A duration as the tables print it: `12m 03s`.
fn duration(ms: i64) -> String {
    super::report::format::duration(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::Strategy;
    use crate::store::report::{DayMetrics, EnvMetrics};
    use crate::store::{NewDeployment, Store};

    /// 2026-01-01T00:00:00Z.
    const T0: i64 = 1_767_225_600_000;
    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    /// A decoded chart.
    struct Picture {
        size: (u32, u32),
        pixels: Vec<[u8; 3]>,
    }

    impl Picture {
        fn decode(bytes: &[u8]) -> Picture {
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let mut reader = decoder.read_info().expect("a PNG header");
            let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
            let info = reader.next_frame(&mut buf).expect("a PNG frame");
            let channels = match info.color_type {
                png::ColorType::Rgb => 3,
                png::ColorType::Rgba => 4,
                other => panic!("unexpected colour type {other:?}"),
            };
            assert_eq!(info.bit_depth, png::BitDepth::Eight);
            let pixels = buf[..info.buffer_size()]
                .chunks_exact(channels)
                .map(|p| [p[0], p[1], p[2]])
                .collect();
            Picture {
                size: (info.width, info.height),
                pixels,
            }
        }

        fn count(&self, colour: RGBColor) -> usize {
            let RGBColor(r, g, b) = colour;
            self.pixels.iter().filter(|p| **p == [r, g, b]).count()
        }

        /// Share of pixels that are not the background.
        fn ink(&self) -> f64 {
            let background = self.pixels.len() - self.count(BACKGROUND);
            background as f64 / self.pixels.len() as f64
        }
    }

    /// Keeps the picture for a person to look at when
    /// `SWITCHYARD_CHART_DIR` names a directory.
    fn keep(name: &str, bytes: &[u8]) {
        if let Some(dir) = std::env::var_os("SWITCHYARD_CHART_DIR") {
            let dir = std::path::PathBuf::from(dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
        }
    }

    /// (env, version, outcome, created, minutes to finish)
    type Row<'a> = (&'a str, &'a str, DeploymentState, i64, i64);

    /// A store holding `rows`, each created, started a minute later and
    /// (unless still running) finished with its outcome.
    async fn store_with(rows: &[Row<'_>]) -> Store {
        let store = Store::open("sqlite::memory:").await.unwrap();
        for &(env, version, state, created, minutes) in rows {
            let id = store
                .create_deployment(&NewDeployment {
                    env: env.into(),
                    service: "storefront-api".into(),
                    version: version.into(),
                    previous_version: None,
                    strategy: Strategy::BlueGreen,
                    requested_by: "alice".into(),
                    approvers: vec![],
                    emergency: false,
                    created_at: created,
                    live_colour: None,
                    new_colour: None,
                })
                .await
                .unwrap();
            store.start(id, created + MIN).await.unwrap();
            if state.is_final() {
                store
                    .finish(id, state, Some("analysis"), created + minutes * MIN)
                    .await
                    .unwrap();
            }
        }
        store
    }

    fn promotion_order(env: &str) -> Option<usize> {
        ["dev", "tst", "prd"].iter().position(|e| *e == env)
    }

    /// A week of the pipeline: every outcome but aborted, and a failure in
    /// prd restored the next day.
    fn a_week() -> Vec<Row<'static>> {
        use DeploymentState::*;
        let day = DAY_MS;
        vec![
            ("dev", "1.3.0", Succeeded, T0 + 9 * HOUR, 8),
            ("dev", "1.3.1", Failed, T0 + day + 10 * HOUR, 4),
            ("dev", "1.3.1", Succeeded, T0 + day + 14 * HOUR, 9),
            ("tst", "1.3.0", Succeeded, T0 + day + 11 * HOUR, 12),
            ("tst", "1.3.1", RolledBack, T0 + 3 * day + 9 * HOUR, 15),
            ("tst", "1.3.2", Succeeded, T0 + 3 * day + 13 * HOUR, 11),
            ("prd", "1.3.0", Succeeded, T0 + 2 * day + 16 * HOUR, 22),
            ("prd", "1.3.2", Failed, T0 + 4 * day + 15 * HOUR, 6),
            ("prd", "1.3.2", Succeeded, T0 + 5 * day + 10 * HOUR, 21),
            ("dev", "1.4.0", Succeeded, T0 + 6 * day + 9 * HOUR, 7),
            ("dev", "1.4.1", Running, T0 + 6 * day + 18 * HOUR, 0),
        ]
    }

    async fn metrics_of(rows: &[Row<'_>], now: i64, days: u32) -> Metrics {
        store_with(rows)
            .await
            .metrics_report(None, days, now, promotion_order)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_metrics_chart_is_a_png_of_the_fixed_size_with_a_colour_per_outcome_present() {
        let m = metrics_of(&a_week(), T0 + 7 * DAY_MS, 7).await;
        let bytes = metrics_chart(&m).unwrap();
        keep("metrics-week", &bytes);
        let picture = Picture::decode(&bytes);
        assert_eq!(picture.size, METRICS_SIZE);
        assert!(picture.ink() > 0.03, "mostly blank: {}", picture.ink());
        for (name, colour) in [
            ("succeeded", SUCCEEDED),
            ("failed", FAILED),
            ("rolled back", ROLLED_BACK),
        ] {
            assert!(picture.count(colour) > 500, "no {name} bars");
        }
        // dev 1.4.1 is still running: it counts, in its own colour.
        assert!(picture.count(UNFINISHED) > 100);
        // Nothing was aborted: not even its legend swatch is drawn.
        assert_eq!(picture.count(ABORTED), 0);
        // The MTTR lines, in the colours of dev and prd.
        assert!(picture.count(ENV_COLOURS[0]) > 100);
        assert!(picture.count(ENV_COLOURS[2]) > 100);
    }

    #[tokio::test]
    async fn an_outcome_that_did_not_happen_has_no_colour_in_the_chart() {
        let good: Vec<Row<'_>> = a_week()
            .into_iter()
            .filter(|r| r.2 == DeploymentState::Succeeded)
            .collect();
        let m = metrics_of(&good, T0 + 7 * DAY_MS, 7).await;
        let bytes = metrics_chart(&m).unwrap();
        keep("metrics-all-good", &bytes);
        let picture = Picture::decode(&bytes);
        assert_eq!(picture.size, METRICS_SIZE);
        assert!(picture.count(SUCCEEDED) > 500);
        for colour in [FAILED, ROLLED_BACK, ABORTED, UNFINISHED] {
            assert_eq!(picture.count(colour), 0, "{colour:?}");
        }
    }

    #[tokio::test]
    async fn an_empty_report_still_draws_a_picture_that_says_so() {
        let m = metrics_of(&[], T0, 7).await;
        let bytes = metrics_chart(&m).unwrap();
        keep("metrics-empty", &bytes);
        let picture = Picture::decode(&bytes);
        assert_eq!(picture.size, METRICS_SIZE);
        let ink = picture.ink();
        assert!(ink > 0.002 && ink < 0.05, "title and sentence only: {ink}");
        for colour in [SUCCEEDED, FAILED, ROLLED_BACK, ABORTED, UNFINISHED] {
            assert_eq!(picture.count(colour), 0);
        }
    }

    #[test]
    fn long_windows_are_grouped_so_there_are_never_more_than_sixty_bars() {
        let window = |days: i64| Buckets::of(T0 - days * DAY_MS, T0);
        assert_eq!((window(1).days, window(1).count), (1, 1));
        assert_eq!((window(60).days, window(60).count), (1, 60));
        assert_eq!(window(61).days, 7);
        assert_eq!(window(3650).days, 91);
        // A window that does not start at midnight covers one more date, as
        // the table's "from - to" does.
        assert_eq!(Buckets::of(T0 + HOUR, T0 + 7 * DAY_MS + HOUR).count, 8);
        for buckets in [
            window(3650),
            Buckets::of(i64::MIN, i64::MAX),
            Buckets::of(i64::MAX, i64::MIN),
            Buckets::of(0, 0),
        ] {
            assert!(
                (1..=MAX_BARS as usize).contains(&buckets.count),
                "{buckets:?}"
            );
        }
        let ten_years = window(3650);
        assert_eq!(ten_years.index(T0 - 3650 * DAY_MS), Some(0));
        assert_eq!(ten_years.index(T0 - DAY_MS), Some(ten_years.count - 1));
        assert_eq!(ten_years.index(T0 - 3651 * DAY_MS), None);
    }

    #[tokio::test]
    async fn one_day_and_ten_years_both_draw() {
        let m = metrics_of(&a_week(), T0 + 7 * DAY_MS, 1).await;
        let bytes = metrics_chart(&m).unwrap();
        keep("metrics-one-day", &bytes);
        assert_eq!(Picture::decode(&bytes).size, METRICS_SIZE);

        // Ten years with a deployment every ninth day (two per bar).
        let rows: Vec<Row<'_>> = (0..400)
            .map(|i| {
                let state = if i % 7 == 0 {
                    DeploymentState::Failed
                } else {
                    DeploymentState::Succeeded
                };
                (
                    ["dev", "tst", "prd"][i % 3],
                    "2.0.0",
                    state,
                    T0 - (i as i64) * 9 * DAY_MS,
                    10,
                )
            })
            .collect();
        let m = metrics_of(&rows, T0 + DAY_MS, 3650).await;
        let bytes = metrics_chart(&m).unwrap();
        keep("metrics-ten-years", &bytes);
        let picture = Picture::decode(&bytes);
        assert_eq!(picture.size, METRICS_SIZE);
        assert!(picture.count(SUCCEEDED) > 500 && picture.count(FAILED) > 100);
    }

    #[test]
    fn absurd_numbers_draw_a_picture_rather_than_panic() {
        let env = |name: &str| EnvMetrics {
            env: name.into(),
            deployments: usize::MAX,
            succeeded: usize::MAX,
            failed: usize::MAX,
            rolled_back: 0,
            aborted: 1,
            mttr_ms: Some(i64::MAX),
            deployment_frequency_per_day: f64::NAN,
            change_failure_rate: Some(f64::INFINITY),
        };
        let day = |at: i64, name: &str| DayMetrics {
            day: at,
            env: name.into(),
            deployments: usize::MAX,
            succeeded: usize::MAX,
            failed: usize::MAX,
            rolled_back: 0,
            aborted: 1,
            mttr_ms: Some(i64::MAX),
            restored: usize::MAX,
        };
        // Seven environments (three share a panel), one with a name of
        // control characters and a thousand letters.
        let names = ["a", "b", "c", "d", "e", "f", "\u{202e}\n\t"];
        let long = "x".repeat(1000);
        let mut per_env: Vec<EnvMetrics> = names.iter().map(|n| env(n)).collect();
        per_env.push(env(&long));
        let daily = vec![
            day(i64::MIN, "a"),
            day(0, &long),
            day(i64::MAX, "e"),
            day(T0, "not in per_env"),
        ];
        for (from, to) in [(i64::MIN, i64::MAX), (T0, T0), (T0, T0 - DAY_MS)] {
            let m = Metrics {
                from,
                to,
                per_env: per_env.clone(),
                recent: vec![],
                daily: daily.clone(),
            };
            let bytes = metrics_chart(&m).unwrap();
            keep(&format!("metrics-absurd-{}", from == to), &bytes);
            assert_eq!(Picture::decode(&bytes).size, METRICS_SIZE);
        }
    }

    #[tokio::test]
    async fn the_timeline_has_a_bar_per_deployment_in_the_colour_of_its_outcome() {
        let store = store_with(&a_week()).await;
        let now = T0 + 7 * DAY_MS;
        for env in [None, Some("dev")] {
            let summary = store.history_report(env, 10, now).await.unwrap();
            let bytes = history_timeline(&summary, env, now).unwrap();
            keep(&format!("timeline-{}", env.unwrap_or("all")), &bytes);
            let picture = Picture::decode(&bytes);
            assert_eq!(picture.size, TIMELINE_SIZE);
            assert!(picture.ink() > 0.02);
            assert!(picture.count(SUCCEEDED) > 100);
            assert!(picture.count(FAILED) > 50);
            assert!(picture.count(UNFINISHED) > 50, "dev 1.4.1 is still running");
            assert_eq!(picture.count(ABORTED), 0);
            let rolled_back = picture.count(ROLLED_BACK);
            // Only tst rolled back.
            assert_eq!(rolled_back > 0, env.is_none(), "{rolled_back}");
        }
    }

    #[tokio::test]
    async fn an_empty_history_draws_a_picture_that_says_so() {
        let store = store_with(&[]).await;
        let summary = store.history_report(Some("prd"), 10, T0).await.unwrap();
        let bytes = history_timeline(&summary, Some("prd"), T0).unwrap();
        keep("timeline-empty", &bytes);
        let picture = Picture::decode(&bytes);
        assert_eq!(picture.size, TIMELINE_SIZE);
        assert!(picture.ink() > 0.002);
    }

    #[test]
    fn a_timeline_of_odd_rows_still_draws() {
        let deployment = |id: i64, created: i64, finished: Option<i64>, state| Deployment {
            id,
            env: "\u{200b}prd\u{0007}".into(),
            service: "api".into(),
            version: "v".repeat(500),
            previous_version: None,
            strategy: Strategy::BlueGreen,
            requested_by: "alice".into(),
            approvers: vec![],
            emergency: false,
            created_at: created,
            started_at: None,
            finished_at: finished,
            state,
            state_changed_at: created,
            reason: None,
            live_colour: None,
            new_colour: None,
        };
        let cases = [
            // One instant deployment: zero duration, zero span.
            vec![deployment(1, T0, Some(T0), DeploymentState::Succeeded)],
            // The ends of time.
            vec![
                deployment(1, i64::MIN, Some(i64::MAX), DeploymentState::Failed),
                deployment(2, i64::MAX, None, DeploymentState::Pending),
            ],
            // More rows than fit: the newest MAX_ROWS are drawn.
            (0..100)
                .map(|i| {
                    deployment(
                        i,
                        T0 - i * HOUR,
                        Some(T0 - i * HOUR + MIN),
                        DeploymentState::Aborted,
                    )
                })
                .collect(),
        ];
        for (i, rows) in cases.into_iter().enumerate() {
            // Built by hand: `report::history` would average the durations.
            let summary = HistorySummary {
                rows,
                succeeded: 0,
                rated: 0,
                success_rate: None,
                average_duration_ms: None,
                rollbacks: 0,
                commits: Default::default(),
            };
            let bytes = history_timeline(&summary, None, T0).unwrap();
            keep(&format!("timeline-odd-{i}"), &bytes);
            assert_eq!(Picture::decode(&bytes).size, TIMELINE_SIZE);
        }
    }

    #[test]
    fn tick_labels_are_short_and_whole_for_counts() {
        assert_eq!(ticks(3.0, 3, true).0, [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(ticks(1.0, 3, true).0, [0.0, 1.0]);
        assert_eq!(ticks(0.0, 3, true).0, [0.0, 1.0]);
        assert_eq!(ticks(40.0, 3, true).0, [0.0, 20.0, 40.0]);
        // The tallest value has a labelled line above it.
        assert_eq!(ticks(19.2, 3, false).0, [0.0, 10.0, 20.0]);
        assert!(ticks(19.2, 3, false).1 > 20.0);
        let (huge, top) = ticks(f64::MAX, 3, true);
        assert!(huge.len() <= 6 && top.is_finite());
        assert_eq!(compact(12_000.0), "12k");
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(compact(3.0), "3");
        assert_eq!(label("\u{202e}1.3.0\n"), "1.3.0");
        assert_eq!(label(&"x".repeat(30)).chars().count(), MAX_LABEL_CHARS + 1);
    }
}
