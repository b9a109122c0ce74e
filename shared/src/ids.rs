//! Discord ids (snowflakes) and the one place they are converted for storage.
//!
//! Discord ids are unsigned 64-bit numbers; PostgreSQL has no unsigned
//! BIGINT. We store the same 64 bits in a signed BIGINT (a two's-complement
//! reinterpretation), so every id, including ones above 2^63, round-trips.
//! Nothing else in the code base converts ids: SQL binds and reads go through
//! [`Snowflake`]'s sqlx impls or [`Snowflake::to_db`] / [`Snowflake::from_db`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

/// Discord's epoch, 2015-01-01T00:00:00Z, in Unix milliseconds.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// A Discord id: guild, channel, user, message, emoji, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Snowflake(pub u64);

impl Snowflake {
    /// The BIGINT that stores this id (same bits, read as signed).
    pub const fn to_db(self) -> i64 {
        self.0 as i64
    }

    /// The id stored as `value` (same bits, read as unsigned).
    pub const fn from_db(value: i64) -> Self {
        Self(value as u64)
    }

    /// When the id was made: Discord puts milliseconds since its epoch in the
    /// top 42 bits, so a message id tells when the message was sent.
    pub fn created_at(self) -> DateTime<Utc> {
        let ms = (self.0 >> 22) as i64 + DISCORD_EPOCH_MS;
        Utc.timestamp_millis_opt(ms)
            .single()
            .expect("42-bit millisecond offsets are always in chrono's range")
    }

    /// The smallest id made at `at` (useful as a range bound).
    pub fn at(at: DateTime<Utc>) -> Self {
        Self(((at.timestamp_millis() - DISCORD_EPOCH_MS).max(0) as u64) << 22)
    }

    /// The shard a guild with this id is routed to: `(id >> 22) % shard_total`.
    pub fn shard(self, shard_total: u32) -> u32 {
        ((self.0 >> 22) % u64::from(shard_total.max(1))) as u32
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Snowflake {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

impl From<u64> for Snowflake {
    fn from(value: u64) -> Self {
        Self(value)
    }
}

/// Ids travel as JSON strings (JavaScript cannot hold 64-bit integers); we
/// accept numbers too.
impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    /// A number or a string of digits. Read by a visitor rather than an
    /// untagged enum: that buffered every id and built (and formatted) an
    /// error for the number it tried first, several times per gateway event.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Repr;
        impl serde::de::Visitor<'_> for Repr {
            type Value = Snowflake;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a snowflake (a number or a string of digits)")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(n))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Snowflake, E> {
                u64::try_from(n)
                    .map(Snowflake)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Snowflake, E> {
                s.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Repr)
    }
}

impl Type<Postgres> for Snowflake {
    fn type_info() -> PgTypeInfo {
        <i64 as Type<Postgres>>::type_info()
    }
}

impl PgHasArrayType for Snowflake {
    fn array_type_info() -> PgTypeInfo {
        <i64 as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for Snowflake {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<Postgres>>::encode_by_ref(&self.to_db(), buf)
    }
}

impl Decode<'_, Postgres> for Snowflake {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        <i64 as Decode<Postgres>>::decode(value).map(Self::from_db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_conversion_round_trips_every_bit_pattern() {
        for raw in [
            0,
            1,
            175_928_847_299_117_063,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 12_345,
            u64::MAX,
        ] {
            let id = Snowflake(raw);
            assert_eq!(Snowflake::from_db(id.to_db()), id, "{raw}");
        }
        assert!(
            Snowflake(u64::MAX).to_db() < 0,
            "ids above 2^63 are stored as negative BIGINTs"
        );
    }

    #[test]
    fn timestamp_comes_from_the_top_bits() {
        // Discord's documented example: 175928847299117063 is 2016-04-30T11:18:25.796Z.
        let id = Snowflake(175_928_847_299_117_063);
        assert_eq!(
            id.created_at()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2016-04-30T11:18:25.796Z"
        );
        assert_eq!(Snowflake::at(id.created_at()).0 >> 22, id.0 >> 22);
    }

    #[test]
    fn json_ids_are_strings_and_numbers_are_accepted() {
        let id: Snowflake = serde_json::from_str("\"18446744073709551615\"").unwrap();
        assert_eq!(id, Snowflake(u64::MAX));
        // An escaped string is not borrowed; a negative number, a fraction
        // and letters are no snowflake.
        let escaped: Snowflake = serde_json::from_str("\"\\u00312\"").unwrap();
        assert_eq!(escaped, Snowflake(12));
        for bad in ["-1", "1.5", "\"12a\"", "null", "[]"] {
            assert!(serde_json::from_str::<Snowflake>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"18446744073709551615\""
        );
        let id: Snowflake = serde_json::from_str("42").unwrap();
        assert_eq!(id, Snowflake(42));
        assert!(serde_json::from_str::<Snowflake>("\"-1\"").is_err());
    }

    #[test]
    fn shard_routing_follows_discord() {
        let guild = Snowflake(41_771_983_423_143_937);
        assert_eq!(guild.shard(1), 0);
        assert_eq!(
            guild.shard(4),
            ((41_771_983_423_143_937u64 >> 22) % 4) as u32
        );
    }
}
