//! What a request brings: its form and query parameters, its access hash,
//! and the address of the client behind it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;

use super::edge::{BodyTimeout, body_failure, declared_length};
use super::envelope::Failure;
use crate::access::AllowedNetwork;

/// The largest form body read.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The most parameters a request may carry (the largest call, the backup
/// settings, takes 15).
pub const MAX_PARAMETERS: usize = 32;

/// The longest parameter name, in bytes.
pub const MAX_PARAMETER_NAME_BYTES: usize = 64;

/// The longest parameter value, in bytes.
pub const MAX_PARAMETER_VALUE_BYTES: usize = 4096;

/// Form-encoded parameters from the query string and the body together, as
/// `curl -d` sends them for POST and PUT alike. A parameter given twice is
/// refused: which value wins would be a guess.
#[derive(Debug, Clone, Default)]
pub struct Parameters(pub HashMap<String, String>);

impl Parameters {
    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Reads the parameters of a query string and a form body.
    ///
    /// # Errors
    /// `400` with the reason when either is not form-encoded UTF-8, when
    /// there are more than [`MAX_PARAMETERS`], when a name or a value is
    /// longer than its limit, or when a name is given twice.
    pub fn parse(query: &str, body: &[u8]) -> Result<Parameters, Failure> {
        let refuse = |message: String| Failure::new(StatusCode::BAD_REQUEST, message);

        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| refuse("the query string is not form-encoded".to_string()))?;
        if !body.is_empty() {
            let text = std::str::from_utf8(body)
                .map_err(|_| refuse("the body is not UTF-8 form data".to_string()))?;
            let from_body: Vec<(String, String)> = serde_urlencoded::from_str(text.trim())
                .map_err(|_| refuse("the body is not form-encoded".to_string()))?;
            pairs.extend(from_body);
        }

        // Limits first, so that no message echoes an oversized name.
        if pairs.len() > MAX_PARAMETERS {
            return Err(refuse(format!(
                "the request has {} parameters; at most {MAX_PARAMETERS} are read",
                pairs.len()
            )));
        }
        for (name, value) in &pairs {
            if name.len() > MAX_PARAMETER_NAME_BYTES {
                return Err(refuse(format!(
                    "a parameter name is longer than {MAX_PARAMETER_NAME_BYTES} bytes"
                )));
            }
            if value.len() > MAX_PARAMETER_VALUE_BYTES {
                return Err(refuse(format!(
                    "the parameter `{}` is longer than {MAX_PARAMETER_VALUE_BYTES} bytes",
                    name.escape_debug()
                )));
            }
        }

        let mut parameters = HashMap::new();
        for (name, value) in pairs {
            if parameters.contains_key(&name) {
                return Err(refuse(format!(
                    "the parameter `{}` is given more than once",
                    name.escape_debug()
                )));
            }
            parameters.insert(name, value);
        }
        Ok(Parameters(parameters))
    }
}

impl<S: Send + Sync> FromRequest<S> for Parameters {
    type Rejection = Failure;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let query = request.uri().query().unwrap_or("").to_string();

        // A body declared larger than a form may be is refused before a
        // byte of it is read; one that turns out larger stops at the limit.
        if declared_length(request.headers()).is_some_and(|length| length > MAX_FORM_BYTES as u64) {
            return Err(form_too_large());
        }
        let deadline = request.extensions().get::<BodyTimeout>().map(|time| time.0);
        let body = http_body_util::Limited::new(request.into_body(), MAX_FORM_BYTES).collect();

        // A form is small: all of it must arrive within the body timeout,
        // not only each piece of it.
        let collected = match deadline {
            Some(deadline) => tokio::time::timeout(deadline, body)
                .await
                .map_err(|_| BodyTimeout(deadline).failure())?,
            None => body.await,
        };
        let body = collected
            .map_err(|error| body_failure(&*error, MAX_FORM_BYTES as u64))?
            .to_bytes();
        Parameters::parse(&query, &body)
    }
}

fn form_too_large() -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {MAX_FORM_BYTES} bytes"),
    )
}

/// What the `Cookie` headers of a request say about its access hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessCookie {
    /// No `access_hash` cookie.
    Missing,
    /// `access_hash` more than once: which one counts would be a guess.
    Repeated,
    /// One `access_hash`, with this value (surrounding quotes removed).
    Given(String),
}

/// Whether a request with these headers may have a body: one declared
/// longer than nothing, sent in chunks, or of a length that cannot be read.
pub fn may_have_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || (headers.contains_key(header::CONTENT_LENGTH) && declared_length(headers) != Some(0))
}

/// The `access_hash` cookie of a request.
pub fn access_hash(headers: &HeaderMap) -> AccessCookie {
    access_hash_in(
        headers
            .get_all(header::COOKIE)
            .iter()
            .map(|value| value.as_bytes()),
    )
}

/// The `access_hash` cookie among the raw values of `Cookie` headers. A
/// value that is not UTF-8 is skipped: it holds no cookie an access hash
/// could be in.
pub fn access_hash_in<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> AccessCookie {
    let mut found = AccessCookie::Missing;
    for value in values {
        let Ok(text) = std::str::from_utf8(value) else {
            continue;
        };
        for pair in text.split(';') {
            let Some((name, value)) = pair.trim().split_once('=') else {
                continue;
            };
            if name.trim() != "access_hash" {
                continue;
            }
            if found != AccessCookie::Missing {
                return AccessCookie::Repeated;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(value);
            found = AccessCookie::Given(value.to_string());
        }
    }
    found
}

/// The client's address: the socket's peer, or, when that peer is a trusted
/// proxy, the last address in `X-Forwarded-For` that is not itself a trusted
/// proxy.
pub fn client_address(request: &Request, trusted: &[AllowedNetwork]) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())?;
    if !trusted.iter().any(|network| network.contains(peer)) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|address| !trusted.iter().any(|network| network.contains(*address)))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_the_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; access_hash=abc123 ; other=1"),
        );
        assert_eq!(
            access_hash(&headers),
            AccessCookie::Given("abc123".to_string())
        );
        assert_eq!(access_hash(&HeaderMap::new()), AccessCookie::Missing);
    }

    /// A second `access_hash`, in the same header or another, makes the
    /// cookie ambiguous; values that are not UTF-8 and pairs without `=`
    /// are passed over.
    #[test]
    fn a_repeated_cookie_is_ambiguous_and_junk_is_skipped() {
        let values: [&[u8]; 2] = [b"access_hash=one", b"x; access_hash=two"];
        assert_eq!(access_hash_in(values), AccessCookie::Repeated);
        let values: [&[u8]; 1] = [b"access_hash=one;access_hash=one"];
        assert_eq!(access_hash_in(values), AccessCookie::Repeated);
        let values: [&[u8]; 3] = [b"\xff\xfe=\x80", b";;=;novalue;", b"access_hash=\"q\""];
        assert_eq!(access_hash_in(values), AccessCookie::Given("q".to_string()));
        let values: [&[u8]; 1] = [b"access_hash=\""];
        assert_eq!(
            access_hash_in(values),
            AccessCookie::Given("\"".to_string())
        );
    }

    /// Query and body parameters are read together; repeats, oversized
    /// names and values, and too many parameters are refused with 400.
    #[test]
    fn parameters_are_limited_and_never_repeated() {
        let parameters = Parameters::parse("a=1", b"b=2&c=%20x\n").unwrap();
        assert_eq!(parameters.get("a"), Some("1"));
        assert_eq!(parameters.get("c"), Some(" x"));

        let refused = |query: &str, body: &str| {
            let failure = Parameters::parse(query, body.as_bytes()).unwrap_err();
            assert_eq!(
                failure.status,
                StatusCode::BAD_REQUEST,
                "{}",
                failure.message
            );
            failure.message
        };
        assert!(refused("a=1", "a=1").contains("`a` is given more than once"));
        let long_name = "n".repeat(MAX_PARAMETER_NAME_BYTES + 1);
        let message = refused("", &format!("{long_name}=1"));
        assert!(!message.contains(&long_name), "{message}");
        let long_value = "v".repeat(MAX_PARAMETER_VALUE_BYTES + 1);
        assert!(refused("", &format!("ftp_password={long_value}")).contains("`ftp_password`"));
        let many: Vec<String> = (0..=MAX_PARAMETERS)
            .map(|index| format!("p{index}=1"))
            .collect();
        assert!(refused("", &many.join("&")).contains("parameters"));
        assert!(Parameters::parse("", &[0xff, 0xfe]).is_err());
        let exactly = "v".repeat(MAX_PARAMETER_VALUE_BYTES);
        assert!(Parameters::parse("", format!("x={exactly}").as_bytes()).is_ok());
    }
}
