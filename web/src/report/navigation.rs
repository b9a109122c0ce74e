//! The components every report carries: timeframe buttons, the
//! custom-dates button and a select of sibling reports.

use serde_json::Value;
use shared::time::Timeframe;
use twilight_model::channel::message::component::ButtonStyle;

use super::frame::Frame;
use crate::component::ComponentId;
use crate::reply;
use crate::view::{Choice, Request, TimeframeChoice, View};

/// Timeframe buttons, the custom-timeframe button and a select of sibling views.
pub fn navigation(frame: &Frame) -> Vec<Value> {
    let request = frame.request;
    let view = match request.view {
        View::Leaderboard(c, m, _) => View::Leaderboard(c, m, 0),
        other => other,
    };
    let buttons = TimeframeChoice::offered(view)
        .iter()
        .filter_map(|choice| choice.preset())
        .map(|timeframe| timeframe_button(view, timeframe, request.timeframe))
        .collect();
    let mut rows = vec![reply::row(buttons)];
    // Leaderboards add their own paging row; /topmessagers has no custom dates.
    if !matches!(view, View::Leaderboard(..) | View::TopMessagers) {
        rows.push(reply::row(vec![reply::button(
            "Custom dates…",
            ComponentId::CustomDates(view).encode(),
            ButtonStyle::Secondary,
            false,
        )]));
    }
    let siblings = siblings(view);
    if !siblings.is_empty() {
        let options: Vec<(String, String, bool)> = siblings
            .into_iter()
            .map(|(label, v)| (label, v.encode(), v == view))
            .collect();
        rows.push(reply::row(vec![reply::string_select(
            ComponentId::ReportSelect(request.timeframe).encode(),
            "Show another report",
            &options,
        )]));
    }
    rows
}

/// A button showing `view` over `timeframe`; the one shown is highlighted
/// and disabled.
fn timeframe_button(view: View, timeframe: Timeframe, shown: Timeframe) -> Value {
    if timeframe == shown {
        reply::button(
            timeframe.key(),
            ComponentId::ShownTimeframe(timeframe).encode(),
            ButtonStyle::Primary,
            true,
        )
    } else {
        reply::button(
            timeframe.key(),
            ComponentId::Report(Request { view, timeframe }).encode(),
            ButtonStyle::Secondary,
            false,
        )
    }
}

/// The server-wide reports a select can switch between, labelled.
fn siblings(view: View) -> Vec<(String, View)> {
    if !matches!(
        view,
        View::Overview | View::Members(_) | View::Activity(_) | View::Channels(_) | View::Trends(_)
    ) {
        return Vec::new();
    }
    let mut list = vec![("Overview".to_owned(), View::Overview)];
    list.extend(family("Members", View::Members));
    list.extend(family("Activity", View::Activity));
    list.extend(family("Channels", View::Channels));
    list.extend(family("Trends", View::Trends));
    list
}

fn family<T: Choice>(name: &str, view: fn(T) -> View) -> impl Iterator<Item = (String, View)> {
    T::ALL
        .iter()
        .map(move |c| (format!("{name}: {}", c.key()), view(*c)))
}
