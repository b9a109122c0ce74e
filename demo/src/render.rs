//! What a user would see, as Markdown: content, embeds (title, description,
//! fields, image, footer) and components (buttons, selects).

use serde_json::Value;

/// Renders one final message. `images` maps attachment file names to the
/// paths the Markdown should link.
pub fn message_markdown(
    title: &str,
    message: &Value,
    ephemeral: bool,
    image_link: &dyn Fn(&str) -> String,
) -> String {
    let mut out = format!("# {title}\n\n");
    if ephemeral {
        out.push_str("> *Only you can see this.*\n\n");
    }
    if let Some(content) = message
        .get("content")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
    {
        out.push_str(content);
        out.push_str("\n\n");
    }
    for embed in message
        .get("embeds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        embed_markdown(&mut out, embed, image_link);
    }
    for row in message
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        components_markdown(&mut out, row);
    }
    out
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn embed_markdown(out: &mut String, embed: &Value, image_link: &dyn Fn(&str) -> String) {
    if let Some(author) = embed.get("author").and_then(|a| text(a, "name")) {
        out.push_str(&format!("*{author}*\n\n"));
    }
    if let Some(title) = text(embed, "title") {
        out.push_str(&format!("## {title}\n\n"));
    }
    if let Some(description) = text(embed, "description") {
        out.push_str(description);
        out.push_str("\n\n");
    }
    let fields: Vec<&Value> = embed
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    if !fields.is_empty() {
        out.push_str("| | |\n| --- | --- |\n");
        for field in fields {
            let name = text(field, "name").unwrap_or("");
            let value = text(field, "value")
                .unwrap_or("")
                .replace('\n', "<br>")
                .replace('|', "\\|");
            out.push_str(&format!("| **{}** | {value} |\n", name.replace('|', "\\|")));
        }
        out.push('\n');
    }
    for key in ["image", "thumbnail"] {
        if let Some(url) = embed.get(key).and_then(|i| text(i, "url")) {
            let shown = url
                .strip_prefix("attachment://")
                .map(image_link)
                .unwrap_or_else(|| url.to_owned());
            out.push_str(&format!("![{key}]({shown})\n\n"));
        }
    }
    if let Some(footer) = embed.get("footer").and_then(|f| text(f, "text")) {
        out.push_str(&format!("<sub>{footer}</sub>\n\n"));
    }
}

fn components_markdown(out: &mut String, row: &Value) {
    let mut parts = Vec::new();
    for component in row
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match component.get("type").and_then(Value::as_u64) {
            Some(2) => {
                let label = text(component, "label").unwrap_or("button");
                let disabled = component
                    .get("disabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                parts.push(if disabled {
                    format!("~~[{label}]~~")
                } else {
                    format!("`[{label}]`")
                });
            }
            Some(3 | 5 | 6 | 7 | 8) => {
                let placeholder = text(component, "placeholder").unwrap_or("select");
                let options: Vec<&str> = component
                    .get("options")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|o| text(o, "label"))
                    .collect();
                if options.is_empty() {
                    parts.push(format!("`[{placeholder} ▾]`"));
                } else {
                    parts.push(format!("`[{placeholder} ▾: {}]`", options.join(" · ")));
                }
            }
            _ => {}
        }
    }
    if !parts.is_empty() {
        out.push_str(&parts.join(" "));
        out.push_str("\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_embeds_fields_images_and_components() {
        let message = json!({
            "content": "",
            "embeds": [{
                "title": "Server overview",
                "description": "Last 7 days",
                "fields": [{"name": "Messages", "value": "1,234 ↑ 5%", "inline": true},
                           {"name": "a|b", "value": "x\ny"}],
                "image": {"url": "attachment://overview.png"},
                "footer": {"text": "ServerPulse"}
            }],
            "components": [{"type": 1, "components": [
                {"type": 2, "label": "7d", "custom_id": "a", "style": 1},
                {"type": 2, "label": "Next", "custom_id": "b", "style": 2, "disabled": true}
            ]}, {"type": 1, "components": [
                {"type": 3, "custom_id": "c", "placeholder": "Category", "options": [{"label": "growth", "value": "g"}, {"label": "top", "value": "t"}]}
            ]}]
        });
        let markdown = message_markdown("/serverstats overview", &message, true, &|name| {
            format!("img/{name}")
        });
        assert!(markdown.starts_with("# /serverstats overview\n\n> *Only you can see this.*"));
        assert!(markdown.contains("## Server overview\n\nLast 7 days"));
        assert!(markdown.contains("| **Messages** | 1,234 ↑ 5% |"));
        assert!(markdown.contains("| **a\\|b** | x<br>y |"));
        assert!(markdown.contains("![image](img/overview.png)"));
        assert!(markdown.contains("<sub>ServerPulse</sub>"));
        assert!(markdown.contains("`[7d]` ~~[Next]~~"));
        assert!(markdown.contains("`[Category ▾: growth · top]`"));
    }
}
