//! PNG charts drawn in-process with plotters and the DejaVu Sans font kept
//! in `web/assets` (no system font library needed), coloured for Discord's
//! dark theme.
//!
//! The chart functions return a [`Chart`]: the drawing to do, owning its
//! data, run with [`Chart::render_blocking`] on a blocking thread so a big
//! chart never holds up the async runtime. The PNG is shared
//! ([`Bytes`]), never copied per retry of an upload.

use std::sync::{LazyLock, Once};

use axum::body::Bytes;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 480;

const BACKGROUND: RGBColor = RGBColor(0x2b, 0x2d, 0x31);
const TEXT: RGBColor = RGBColor(0xdb, 0xde, 0xe1);
const GRID: RGBColor = RGBColor(0x4e, 0x50, 0x58);
const GAP: RGBColor = RGBColor(0x80, 0x84, 0x8e);
pub const BLURPLE: RGBColor = RGBColor(0x58, 0x65, 0xf2);
pub const GREEN: RGBColor = RGBColor(0x57, 0xf2, 0x87);
pub const RED: RGBColor = RGBColor(0xed, 0x42, 0x45);
pub const YELLOW: RGBColor = RGBColor(0xfe, 0xe7, 0x5c);

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER_FONT: Once = Once::new();

fn ensure_font() {
    REGISTER_FONT.call_once(|| {
        if register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            tracing::error!("the bundled chart font did not load");
        }
    });
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing a chart failed: {0}")]
    Draw(String),
    #[error("encoding a chart as PNG failed: {0}")]
    Encode(#[from] png::EncodingError),
}

fn draw_error(error: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(error.to_string())
}

/// One line of a chart; `None` values are gaps (no data recorded).
#[derive(Clone)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
    pub color: RGBColor,
}

/// A forecast band drawn after the observed values: expected, low, high.
#[derive(Clone)]
pub struct Band {
    pub name: String,
    pub values: Vec<(f64, f64, f64)>,
}

/// Charts drawn at once: one per core.
static DRAWING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

type Draw = Box<dyn FnOnce() -> Result<Vec<u8>, ChartError> + Send>;

/// A chart still to be drawn.
pub struct Chart(Draw);

impl std::fmt::Debug for Chart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Chart")
    }
}

impl Chart {
    fn new(draw: impl FnOnce() -> Result<Vec<u8>, ChartError> + Send + 'static) -> Self {
        Self(Box::new(draw))
    }

    /// Draws the chart on this thread.
    pub fn render(self) -> Result<Bytes, ChartError> {
        (self.0)().map(Bytes::from)
    }

    /// Draws the chart on the runtime's blocking threads, at most as many
    /// at once as there are cores (each holds a frame of pixels).
    pub async fn render_blocking(self) -> Result<Bytes, ChartError> {
        let _turn = DRAWING
            .acquire()
            .await
            .map_err(|error| ChartError::Draw(error.to_string()))?;
        tokio::task::spawn_blocking(move || self.render())
            .await
            .map_err(|error| ChartError::Draw(format!("the drawing thread failed: {error}")))?
    }
}

fn render(
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), ChartError>,
) -> Result<Vec<u8>, ChartError> {
    ensure_font();
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&BACKGROUND).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(png_bytes)
}

fn text(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&TEXT)
}

/// Lines over labelled points (e.g. local days), missing values left blank,
/// points flagged in `gaps` (events lost) shaded, optionally followed by a
/// forecast band.
pub fn line_chart(
    title: &str,
    labels: &[String],
    series: &[Series],
    gaps: &[bool],
    band: Option<&Band>,
) -> Chart {
    let (title, labels, series, gaps) = (
        title.to_owned(),
        labels.to_vec(),
        series.to_vec(),
        gaps.to_vec(),
    );
    let band = band.cloned();
    Chart::new(move || draw_line_chart(&title, &labels, &series, &gaps, &[], band.as_ref()))
}

/// [`line_chart`] whose points flagged in `partial` cover only part of
/// their day or hour (the one in progress, or one the period cuts): they
/// are drawn lighter, apart from the whole ones, and labelled with their
/// flag (e.g. "so far"), so a partial last day never reads as a drop.
pub fn line_chart_partial(
    title: &str,
    labels: &[String],
    series: &[Series],
    gaps: &[bool],
    partial: &[Option<String>],
    band: Option<&Band>,
) -> Chart {
    let (title, labels, series, gaps, partial) = (
        title.to_owned(),
        labels.to_vec(),
        series.to_vec(),
        gaps.to_vec(),
        partial.to_vec(),
    );
    let band = band.cloned();
    Chart::new(move || draw_line_chart(&title, &labels, &series, &gaps, &partial, band.as_ref()))
}

fn draw_line_chart(
    title: &str,
    labels: &[String],
    series: &[Series],
    gaps: &[bool],
    partial: &[Option<String>],
    band: Option<&Band>,
) -> Result<Vec<u8>, ChartError> {
    let is_partial = |i: usize| partial.get(i).is_some_and(Option::is_some);
    let observed = labels.len();
    let total = observed + band.map_or(0, |b| b.values.len());
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .chain(band.into_iter().flat_map(|b| b.values.iter().map(|v| v.2)))
        .fold(1.0f64, f64::max);
    let min = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .fold(0.0f64, f64::min);
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, text(24))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..(total.max(2) - 1) as f64, min..max * 1.1)
            .map_err(draw_error)?;
        let label_of = |x: &f64| {
            let i = x.round() as usize;
            if i < observed {
                labels.get(i).cloned().unwrap_or_default()
            } else {
                format!("+{}", i + 1 - observed)
            }
        };
        chart
            .configure_mesh()
            .bold_line_style(GRID.mix(0.6))
            .light_line_style(GRID.mix(0.2))
            .axis_style(GRID)
            .label_style(text(14))
            .x_labels(total.clamp(2, 10))
            .x_label_formatter(&label_of)
            .draw()
            .map_err(draw_error)?;
        // Shade the points whose events were lost.
        for (i, _) in gaps.iter().enumerate().filter(|(_, gap)| **gap) {
            let x = i as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.5, min), (x + 0.5, max * 1.1)],
                    GAP.mix(0.25).filled(),
                )))
                .map_err(draw_error)?;
        }
        if let Some(band) = band {
            let mut polygon: Vec<(f64, f64)> = band
                .values
                .iter()
                .enumerate()
                .map(|(k, v)| ((observed + k) as f64, v.2))
                .collect();
            polygon.extend(
                band.values
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(k, v)| ((observed + k) as f64, v.1)),
            );
            chart
                .draw_series(std::iter::once(Polygon::new(polygon, YELLOW.mix(0.25))))
                .map_err(draw_error)?
                .label(band.name.clone())
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 16, y + 5)], YELLOW.mix(0.4).filled())
                });
            let line: Vec<(f64, f64)> = band
                .values
                .iter()
                .enumerate()
                .map(|(k, v)| ((observed + k) as f64, v.0))
                .collect();
            chart
                .draw_series(LineSeries::new(line, YELLOW.stroke_width(2)))
                .map_err(draw_error)?;
        }
        for s in series {
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (i, v) in s.values.iter().enumerate() {
                match v {
                    Some(v) if !is_partial(i) => {
                        runs.last_mut().expect("one run").push((i as f64, *v));
                    }
                    _ => runs.push(Vec::new()),
                }
            }
            let color = s.color;
            let mut labelled = false;
            for run in runs.into_iter().filter(|r| !r.is_empty()) {
                let points = run.clone();
                let drawn = chart
                    .draw_series(LineSeries::new(run, color.stroke_width(3)))
                    .map_err(draw_error)?;
                if !labelled {
                    drawn.label(s.name.clone()).legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 16, y)], color.stroke_width(3))
                    });
                    labelled = true;
                }
                if points.len() == 1 {
                    chart
                        .draw_series(
                            points
                                .into_iter()
                                .map(|p| Circle::new(p, 4, color.filled())),
                        )
                        .map_err(draw_error)?;
                }
            }
            // Partial points: lighter, joined to their neighbours, hollow.
            let faint = color.mix(0.45);
            for (i, v) in s.values.iter().enumerate() {
                let Some(v) = (*v).filter(|_| is_partial(i)) else {
                    continue;
                };
                let mut piece = Vec::new();
                if let Some(Some(before)) = i.checked_sub(1).and_then(|b| s.values.get(b)) {
                    piece.push(((i - 1) as f64, *before));
                }
                piece.push((i as f64, v));
                if let Some(Some(after)) = s.values.get(i + 1) {
                    piece.push(((i + 1) as f64, *after));
                }
                chart
                    .draw_series(LineSeries::new(piece, faint.stroke_width(2)))
                    .map_err(draw_error)?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (i as f64, v),
                        5,
                        faint.stroke_width(2),
                    )))
                    .map_err(draw_error)?;
            }
        }
        for (i, label) in partial.iter().enumerate() {
            let Some(label) = label else { continue };
            // Just above the highest point of that day, anchored inwards so
            // the first and last points' labels fit.
            let Some(top) = series
                .iter()
                .filter_map(|s| s.values.get(i).copied().flatten())
                .reduce(f64::max)
            else {
                continue;
            };
            let anchor = if i + 1 == observed && i > 0 {
                HPos::Right
            } else {
                HPos::Left
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (i as f64, top + max * 0.03),
                    text(14).pos(Pos::new(anchor, VPos::Bottom)),
                )))
                .map_err(draw_error)?;
        }
        chart
            .configure_series_labels()
            .background_style(BACKGROUND.mix(0.9))
            .border_style(GRID)
            .label_font(text(14))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(draw_error)?;
        Ok(())
    })
}

/// A local weekday × hour heatmap (rows Monday..Sunday, top to bottom).
pub fn heatmap(title: &str, cells: &[[i64; 24]; 7]) -> Chart {
    let (title, cells) = (title.to_owned(), *cells);
    Chart::new(move || draw_heatmap(&title, &cells))
}

fn draw_heatmap(title: &str, cells: &[[i64; 24]; 7]) -> Result<Vec<u8>, ChartError> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let max = cells.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, text(24))
            .margin(16)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d((0i32..23).into_segmented(), (0i32..6).into_segmented())
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .axis_style(GRID)
            .label_style(text(14))
            .x_labels(24)
            .y_labels(7)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(h) if h % 2 == 0 => format!("{h:02}"),
                _ => String::new(),
            })
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(row) if (0..7).contains(row) => {
                    DAYS[(6 - row) as usize].to_owned()
                }
                _ => String::new(),
            })
            .draw()
            .map_err(draw_error)?;
        let positions = (0..7).flat_map(|day| (0..24).map(move |hour| (day, hour)));
        chart
            .draw_series(positions.map(|(day, hour)| {
                let value = cells[day][hour] as f64 / max;
                let mix = |bg: u8, fg: u8| {
                    (f64::from(bg) + (f64::from(fg) - f64::from(bg)) * value) as u8
                };
                let color = RGBColor(
                    mix(0x1e, BLURPLE.0),
                    mix(0x1f, BLURPLE.1),
                    mix(0x22, BLURPLE.2),
                );
                let (row, hour) = (6 - day as i32, hour as i32);
                let mut cell = Rectangle::new(
                    [
                        (SegmentValue::Exact(hour), SegmentValue::Exact(row + 1)),
                        (SegmentValue::Exact(hour + 1), SegmentValue::Exact(row)),
                    ],
                    color.filled(),
                );
                cell.set_margin(2, 2, 2, 2);
                cell
            }))
            .map_err(draw_error)?;
        Ok(())
    })
}

/// Horizontal bars, one per labelled value, first at the top.
pub fn bar_chart(title: &str, bars: &[(String, f64)], color: RGBColor) -> Chart {
    let (title, bars) = (title.to_owned(), bars.to_vec());
    Chart::new(move || draw_bar_chart(&title, &bars, color))
}

fn draw_bar_chart(
    title: &str,
    bars: &[(String, f64)],
    color: RGBColor,
) -> Result<Vec<u8>, ChartError> {
    let n = bars.len().max(1) as i32;
    let max = bars.iter().map(|b| b.1).fold(1.0f64, f64::max);
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, text(24))
            .margin(16)
            .x_label_area_size(36)
            .y_label_area_size(200)
            .build_cartesian_2d(0f64..max * 1.1, (0i32..n - 1).into_segmented())
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .bold_line_style(GRID.mix(0.6))
            .light_line_style(GRID.mix(0.2))
            .axis_style(GRID)
            .label_style(text(14))
            .y_labels(n as usize)
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(row) if (0..n).contains(row) => bars
                    .get((n - 1 - row) as usize)
                    .map(|b| b.0.chars().take(24).collect())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, value))| {
                let row = n - 1 - i as i32;
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(row + 1)),
                        (*value, SegmentValue::Exact(row)),
                    ],
                    color.filled(),
                );
                bar.set_margin(6, 6, 0, 0);
                bar
            }))
            .map_err(draw_error)?;
        Ok(())
    })
}

/// Width and height from a PNG's IHDR chunk (for checks and tests).
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let height = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_last_day_is_drawn_apart() {
        let labels: Vec<String> = (1..=4).map(|d| format!("10-{d:02}")).collect();
        let series = [Series {
            name: "messages".into(),
            values: vec![Some(30.0), Some(32.0), Some(31.0), Some(4.0)],
            color: BLURPLE,
        }];
        let gaps = [false; 4];
        let whole = line_chart("Messages", &labels, &series, &gaps, None)
            .render()
            .unwrap();
        let marked = line_chart_partial(
            "Messages",
            &labels,
            &series,
            &gaps,
            &[None, None, None, Some("so far".into())],
            None,
        )
        .render()
        .unwrap();
        assert_eq!(png_size(&marked), Some((WIDTH, HEIGHT)));
        assert_ne!(whole, marked, "the partial day is drawn differently");
        let unmarked = line_chart_partial("Messages", &labels, &series, &gaps, &[], None)
            .render()
            .unwrap();
        assert_eq!(whole, unmarked, "no flags: the same chart");
    }

    #[test]
    fn charts_are_pngs_of_the_documented_size() {
        let labels: Vec<String> = (1..=10).map(|d| format!("10-{d:02}")).collect();
        let line = line_chart(
            "Messages per day",
            &labels,
            &[Series {
                name: "messages".into(),
                values: vec![
                    Some(3.0),
                    Some(5.0),
                    None,
                    Some(4.0),
                    Some(8.0),
                    Some(7.0),
                    Some(9.0),
                    Some(6.0),
                    Some(10.0),
                    Some(12.0),
                ],
                color: BLURPLE,
            }],
            &[
                false, false, true, false, false, false, false, false, false, false,
            ],
            Some(&Band {
                name: "forecast".into(),
                values: vec![(12.0, 9.0, 15.0), (13.0, 10.0, 16.0)],
            }),
        )
        .render()
        .unwrap();
        let mut cells = [[0i64; 24]; 7];
        cells[2][14] = 9;
        cells[5][20] = 3;
        let heat = heatmap("Activity by weekday and hour", &cells)
            .render()
            .unwrap();
        let bars = bar_chart(
            "Channels",
            &[("general".into(), 30.0), ("memes".into(), 12.0)],
            BLURPLE,
        )
        .render()
        .unwrap();
        for png in [&line, &heat, &bars] {
            assert_eq!(png_size(png), Some((WIDTH, HEIGHT)));
            let decoder = png::Decoder::new(std::io::Cursor::new(&png[..]));
            assert!(decoder.read_info().is_ok(), "decodes");
        }
        if let Ok(dir) = std::env::var("SERVERPULSE_CHART_DIR") {
            for (name, png) in [("line", &line), ("heatmap", &heat), ("bars", &bars)] {
                std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
            }
        }
    }
}
