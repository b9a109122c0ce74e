//! Read queries behind the slash commands, answered from rollups only.
