//! Buttons, selects and the custom-dates form: each names what it does in
//! its [`ComponentId`], so a click needs no server-side session.

use std::collections::HashMap;

use serde_json::json;
use twilight_model::application::interaction::message_component::MessageComponentInteractionData;
use twilight_model::application::interaction::modal::{
    ModalInteractionComponent, ModalInteractionData,
};
use twilight_model::channel::message::component::{ComponentType, TextInputStyle};

use super::{report, settings};
use crate::component::ComponentId;
use crate::context::{Ctx, timezone_of};
use crate::error::{Failure, Outcome};
use crate::reply::Reply;
use crate::view::{Request, View};

/// The form asking for a custom timeframe; its id carries the view.
pub fn custom_timeframe_modal(view: View) -> Reply {
    let input = |id: ComponentId, label: &str, placeholder: &str| {
        json!({"type": ComponentType::ActionRow, "components": [{
            "type": ComponentType::TextInput, "custom_id": id.encode(), "label": label,
            "style": TextInputStyle::Short, "min_length": 10, "max_length": 10, "required": true,
            "placeholder": placeholder}]})
    };
    Reply::Modal(json!({
        "custom_id": ComponentId::CustomDatesForm(view).encode(),
        "title": "Custom timeframe",
        "components": [
            input(ComponentId::FirstDay, "From (YYYY-MM-DD, first day)", "2026-10-01"),
            input(ComponentId::LastDay, "To (YYYY-MM-DD, last day)", "2026-10-31"),
        ],
    }))
}

pub(super) async fn component(ctx: &Ctx, data: &MessageComponentInteractionData) -> Outcome<Reply> {
    let request = match ComponentId::parse(&data.custom_id)? {
        ComponentId::Report(request) => request,
        ComponentId::CustomDates(view) => {
            super::access::authorize(ctx, view).await?;
            ctx.tracked_settings().await?;
            return Ok(custom_timeframe_modal(view));
        }
        ComponentId::Audit(log, page) => {
            return Ok(Reply::Update(super::access::audit(ctx, log, page).await?));
        }
        ComponentId::ReportSelect(timeframe) => {
            let view = data
                .values
                .first()
                .and_then(|v| View::decode(v))
                .ok_or_else(|| {
                    Failure::user("That choice is not available any more; run the command again.")
                })?;
            Request { view, timeframe }
        }
        ComponentId::SetupChannels => return settings::choose_channels(ctx, &data.values).await,
        ComponentId::Definition(figure) => {
            return Ok(Reply::Message(crate::report::health::definition_message(
                figure,
            )));
        }
        // Disabled in Discord: only a forged click gets here.
        ComponentId::ShownTimeframe(_) => {
            return Err(Failure::user("That timeframe is the one shown."));
        }
        ComponentId::CustomDatesForm(_)
        | ComponentId::FirstDay
        | ComponentId::LastDay
        | ComponentId::ApiKeyForm(_)
        | ComponentId::ApiKeyInput => {
            return Err(crate::component::IdError::Malformed.into());
        }
    };
    Ok(Reply::Update(super::checked_report(ctx, request).await?))
}

pub(super) async fn modal(ctx: &Ctx, data: &ModalInteractionData) -> Outcome<Reply> {
    let id = ComponentId::parse(&data.custom_id)?;
    let mut fields = HashMap::new();
    fn collect(components: &[ModalInteractionComponent], fields: &mut HashMap<String, String>) {
        for component in components {
            match component {
                ModalInteractionComponent::ActionRow(row) => collect(&row.components, fields),
                ModalInteractionComponent::Label(label) => {
                    collect(std::slice::from_ref(&label.component), fields)
                }
                ModalInteractionComponent::TextInput(input) => {
                    fields.insert(input.custom_id.clone(), input.value.clone());
                }
                _ => {}
            }
        }
    }
    collect(&data.components, &mut fields);
    let view = match id {
        ComponentId::CustomDatesForm(view) => view,
        ComponentId::ApiKeyForm(kind) => {
            return super::ai_provider::key_submitted(ctx, kind, &fields).await;
        }
        _ => return Err(crate::component::IdError::Malformed.into()),
    };
    let settings = ctx.tracked_settings().await?;
    let (Some(from), Some(to)) = (
        fields.get(&ComponentId::FirstDay.encode()),
        fields.get(&ComponentId::LastDay.encode()),
    ) else {
        return Err(Failure::user(
            "Fill in both dates, like 2026-10-01 and 2026-10-31.",
        ));
    };
    let timeframe =
        crate::period::parse_custom(from, to, timezone_of(&settings)).map_err(Failure::User)?;
    report(ctx, Request { view, timeframe }).await
}
