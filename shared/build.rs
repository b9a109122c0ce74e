//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!`
//! embeds `migrations/` at compile time, and without this a new migration
//! file would not reach the binaries until some source file changed.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
