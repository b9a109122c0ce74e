//! Request bodies (JSON or multipart) and the answers the routes build.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::record::RecordedFile;
use super::validate::{self, FilePart};

/// A request body: JSON, or multipart with `payload_json` and files.
pub(super) struct Body {
    pub(super) json: Option<Value>,
    pub(super) files: Vec<RecordedFile>,
}

impl Body {
    pub(super) fn parts(&self) -> Vec<FilePart<'_>> {
        self.files
            .iter()
            .map(|f| FilePart {
                index: f
                    .field
                    .strip_prefix("files[")
                    .and_then(|s| s.strip_suffix(']'))
                    .and_then(|n| n.parse().ok()),
                field: &f.field,
            })
            .collect()
    }
}

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Option<Value>,
    pub(super) headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub(super) fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub(super) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    pub(super) fn error(status: StatusCode, code: u32, message: &str) -> Self {
        Self::json(status, json!({"code": code, "message": message}))
    }

    pub(super) fn form(errors: validate::FormErrors) -> Self {
        Self::json(StatusCode::BAD_REQUEST, errors.body())
    }
}

pub(super) async fn parse_body(headers: &HeaderMap, body: Bytes) -> Result<Body, Answer> {
    let invalid_json = || {
        Answer::error(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
        )
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|_| Answer::error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"))?;
        let stream =
            futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut parsed = Body {
            json: None,
            files: Vec::new(),
        };
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(_) => {
                    return Err(Answer::error(
                        StatusCode::BAD_REQUEST,
                        50035,
                        "Invalid Form Body",
                    ));
                }
            };
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            let bytes = field
                .bytes()
                .await
                .map_err(|_| Answer::error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"))?;
            if name == "payload_json" {
                parsed.json = Some(serde_json::from_slice(&bytes).map_err(|_| invalid_json())?);
            } else if filename.is_some() || name.starts_with("files[") {
                parsed.files.push(RecordedFile {
                    field: name,
                    filename,
                    content_type,
                    size: bytes.len(),
                    bytes: bytes.to_vec(),
                });
            }
        }
        return Ok(parsed);
    }
    if body.is_empty() {
        return Ok(Body {
            json: None,
            files: Vec::new(),
        });
    }
    let json = serde_json::from_slice(&body).map_err(|_| invalid_json())?;
    Ok(Body {
        json: Some(json),
        files: Vec::new(),
    })
}

pub(super) fn respond(answer: Answer) -> Response {
    let mut response = match answer.body {
        Some(body) => (answer.status, axum::Json(body)).into_response(),
        None => answer.status.into_response(),
    };
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
