//! The JSON envelope every response carries, errors included:
//! `{"error": "", "msg": <result>, "status": "success"}` or
//! `{"error": "<text>", "msg": "", "status": "error"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::catalogue::ApiError;

#[derive(Serialize)]
struct Envelope<T: Serialize> {
    error: String,
    msg: T,
    status: &'static str,
}

/// A successful answer with `msg`.
pub fn success(msg: impl Serialize) -> Response {
    (
        StatusCode::OK,
        Json(Envelope {
            error: String::new(),
            msg,
            status: "success",
        }),
    )
        .into_response()
}

/// A failed request: an HTTP status and the error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The HTTP status code.
    pub status: StatusCode,
    /// The error text; a documented one where one applies.
    pub message: String,
}

impl Failure {
    /// A failure with a documented text and a cause.
    pub fn api(status: StatusCode, error: ApiError, cause: impl std::fmt::Display) -> Failure {
        Failure {
            status,
            message: error.with_cause(cause),
        }
    }

    /// A failure with any text.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// The envelope's JSON bytes, for an answer written outside the HTTP
    /// layer.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.envelope()).unwrap_or_default()
    }

    /// The envelope of this failure.
    fn envelope(&self) -> Envelope<&'static str> {
        Envelope {
            error: self.message.clone(),
            msg: "",
            status: "error",
        }
    }

    /// `Not authorized`, as every refused request gets it.
    pub fn not_authorized() -> Failure {
        Failure::new(StatusCode::UNAUTHORIZED, ApiError::NotAuthorized.text())
    }
}

impl IntoResponse for Failure {
    /// The envelope with the error text. The failure also rides along in
    /// the answer's extensions, for the server's last look at every error
    /// answer before it leaves (which takes out the server's own paths).
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.envelope())).into_response();
        response.extensions_mut().insert(self);
        response
    }
}
