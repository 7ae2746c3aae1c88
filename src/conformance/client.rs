//! The HTTP side of the conformance checks: one agent for one server root,
//! requests with or without the access hash, and answers read as the API's
//! envelope.
//!
//! The agent follows no redirect and uses no proxy, so that every request
//! goes to the given server and nowhere else. HTTP status codes are not
//! errors: the reference documents none, so they are read as information.

use std::time::Duration;

use serde_json::Value;

use super::ConformanceError;

/// The most bytes read from one answer; a backup download is the largest.
const MAX_ANSWER_BYTES: u64 = 1 << 30;

/// Which access hash a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cookie {
    /// No cookie at all.
    None,
    /// A well-formed hash that is not the given one.
    Wrong,
    /// The hash the run was given.
    Given,
}

/// A request's method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// The API's envelope: `{"error": "...", "msg": ..., "status": "..."}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The error text; empty on success.
    pub error: String,
    /// The result.
    pub msg: Value,
    /// `success` or `error`.
    pub status: String,
}

impl Envelope {
    /// Whether the envelope reports success.
    pub fn is_success(&self) -> bool {
        self.status == "success"
    }
}

/// What the server answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status code.
    pub code: u16,
    /// The body as received.
    pub body: Vec<u8>,
    /// The `Content-Length` header, when there is a valid one.
    pub content_length: Option<u64>,
    /// The body read as the envelope, when it is one.
    pub envelope: Option<Envelope>,
}

impl Answer {
    /// A short description: the envelope's status and error, or the start
    /// of a body that is not an envelope, then the HTTP code.
    pub fn describe(&self) -> String {
        match &self.envelope {
            Some(envelope) if envelope.is_success() => format!("success (HTTP {})", self.code),
            Some(envelope) => format!("`{}` (HTTP {})", envelope.error, self.code),
            None => {
                let text = String::from_utf8_lossy(&self.body);
                let start: String = text.chars().take(60).collect();
                let cut = if start.len() < text.len() { "…" } else { "" };
                format!("not an envelope: `{start}{cut}` (HTTP {})", self.code)
            }
        }
    }
}

/// A client of one server root.
pub struct Client {
    agent: ureq::Agent,
    root: String,
    access_hash: String,
    wrong_hash: String,
}

impl Client {
    /// A client of `root` (already normalized: scheme, host, port, no final
    /// slash) with `access_hash`.
    pub fn new(root: String, access_hash: String, insecure: bool, timeout: Duration) -> Client {
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(insecure)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .timeout_global(Some(timeout))
            .tls_config(tls)
            .build()
            .into();
        let wrong_hash = wrong_hash_for(&access_hash);
        Client {
            agent,
            root,
            access_hash,
            wrong_hash,
        }
    }

    /// The server root requests go to.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Sends `method` to `path` (from the root, starting with `/`) with the
    /// form `parameters` as its body, when there are any.
    ///
    /// # Errors
    /// When no answer arrives: the connection fails, TLS is refused, or the
    /// time runs out. Any answer, whatever its HTTP code, is `Ok`.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        cookie: Cookie,
        parameters: &[(String, String)],
    ) -> Result<Answer, ConformanceError> {
        let url = format!("{}{path}", self.root);
        let mut builder = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(&url);
        match cookie {
            Cookie::None => {}
            Cookie::Wrong => {
                builder = builder.header("Cookie", format!("access_hash={}", self.wrong_hash));
            }
            Cookie::Given => {
                builder = builder.header("Cookie", format!("access_hash={}", self.access_hash));
            }
        }
        let body = if parameters.is_empty() {
            String::new()
        } else {
            builder = builder.header("Content-Type", "application/x-www-form-urlencoded");
            serde_urlencoded::to_string(parameters).unwrap_or_default()
        };
        let request = builder.body(body).map_err(|error| ConformanceError::Url {
            url: url.clone(),
            reason: error.to_string(),
        })?;

        let mut response =
            self.agent
                .run(request)
                .map_err(|error| ConformanceError::Connection {
                    url: url.clone(),
                    reason: error.to_string(),
                })?;
        let code = response.status().as_u16();
        let content_length = response
            .headers()
            .get("content-length")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok());
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(|error| ConformanceError::Connection {
                url,
                reason: format!("the answer could not be read: {error}"),
            })?;
        let envelope = read_envelope(&body);
        Ok(Answer {
            code,
            body,
            content_length,
            envelope,
        })
    }
}

/// The body as the envelope, when it is a JSON object with a text `error`,
/// a `msg` and a text `status`.
fn read_envelope(body: &[u8]) -> Option<Envelope> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    Some(Envelope {
        error: object.get("error")?.as_str()?.to_string(),
        msg: object.get("msg")?.clone(),
        status: object.get("status")?.as_str()?.to_string(),
    })
}

/// A well-formed access hash that differs from `given` in its last
/// character only, so that a server comparing a prefix is caught too.
fn wrong_hash_for(given: &str) -> String {
    let mut wrong: String = given.chars().take(crate::access::HASH_LENGTH - 1).collect();
    while wrong.len() < crate::access::HASH_LENGTH - 1 {
        wrong.push('0');
    }
    let last = given.chars().nth(crate::access::HASH_LENGTH - 1);
    wrong.push(if last == Some('0') { '1' } else { '0' });
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wrong hash is well-formed, differs from the given one, and shares
    /// its first 79 characters.
    #[test]
    fn wrong_hash_differs_in_the_last_character() {
        for given in ["a".repeat(80), format!("{}0", "b".repeat(79))] {
            let wrong = wrong_hash_for(&given);
            assert!(crate::access::is_well_formed(&wrong));
            assert_ne!(wrong, given);
            assert_eq!(wrong[..79], given[..79]);
        }
    }

    /// Only a JSON object with the three fields is an envelope.
    #[test]
    fn envelopes_are_recognized() {
        let envelope = read_envelope(br#"{"error":"","msg":{"a":1},"status":"success"}"#).unwrap();
        assert!(envelope.is_success());
        assert!(read_envelope(b"<html></html>").is_none());
        assert!(read_envelope(br#"{"error":"","status":"success"}"#).is_none());
    }
}
