//! Helpers for the end-to-end tests in `tests/tests/`: where the real
//! binaries are, and reading figures out of the embeds a user sees.

use std::path::PathBuf;

use serde_json::Value;

/// The path of a workspace binary built beside this test (`cargo test
/// --workspace`, which `scripts/test` runs, builds every binary before any
/// test starts).
pub fn binary(name: &str) -> String {
    let exe = std::env::current_exe().expect("the test knows where it runs from");
    let dir: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps")
        .to_path_buf();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with `scripts/test` (cargo test --workspace)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

/// The value of the embed field `name` of a message.
pub fn field<'a>(message: &'a Value, name: &str) -> Option<&'a str> {
    message["embeds"][0]["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)?
        .get("value")?
        .as_str()
}

/// The leading bold figure of a field value (`**12,231** ↑ 17.0% …`).
pub fn leading_figure(value: &str) -> Option<i64> {
    let bold = value.strip_prefix("**")?.split("**").next()?;
    bold.replace(',', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_from_embed_fields() {
        let message = serde_json::json!({"embeds": [{"fields": [
            {"name": "Messages", "value": "**12,231** ↑ 17.0% (10,454 before)"},
            {"name": "Peak time", "value": "Sat 20:00–21:00 (201)"}
        ]}]});
        assert_eq!(
            field(&message, "Messages").and_then(leading_figure),
            Some(12_231)
        );
        assert_eq!(field(&message, "Peak time").and_then(leading_figure), None);
        assert_eq!(field(&message, "Joins"), None);
    }
}
