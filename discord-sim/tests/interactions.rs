//! The interactions client against a stand-in product endpoint: payloads
//! twilight-model accepts, signatures verified independently, and the final
//! message followed through inline answers, 202 + callback, and deferral +
//! multipart edit.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{TOKEN, scenario, start_sim};
use discord_sim::interactions::{ADMINISTRATOR, MANAGE_GUILD, interaction_payload};
use discord_sim::{
    CommandOption, Compression, Delivery, InteractionClient, InteractionKeys, InteractionKind,
    Invoker, OptionValue, SimHandle,
};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Value, json};
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};

const GUILD: u64 = 1_200_000_000_000_000_001;
const CHANNEL: u64 = 1_200_000_000_000_000_002;

/// (timestamp, signature hex, raw body) of one request.
type Seen = (String, String, Vec<u8>);

#[derive(Clone)]
struct Product {
    public_key: VerifyingKey,
    api: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn chart() -> Vec<u8> {
    (0..=255u8).cycle().take(1000).collect()
}

/// A minimal product: checks the signature, then answers by command name.
async fn endpoint(State(product): State<Product>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (timestamp, signature) = (
        header("x-signature-timestamp"),
        header("x-signature-ed25519"),
    );
    product
        .seen
        .lock()
        .unwrap()
        .push((timestamp.clone(), signature.clone(), body.to_vec()));
    let Some(signature) = hex::decode(&signature)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let message = [timestamp.as_bytes(), &body].concat();
    if product
        .public_key
        .verify_strict(&message, &signature)
        .is_err()
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let interaction: Value = serde_json::from_slice(&body).unwrap();
    let token = interaction["token"].as_str().unwrap_or_default().to_owned();
    let app = interaction["application_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let id = interaction["id"].as_str().unwrap_or_default().to_owned();
    let admin = interaction["member"]["permissions"]
        .as_str()
        .and_then(|p| p.parse::<u64>().ok())
        .is_some_and(|p| p & (MANAGE_GUILD | ADMINISTRATOR) != 0);
    let answer = |value: Value| axum::Json(value).into_response();
    match interaction["type"].as_u64() {
        Some(1) => answer(json!({"type": 1})),
        Some(2) => match interaction["data"]["name"].as_str() {
            Some("inline") => {
                answer(json!({"type": 4, "data": {"content": format!("admin: {admin}")}}))
            }
            Some("defer") => {
                let url = format!("{}/webhooks/{app}/{token}/messages/@original", product.api);
                tokio::spawn(async move {
                    let payload = json!({"content": "your chart", "attachments": [{"id": 0, "filename": "chart.png"}],
                        "embeds": [{"image": {"url": "attachment://chart.png"}}]});
                    let part = reqwest::multipart::Part::bytes(chart())
                        .file_name("chart.png")
                        .mime_str("image/png")
                        .unwrap();
                    let form = reqwest::multipart::Form::new()
                        .text("payload_json", payload.to_string())
                        .part("files[0]", part);
                    product
                        .http
                        .patch(url)
                        .multipart(form)
                        .send()
                        .await
                        .unwrap();
                });
                answer(json!({"type": 5, "data": {"flags": 64}}))
            }
            Some("later") => {
                let url = format!("{}/interactions/{id}/{token}/callback", product.api);
                tokio::spawn(async move {
                    product
                        .http
                        .post(url)
                        .json(&json!({"type": 4, "data": {"content": "by callback"}}))
                        .send()
                        .await
                        .unwrap();
                });
                StatusCode::ACCEPTED.into_response()
            }
            _ => answer(json!({"type": 4, "data": {"content": "unknown"}})),
        },
        Some(3) => answer(
            json!({"type": 7, "data": {"content": format!("clicked {} {}", interaction["data"]["custom_id"], interaction["data"]["values"])}}),
        ),
        Some(4) => answer(
            json!({"type": 8, "data": {"choices": [{"name": "general", "value": "general"}]}}),
        ),
        Some(5) => answer(
            json!({"type": 4, "data": {"content": interaction["data"]["components"][0]["components"][0]["value"]}}),
        ),
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

struct Setup {
    sim: SimHandle,
    client: InteractionClient,
    product: Product,
}

async fn setup() -> Setup {
    let sim = start_sim(
        scenario(&[common::guild_id(1, 0, 1)], 1, &[]),
        Compression::AsRequested,
    )
    .await;
    let keys = InteractionKeys::generate();
    let product = Product {
        public_key: keys.verifying_key(),
        api: sim.rest.api_url(),
        http: reqwest::Client::new(),
        seen: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/interactions", axum::routing::post(endpoint))
        .with_state(product.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client =
        InteractionClient::new(format!("http://{addr}/interactions"), sim.rest.url(), keys);
    Setup {
        sim,
        client,
        product,
    }
}

fn every_kind() -> Vec<InteractionKind> {
    let options = vec![CommandOption::new(
        "channel",
        OptionValue::SubcommandGroup(vec![CommandOption::new(
            "top",
            OptionValue::Subcommand(vec![
                CommandOption::new(
                    "where",
                    OptionValue::Channel {
                        id: CHANNEL,
                        name: "general".into(),
                        kind: 0,
                    },
                ),
                CommandOption::new(
                    "who",
                    OptionValue::User {
                        id: 1_200_000_000_000_000_009,
                        username: "ann".into(),
                    },
                ),
                CommandOption::new(
                    "role",
                    OptionValue::Role {
                        id: 1_200_000_000_000_000_010,
                        name: "mods".into(),
                    },
                ),
                CommandOption::new("days", OptionValue::Integer(7)),
                CommandOption::new("ratio", OptionValue::Number(0.5)),
                CommandOption::new("public", OptionValue::Boolean(true)),
                CommandOption::new("tz", OptionValue::String("Europe/Paris".into())),
            ]),
        )]),
    )];
    let message = json!({
        "id": "1200000000000000100", "channel_id": CHANNEL.to_string(),
        "author": {"id": discord_sim::DEFAULT_APPLICATION_ID.to_string(), "username": "ServerPulse", "discriminator": "0", "avatar": null, "bot": true},
        "content": "pick", "timestamp": "2026-01-01T00:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0,
        "components": [],
    });
    vec![
        InteractionKind::Ping,
        InteractionKind::Command {
            name: "stats".into(),
            options,
        },
        InteractionKind::Autocomplete {
            name: "stats".into(),
            options: vec![
                CommandOption::new("channel", OptionValue::String("gen".into())).focused(),
            ],
        },
        InteractionKind::Component {
            custom_id: "range:7d".into(),
            component_type: 2,
            values: vec![],
            message: message.clone(),
        },
        InteractionKind::Component {
            custom_id: "pick".into(),
            component_type: 3,
            values: vec!["a".into(), "b".into()],
            message,
        },
        InteractionKind::ModalSubmit {
            custom_id: "settings".into(),
            fields: vec![("timezone".into(), "Europe/Paris".into())],
        },
    ]
}

#[test]
fn every_payload_kind_parses_with_twilight_model() {
    let expected = [
        InteractionType::Ping,
        InteractionType::ApplicationCommand,
        InteractionType::ApplicationCommandAutocomplete,
        InteractionType::MessageComponent,
        InteractionType::MessageComponent,
        InteractionType::ModalSubmit,
    ];
    for (kind, expected) in every_kind().iter().zip(expected) {
        let payload = interaction_payload(
            kind,
            &Invoker::admin(GUILD, CHANNEL),
            99,
            1_200_000_000_000_000_050,
            "tok",
        );
        let parsed: Interaction = serde_json::from_value(payload.clone())
            .unwrap_or_else(|e| panic!("{kind:?}: {e}\n{payload}"));
        assert_eq!(parsed.kind, expected);
        assert_eq!(parsed.token, "tok");
        match parsed.data {
            Some(InteractionData::ApplicationCommand(data)) => {
                assert_eq!(data.name, "stats");
                if expected == InteractionType::ApplicationCommand {
                    let resolved = data
                        .resolved
                        .expect("resolved users, members, channels, roles");
                    assert_eq!(resolved.channels.len(), 1);
                    assert_eq!(resolved.users.len(), 1);
                    assert_eq!(resolved.members.len(), 1);
                    assert_eq!(resolved.roles.len(), 1);
                }
            }
            Some(InteractionData::MessageComponent(data)) => {
                assert!(["range:7d", "pick"].contains(&data.custom_id.as_str()))
            }
            Some(InteractionData::ModalSubmit(data)) => assert_eq!(data.custom_id, "settings"),
            None => assert_eq!(expected, InteractionType::Ping),
            Some(other) => panic!("unexpected data {other:?}"),
        }
        if expected != InteractionType::Ping {
            let member = parsed.member.expect("member");
            assert_eq!(
                member.permissions.map(|p| p.bits() & MANAGE_GUILD),
                Some(MANAGE_GUILD)
            );
        }
    }
    let member = interaction_payload(
        &every_kind()[1],
        &Invoker::member(GUILD, CHANNEL),
        99,
        7,
        "t",
    );
    let parsed: Interaction = serde_json::from_value(member).unwrap();
    assert_eq!(
        parsed
            .member
            .unwrap()
            .permissions
            .map(|p| p.bits() & MANAGE_GUILD),
        Some(0)
    );
}

#[tokio::test]
async fn signatures_verify_independently_and_another_key_is_refused() {
    let Setup {
        sim,
        client,
        product,
    } = setup().await;
    let outcome = client
        .send(&InteractionKind::Ping, &Invoker::admin(GUILD, CHANNEL))
        .await
        .unwrap();
    assert_eq!(outcome.status, 200);
    assert_eq!(outcome.response, Some(json!({"type": 1})));

    // Verify what went over the wire with a key decoded from the public hex.
    let public: [u8; 32] = hex::decode(client.keys().public_key_hex())
        .unwrap()
        .try_into()
        .unwrap();
    let public = VerifyingKey::from_bytes(&public).unwrap();
    let (timestamp, signature, body) = product.seen.lock().unwrap()[0].clone();
    assert!(timestamp.parse::<u64>().is_ok(), "a Unix-seconds timestamp");
    let signature = Signature::from_slice(&hex::decode(&signature).unwrap()).unwrap();
    assert!(
        public
            .verify_strict(&[timestamp.as_bytes(), &body].concat(), &signature)
            .is_ok()
    );
    assert!(
        public
            .verify_strict(&[b"1".as_slice(), &body].concat(), &signature)
            .is_err(),
        "the timestamp is signed"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        outcome.payload
    );

    let other = InteractionKeys::generate();
    let (status, _) = client.post_signed(&body, &other).await.unwrap();
    assert_eq!(status, 401);
    let (timestamp, signature, _) = product.seen.lock().unwrap()[1].clone();
    let signature = Signature::from_slice(&hex::decode(signature).unwrap()).unwrap();
    assert!(
        public
            .verify_strict(&[timestamp.as_bytes(), &body].concat(), &signature)
            .is_err()
    );
    assert!(
        other
            .verifying_key()
            .verify_strict(&[timestamp.as_bytes(), &body].concat(), &signature)
            .is_ok()
    );

    let restored = InteractionKeys::from_secret_hex(&client.keys().secret_hex()).unwrap();
    assert_eq!(restored.public_key_hex(), client.keys().public_key_hex());
    sim.shutdown().await;
}

#[tokio::test]
async fn follows_each_kind_of_answer_to_the_final_message() {
    let Setup { sim, client, .. } = setup().await;
    let command = |name: &str| InteractionKind::Command {
        name: name.into(),
        options: vec![],
    };

    let admin = client
        .send(&command("inline"), &Invoker::admin(GUILD, CHANNEL))
        .await
        .unwrap();
    let message = admin.final_message.expect("inline answer");
    assert_eq!(message.delivery, Delivery::Inline);
    assert_eq!(message.message["content"], "admin: true");
    let member = client
        .send(&command("inline"), &Invoker::member(GUILD, CHANNEL))
        .await
        .unwrap();
    assert_eq!(
        member.final_message.unwrap().message["content"],
        "admin: false"
    );

    let deferred = client
        .send(&command("defer"), &Invoker::admin(GUILD, CHANNEL))
        .await
        .unwrap();
    assert_eq!(
        deferred.response,
        Some(json!({"type": 5, "data": {"flags": 64}}))
    );
    let message = deferred.final_message.expect("the edit after the deferral");
    assert_eq!(message.delivery, Delivery::EditedOriginal);
    assert_eq!(message.message["content"], "your chart");
    assert_eq!(message.message["attachments"][0]["filename"], "chart.png");
    assert_eq!(message.files.len(), 1);
    assert_eq!(message.files[0].bytes(), chart());
    assert_eq!(message.files[0].content_type.as_deref(), Some("image/png"));
    let patch = sim
        .rest
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .expect("the PATCH was recorded");
    assert_eq!(
        patch.route.as_deref(),
        Some("PATCH /webhooks/{application_id}/{interaction_token}/messages/@original")
    );
    assert_eq!(patch.files[0].size, chart().len());

    let later = client
        .send(&command("later"), &Invoker::admin(GUILD, CHANNEL))
        .await
        .unwrap();
    assert_eq!(later.status, 202);
    let message = later.final_message.expect("the callback after 202");
    assert_eq!(message.delivery, Delivery::Callback);
    assert_eq!(message.message["content"], "by callback");

    let kinds = every_kind();
    let click = client
        .send(&kinds[4], &Invoker::admin(GUILD, CHANNEL))
        .await
        .unwrap();
    assert_eq!(
        click.final_message.unwrap().message["content"],
        "clicked \"pick\" [\"a\",\"b\"]"
    );
    let modal = client
        .send(&kinds[5], &Invoker::admin(GUILD, CHANNEL))
        .await
        .unwrap();
    assert_eq!(
        modal.final_message.unwrap().message["content"],
        "Europe/Paris"
    );
    let autocomplete = client
        .send(&kinds[2], &Invoker::admin(GUILD, CHANNEL))
        .await
        .unwrap();
    assert!(autocomplete.final_message.is_none());
    assert_eq!(
        autocomplete.response.unwrap()["data"]["choices"][0]["value"],
        "general"
    );
    assert!(TOKEN.len() > 1);
    sim.shutdown().await;
}

/// A button click carries the message it was under, as a full Discord
/// message object: the product parses it with twilight, so it must be one.
#[test]
fn an_answer_becomes_a_message_object_twilight_parses() {
    let answer = discord_sim::FinalMessage {
        message: json!({
            "content": "",
            "flags": 64,
            "embeds": [{"title": "Overview", "fields": [{"name": "a", "value": "1", "inline": true}],
                        "image": {"url": "attachment://chart.png"}}],
            "components": [{"type": 1, "components": [{"type": 2, "style": 2, "label": "7d", "custom_id": "tf:7d"}]}],
        }),
        files: vec![discord_sim::StoredFile {
            attachment_id: "0".into(),
            filename: "chart.png".into(),
            content_type: Some("image/png".into()),
            base64: "iVBORw0KGgo=".into(),
        }],
        delivery: discord_sim::interactions::Delivery::Inline,
    };
    let message_id = discord_sim::interactions::fresh_id();
    let object = answer.to_message_object(message_id, 42, discord_sim::DEFAULT_APPLICATION_ID);
    let parsed: twilight_model::channel::Message =
        serde_json::from_value(object.clone()).expect("twilight parses it");
    assert_eq!(parsed.id.get(), message_id);
    assert_eq!(parsed.channel_id.get(), 42);
    assert!(parsed.author.bot);
    assert_eq!(parsed.embeds[0].kind, "rich");
    assert_eq!(parsed.embeds[0].title.as_deref(), Some("Overview"));
    assert_eq!(parsed.attachments[0].filename, "chart.png");
    assert_eq!(parsed.components.len(), 1);
    assert_eq!(object["flags"], 64);
}
