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

/// A line chart over `days`. The days flagged in `partial` cover only part
/// of the day (the one in progress: "so far"; one the period cuts:
/// "partial day"): they are drawn faint and dashed, apart from the whole
/// days, and labelled, so the last day never reads as a drop.
pub fn line_chart_partial(
    title: &str,
    days: &[NaiveDate],
    lines: &[Line<'_>],
    partial: &[Option<&str>],
) -> String {
    let is_partial = |i: usize| partial.get(i).is_some_and(Option::is_some);
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
                Some(v) if !is_partial(i) => {
                    let _ = write!(
                        d,
                        "{}{:.1} {:.1}",
                        if pen_down { " L" } else { " M" },
                        x(i),
                        y(*v)
                    );
                    pen_down = true;
                }
                _ => pen_down = false,
            }
        }
        let _ = write!(
            out,
            "<path class=\"{}\" fill=\"none\" d=\"{}\"><title>{}</title></path>",
            line.class,
            d.trim(),
            escape(line.name)
        );
        // Partial days: a faint dashed piece to and from their neighbours.
        for (i, value) in line.values.iter().enumerate() {
            let (Some(v), Some(Some(label))) = (value, partial.get(i)) else {
                continue;
            };
            let mut piece = String::new();
            if let Some(Some(before)) = i.checked_sub(1).and_then(|b| line.values.get(b)) {
                let _ = write!(piece, "M{:.1} {:.1} L", x(i - 1), y(*before));
            } else {
                piece.push('M');
            }
            let _ = write!(piece, "{:.1} {:.1}", x(i), y(*v));
            if let Some(Some(after)) = line.values.get(i + 1) {
                let _ = write!(piece, " L{:.1} {:.1}", x(i + 1), y(*after));
            }
            let _ = write!(
                out,
                "<path class=\"{} partial\" fill=\"none\" d=\"{piece}\"><title>{} {}: {} ({label})</title></path>",
                line.class,
                days[i],
                escape(line.name),
                crate::reply::int(*v)
            );
        }
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
    for (i, label) in partial.iter().enumerate() {
        let Some(label) = label else { continue };
        let anchor = if i + 1 == days.len() && i > 0 {
            "end"
        } else {
            "start"
        };
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            x(i),
            TOP + 10.0,
            escape(label)
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_last_day_is_drawn_faint_and_labelled() {
        let days: Vec<NaiveDate> = (1..=3)
            .map(|d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap())
            .collect();
        let line = || Line {
            name: "messages",
            class: "s1",
            values: vec![Some(30), Some(32), Some(4)],
        };
        let whole = line_chart_partial("Messages", &days, &[line()], &[]);
        assert!(!whole.contains("partial") && !whole.contains("so far"));
        let marked =
            line_chart_partial("Messages", &days, &[line()], &[None, None, Some("so far")]);
        assert!(marked.contains("class=\"s1 partial\""), "{marked}");
        assert!(marked.contains(">so far</text>"), "{marked}");
        assert!(
            marked.contains("2026-11-03 messages: 4 (so far)"),
            "{marked}"
        );
    }
}
