//! PostgreSQL's binary `COPY` format, built in memory and sent in one go.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::DbError;

/// Rows of PostgreSQL's binary `COPY` format, built in memory.
pub struct CopyRows {
    buffer: Vec<u8>,
}

impl Default for CopyRows {
    fn default() -> Self {
        Self::new()
    }
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

impl CopyRows {
    pub fn new() -> Self {
        let mut buffer = Vec::with_capacity(1 << 20);
        buffer.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buffer.extend_from_slice(&0i32.to_be_bytes()); // flags
        buffer.extend_from_slice(&0i32.to_be_bytes()); // header extension
        Self { buffer }
    }

    pub fn row(&mut self, fields: i16) -> &mut Self {
        self.buffer.extend_from_slice(&fields.to_be_bytes());
        self
    }

    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.buffer
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.buffer.extend_from_slice(bytes);
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.buffer.extend_from_slice(&(-1i32).to_be_bytes());
        self
    }

    pub fn i16(&mut self, value: i16) -> &mut Self {
        self.field(&value.to_be_bytes())
    }

    pub fn i32(&mut self, value: i32) -> &mut Self {
        self.field(&value.to_be_bytes())
    }

    pub fn i64(&mut self, value: i64) -> &mut Self {
        self.field(&value.to_be_bytes())
    }

    pub fn opt_i64(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.i64(v),
            None => self.null(),
        }
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.field(&[u8::from(value)])
    }

    pub fn text(&mut self, value: &str) -> &mut Self {
        self.field(value.as_bytes())
    }

    pub fn timestamp(&mut self, at: DateTime<Utc>) -> &mut Self {
        self.i64(at.timestamp_micros() - PG_EPOCH_MICROS)
    }

    pub fn opt_timestamp(&mut self, at: Option<DateTime<Utc>>) -> &mut Self {
        match at {
            Some(at) => self.timestamp(at),
            None => self.null(),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.buffer.extend_from_slice(&(-1i16).to_be_bytes());
        self.buffer
    }
}

/// Binary-`COPY`s `rows` with `statement`, each row written by `write`;
/// returns the rows copied.
pub(super) async fn copy_each<T>(
    conn: &mut PgConnection,
    statement: &str,
    rows: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut CopyRows, T),
) -> Result<u64, DbError> {
    let mut copy = CopyRows::new();
    for row in rows {
        write(&mut copy, row);
    }
    let bytes = copy.finish();
    let mut copy = conn.copy_in_raw(statement).await?;
    for chunk in bytes.chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    Ok(copy.finish().await?)
}
