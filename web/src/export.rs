//! Export files: a table written as CSV or JSON, and packed within the
//! interaction's upload limit (gzip-compressed when the plain file is too
//! large; refused, with a reason, when even that is).

use std::io::Write as _;

use serde_json::{Map, Value, json};

use crate::discord::Attachment;
use crate::view::keyed_enum;

keyed_enum!(ExportFormat { Csv = "csv", Json = "json" });

/// One cell of an export table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(i64),
    Text(String),
    Empty,
}

impl From<i64> for Cell {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<String> for Cell {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

/// Rows under named columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(columns: &[&'static str]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// The table with one more column, `column`, holding `value` in every
    /// row (empty when `None`): what a JSON export says once in its header,
    /// a CSV file can say only in its rows.
    pub fn with_column(mut self, column: &'static str, value: Option<&str>) -> Self {
        self.columns.push(column);
        for row in &mut self.rows {
            row.push(value.map_or(Cell::Empty, Cell::from));
        }
        self
    }

    /// RFC 4180 CSV with a header line. Text that a spreadsheet would run
    /// as a formula (starting with `=`, `+`, `-` or `@`) is prefixed with
    /// `'`.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<String>, out: &mut String| {
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        };
        line(
            self.columns.iter().map(|c| (*c).to_owned()).collect(),
            &mut out,
        );
        for row in &self.rows {
            line(row.iter().map(csv_cell).collect(), &mut out);
        }
        out
    }

    /// `{…meta, "columns": [...], "rows": [{column: value}]}`.
    pub fn json(&self, meta: Map<String, Value>) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut object = Map::new();
                for (column, cell) in self.columns.iter().zip(row) {
                    object.insert((*column).to_owned(), json_cell(cell));
                }
                Value::Object(object)
            })
            .collect();
        let mut out = meta;
        out.insert("columns".into(), json!(self.columns));
        out.insert("rows".into(), Value::Array(rows));
        Value::Object(out)
    }
}

fn csv_cell(cell: &Cell) -> String {
    match cell {
        Cell::Int(n) => n.to_string(),
        Cell::Empty => String::new(),
        Cell::Text(text) => {
            let text = if text.starts_with(['=', '+', '-', '@']) {
                format!("'{text}")
            } else {
                text.clone()
            };
            if text.contains([',', '"', '\r', '\n']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            }
        }
    }
}

fn json_cell(cell: &Cell) -> Value {
    match cell {
        Cell::Int(n) => json!(n),
        Cell::Text(text) => json!(text),
        Cell::Empty => Value::Null,
    }
}

/// A file ready to send, and whether it had to be compressed.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub file: Attachment,
    pub compressed: bool,
}

/// Why a file cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the export is {compressed} bytes even compressed, over the {limit}-byte upload limit")]
pub struct TooLarge {
    pub compressed: usize,
    pub limit: u64,
}

/// Why an export file could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// Encoding failed, or the thread doing it did.
    #[error("{0}")]
    Failed(String),
}

/// The bytes `encode` writes, packed as `filename` within `limit` (see
/// [`pack`]). Encoding and compressing a large table take milliseconds of
/// CPU, so both run on the runtime's blocking threads.
pub async fn build_file(
    filename: String,
    limit: u64,
    encode: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
) -> Result<Packed, FileError> {
    tokio::task::spawn_blocking(move || {
        let bytes = encode().map_err(FileError::Failed)?;
        Ok(pack(&filename, bytes, limit)?)
    })
    .await
    .map_err(|e| FileError::Failed(format!("the encoding thread failed: {e}")))?
}

/// `bytes` as `filename` when within `limit`, else gzip-compressed as
/// `filename.gz` when that fits.
pub fn pack(filename: &str, bytes: Vec<u8>, limit: u64) -> Result<Packed, TooLarge> {
    if bytes.len() as u64 <= limit {
        return Ok(Packed {
            file: Attachment {
                filename: filename.to_owned(),
                bytes: bytes.into(),
            },
            compressed: false,
        });
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = encoder
        .write_all(&bytes)
        .and_then(|()| encoder.finish())
        .expect("writing to memory does not fail");
    if compressed.len() as u64 > limit {
        return Err(TooLarge {
            compressed: compressed.len(),
            limit,
        });
    }
    Ok(Packed {
        file: Attachment {
            filename: format!("{filename}.gz"),
            bytes: compressed.into(),
        },
        compressed: true,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn table() -> Table {
        let mut table = Table::new(&["member", "messages"]);
        table.push(vec!["a, \"quoted\"".into(), 3.into()]);
        table.push(vec!["=cmd()".into(), Cell::Empty]);
        table
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(
            table().csv(),
            "member,messages\r\n\"a, \"\"quoted\"\"\",3\r\n'=cmd(),\r\n"
        );
        let json = table().json(Map::new());
        assert_eq!(json["rows"][0]["messages"], 3);
        assert_eq!(json["rows"][1]["messages"], Value::Null);
        assert_eq!(json["columns"], json!(["member", "messages"]));
    }

    #[test]
    fn large_files_are_compressed_or_refused() {
        let bytes = "day,messages\r\n2026-10-01,5\r\n".repeat(1000).into_bytes();
        let plain = pack("daily.csv", bytes.clone(), 1 << 20).unwrap();
        assert!(!plain.compressed);
        assert_eq!(plain.file.filename, "daily.csv");
        let packed = pack("daily.csv", bytes.clone(), 2000).unwrap();
        assert!(packed.compressed);
        assert_eq!(packed.file.filename, "daily.csv.gz");
        assert!(packed.file.bytes.len() <= 2000);
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(&packed.file.bytes[..])
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, bytes);
        let refused = pack("daily.csv", bytes, 10).unwrap_err();
        assert_eq!(refused.limit, 10);
    }
}
