//! The catalogue the ingester keeps current: guilds, channels and threads,
//! members and membership spans.
