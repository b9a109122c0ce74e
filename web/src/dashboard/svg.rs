//! Charts as inline SVG drawn on the server: no script, no font files,
//! colours from the page's CSS (`currentColor` and classes), so both themes
//! apply. Each point carries a `<title>`, which browsers show on hover.

use std::fmt::Write as _;

use chrono::NaiveDate;

use super::html::escape;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 28.0;

/// One line: its name, CSS class (colour) and a value per day (`None`: no
/// data that day, drawn as a break in the line).
pub struct Line<'a> {
    pub name: &'a str,
    pub class: &'static str,
    pub values: Vec<Option<i64>>,
}

/// A line chart over `days`.
pub fn line_chart(title: &str, days: &[NaiveDate], lines: &[Line<'_>]) -> String {
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = days.len().max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: i64| TOP + plot_h * (1.0 - v as f64 / max);
    let mut out = format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\" class=\"line-chart\"><title>{}</title>",
        escape(title),
        escape(title)
    );
    // Axes and three gridlines with their values.
    for step in 0..=2 {
        let v = (max * step as f64 / 2.0).round() as i64;
        let yy = y(v);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            crate::reply::int(v)
        );
    }
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{LEFT}\" y=\"{}\">{first}</text>\
             <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{last}</text>",
            HEIGHT - 8.0,
            WIDTH - RIGHT,
            HEIGHT - 8.0
        );
    }
    for line in lines {
        // One path with a break wherever a day has no data.
        let mut d = String::new();
        let mut pen_down = false;
        for (i, value) in line.values.iter().enumerate() {
            match value {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1} {:.1}",
                        if pen_down { " L" } else { " M" },
                        x(i),
                        y(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            out,
            "<path class=\"{}\" fill=\"none\" d=\"{}\"><title>{}</title></path>",
            line.class,
            d.trim(),
            escape(line.name)
        );
        // Points with a hover title, only while they stay readable.
        if days.len() <= 120 {
            for (i, value) in line.values.iter().enumerate() {
                if let Some(v) = value {
                    let _ = write!(
                        out,
                        "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{} {}: {}</title></circle>",
                        line.class,
                        x(i),
                        y(*v),
                        days[i],
                        escape(line.name),
                        crate::reply::int(*v)
                    );
                }
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// The hour × weekday heatmap (rows Monday–Sunday, columns 0–23 local).
pub fn heatmap(title: &str, cells: &[[i64; 24]; 7], weekdays: &[&str; 7]) -> String {
    let max = cells.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let (cell_w, cell_h, left, top) = (30.0, 24.0, 40.0, 18.0);
    let width = left + 24.0 * cell_w;
    let height = top + 7.0 * cell_h;
    let mut out = format!(
        "<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\" class=\"heatmap\"><title>{}</title>",
        escape(title),
        escape(title)
    );
    for hour in (0..24).step_by(3) {
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{:.1}\" y=\"12\">{hour:02}</text>",
            left + hour as f64 * cell_w + 4.0
        );
    }
    for (day, row) in cells.iter().enumerate() {
        let yy = top + day as f64 * cell_h;
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"0\" y=\"{:.1}\">{}</text>",
            yy + 16.0,
            weekdays[day]
        );
        for (hour, value) in row.iter().enumerate() {
            let opacity = 0.08 + 0.92 * (*value as f64 / max);
            let _ = write!(
                out,
                "<rect class=\"cell\" x=\"{:.1}\" y=\"{yy:.1}\" width=\"{}\" height=\"{}\" fill-opacity=\"{opacity:.2}\">\
                 <title>{} {hour:02}:00: {}</title></rect>",
                left + hour as f64 * cell_w,
                cell_w - 2.0,
                cell_h - 2.0,
                weekdays[day],
                crate::reply::int(*value)
            );
        }
    }
    out.push_str("</svg>");
    out
}
