//! Pages as plain Rust string building: every piece of text goes through
//! [`escape`], the only way text reaches the markup. A template crate would
//! add a dependency and a build step for a dozen small pages.
//!
//! A page is a list of [`Block`]s; its tables are [`Table`]s, which render
//! as HTML and as CSV from the same rows, so a download always matches
//! what the page shows.

use std::fmt::Write as _;

use shared::Snowflake;

use super::period::PeriodQuery;
use crate::reply::{duration, int};

/// Text made safe for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One value of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(i64),
    /// Seconds, shown as `3h 05m 09s`.
    Duration(i64),
    /// A ratio shown as a percentage; `None` shows a dash.
    Percent(Option<f64>),
    /// A share with nothing to take it of: what it needs, shown as
    /// [`crate::honest::bar`] says it (`– needs members who joined 7+ days ago`);
    /// empty in CSV, sorted below every share.
    Missing(&'static str),
    Text(String),
}

impl Cell {
    pub fn shown(&self) -> String {
        match self {
            Self::Int(v) => int(*v),
            Self::Duration(s) => duration(*s),
            Self::Percent(Some(p)) => format!("{:.1}%", p * 100.0),
            Self::Percent(None) => "–".to_owned(),
            Self::Missing(what) => crate::honest::bar(0, 0, what),
            Self::Text(t) => t.clone(),
        }
    }

    /// The CSV value: plain numbers (seconds for durations), no grouping.
    pub fn csv(&self) -> String {
        match self {
            Self::Int(v) | Self::Duration(v) => v.to_string(),
            Self::Percent(Some(p)) => format!("{:.4}", p),
            Self::Percent(None) | Self::Missing(_) => String::new(),
            Self::Text(t) => t.clone(),
        }
    }

    fn numeric(&self) -> Option<f64> {
        match self {
            Self::Int(v) | Self::Duration(v) => Some(*v as f64),
            Self::Percent(p) => Some(p.unwrap_or(f64::NEG_INFINITY)),
            Self::Missing(_) => Some(f64::NEG_INFINITY),
            Self::Text(_) => None,
        }
    }
}

/// A column: its key (in `?sort=` and the CSV header) and its heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub key: &'static str,
    pub label: &'static str,
}

pub const fn col(key: &'static str, label: &'static str) -> Column {
    Column { key, label }
}

/// A table of a page, downloadable as CSV under its `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub id: &'static str,
    pub caption: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Whether the headings sort the table (`?sort=` and the script).
    pub sortable: bool,
}

impl Table {
    pub fn new(id: &'static str, caption: impl Into<String>, columns: &[Column]) -> Self {
        Self {
            id,
            caption: caption.into(),
            columns: columns.to_vec(),
            rows: Vec::new(),
            sortable: false,
        }
    }

    pub fn sortable(mut self) -> Self {
        self.sortable = true;
        self
    }

    /// Sorts by the column `key` (numbers largest first, text A–Z, or the
    /// reverse when `ascending` is flipped); unknown keys change nothing.
    pub fn sort(&mut self, key: &str, descending: bool) {
        let Some(index) = self.columns.iter().position(|c| c.key == key) else {
            return;
        };
        self.rows.sort_by(|a, b| {
            let (x, y) = (&a[index], &b[index]);
            let order = match (x.numeric(), y.numeric()) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => x.shown().to_lowercase().cmp(&y.shown().to_lowercase()),
            };
            if descending { order.reverse() } else { order }
        });
    }

    /// RFC 4180 CSV with a header of the column keys.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| csv_field(c.key)).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let fields: Vec<String> = row.iter().map(|c| csv_field(&c.csv())).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }

    fn html(&self, out: &mut String, links: &Links) {
        let _ = write!(
            out,
            "<section class=\"table\"><h2>{}</h2><p class=\"download\"><a href=\"{}\" download>Download CSV</a></p>",
            escape(&self.caption),
            escape(&links.csv(self.id)),
        );
        let _ = write!(
            out,
            "<div class=\"scroll\"><table id=\"{}\"{}><thead><tr>",
            self.id,
            if self.sortable { " data-sortable" } else { "" }
        );
        for (i, column) in self.columns.iter().enumerate() {
            let numeric = self.rows.first().is_some_and(|r| r[i].numeric().is_some());
            let class = if numeric { " class=\"num\"" } else { "" };
            if self.sortable {
                let sorted = links.query.sort.as_deref()
                    == Some(format!("{}.{}", self.id, column.key).as_str());
                let aria = match (sorted, links.query.descending()) {
                    (false, _) => "",
                    (true, true) => " aria-sort=\"descending\"",
                    (true, false) => " aria-sort=\"ascending\"",
                };
                let _ = write!(
                    out,
                    "<th{class}{aria} data-key=\"{}\"><a href=\"{}\">{}</a></th>",
                    column.key,
                    escape(&links.sorted(self.id, column.key)),
                    escape(column.label)
                );
            } else {
                let _ = write!(out, "<th{class}>{}</th>", escape(column.label));
            }
        }
        out.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            out.push_str("<tr>");
            for cell in row {
                match cell.numeric() {
                    Some(n) => {
                        let _ = write!(
                            out,
                            "<td class=\"num\" data-value=\"{}\">{}</td>",
                            if n.is_finite() { n } else { -1.0 },
                            escape(&cell.shown())
                        );
                    }
                    None => {
                        let _ = write!(out, "<td>{}</td>", escape(&cell.shown()));
                    }
                }
            }
            out.push_str("</tr>");
        }
        if self.rows.is_empty() {
            let _ = write!(
                out,
                "<tr><td colspan=\"{}\">Nothing in this period.</td></tr>",
                self.columns.len()
            );
        }
        out.push_str("</tbody></table></div></section>");
    }
}

fn csv_field(value: &str) -> String {
    // A leading =, +, - or @ would be a formula to a spreadsheet.
    let guarded = match value.chars().next() {
        Some('=' | '+' | '@') => format!("'{value}"),
        Some('-') if value.parse::<f64>().is_err() => format!("'{value}"),
        _ => value.to_owned(),
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// A headline figure with its comparison text.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    pub compared: Option<String>,
}

/// What a page is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Figures(Vec<Figure>),
    /// An inline SVG chart (markup made by `svg`, already safe).
    Chart(String),
    Table(Table),
    Note(String),
}

/// A rendered page's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub family: super::Family,
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Page {
    pub fn table(&self, id: &str) -> Option<&Table> {
        self.blocks.iter().find_map(|b| match b {
            Block::Table(t) if t.id == id => Some(t),
            _ => None,
        })
    }

    pub fn table_mut(&mut self, id: &str) -> Option<&mut Table> {
        self.blocks.iter_mut().find_map(|b| match b {
            Block::Table(t) if t.id == id => Some(t),
            _ => None,
        })
    }
}

/// Addresses of the page being shown, keeping its period.
pub struct Links {
    pub guild: Snowflake,
    pub family: super::Family,
    pub query: PeriodQuery,
}

impl Links {
    pub fn page(&self, family: super::Family) -> String {
        format!("/g/{}{}?{}", self.guild, family.path(), self.query.encode())
    }

    fn csv(&self, table: &str) -> String {
        format!(
            "/g/{}/csv{}?table={table}&{}",
            self.guild,
            self.family.path_or_overview(),
            self.query.encode()
        )
    }

    /// The page sorted by `table`'s column `key`: largest first, or the
    /// reverse when it is sorted so already.
    fn sorted(&self, table: &str, key: &str) -> String {
        let sort = format!("{table}.{key}");
        let descending =
            !(self.query.sort.as_deref() == Some(sort.as_str()) && self.query.descending());
        format!(
            "/g/{}{}?{}&sort={sort}&order={}#{table}",
            self.guild,
            self.family.path(),
            self.query.period_only(),
            if descending { "desc" } else { "asc" },
        )
    }
}

/// The whole document: head, navigation, period picker, blocks.
pub fn document(page: &Page, links: &Links, period_label: &str, picker: &str) -> String {
    let guild = links.guild;
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{} · ServerPulse</title>\
         <link rel=\"stylesheet\" href=\"/g/{guild}/assets/dashboard.css\">\
         <script src=\"/g/{guild}/assets/sort.js\" defer></script></head><body>\
         <header><p class=\"brand\">ServerPulse</p><nav>",
        escape(&page.title)
    );
    for family in super::Family::ALL {
        let current = if *family == page.family {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a href=\"{}\"{current}>{}</a>",
            escape(&links.page(*family)),
            family.title()
        );
    }
    let _ = write!(
        out,
        "</nav></header><main id=\"main\"><h1>{}</h1><p class=\"period\">{}</p>{picker}",
        escape(&page.title),
        escape(period_label)
    );
    for block in &page.blocks {
        match block {
            Block::Figures(figures) => {
                out.push_str("<dl class=\"figures\">");
                for f in figures {
                    let _ = write!(
                        out,
                        "<div id=\"fig-{}\"><dt>{}</dt><dd><span class=\"value\">{}</span>{}</dd></div>",
                        f.id,
                        escape(f.label),
                        escape(&f.value),
                        f.compared
                            .as_ref()
                            .map(|c| format!("<span class=\"compared\">{}</span>", escape(c)))
                            .unwrap_or_default()
                    );
                }
                out.push_str("</dl>");
            }
            Block::Chart(svg) => {
                let _ = write!(out, "<figure class=\"chart\">{svg}</figure>");
            }
            Block::Table(table) => table.html(&mut out, links),
            Block::Note(text) => {
                let _ = write!(out, "<p class=\"note\">{}</p>", escape(text));
            }
        }
    }
    out.push_str("</main></body></html>");
    out
}

/// A page with only a message (refusals, errors, the 429 page).
pub fn plain_page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\"><title>{} · ServerPulse</title></head>\
         <body><main><h1>{}</h1><p id=\"message\">{}</p></main></body></html>",
        escape(title),
        escape(title),
        escape(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_become_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut table = Table::new("t", "T", &[col("name", "Name"), col("n", "N")]);
        table
            .rows
            .push(vec![Cell::Text("a,\"b\"".into()), Cell::Int(-3)]);
        table
            .rows
            .push(vec![Cell::Text("=cmd()".into()), Cell::Int(1_234)]);
        assert_eq!(
            table.csv(),
            "name,n\r\n\"a,\"\"b\"\"\",-3\r\n'=cmd(),1234\r\n"
        );
        table.sort("n", true);
        assert_eq!(table.rows[0][1], Cell::Int(1_234));
        table.sort("name", false);
        assert_eq!(table.rows[0][0], Cell::Text("=cmd()".into()));
    }
}
