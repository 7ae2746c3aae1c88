//! What a request brings: its form and query parameters, its access hash,
//! and the address of the client behind it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};

use super::envelope::Failure;
use crate::access::AllowedNetwork;

/// The largest form body read.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

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
}

impl<S: Send + Sync> FromRequest<S> for Parameters {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = request.uri().query().unwrap_or("").to_string();
        let body = Bytes::from_request(request, state).await.map_err(|_| {
            Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large or cannot be read",
            )
        })?;

        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&query).map_err(|_| {
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    "the query string is not form-encoded",
                )
            })?;
        if !body.is_empty() {
            let text = std::str::from_utf8(&body).map_err(|_| {
                Failure::new(StatusCode::BAD_REQUEST, "the body is not UTF-8 form data")
            })?;
            let from_body: Vec<(String, String)> = serde_urlencoded::from_str(text.trim())
                .map_err(|_| {
                    Failure::new(StatusCode::BAD_REQUEST, "the body is not form-encoded")
                })?;
            pairs.extend(from_body);
        }

        let mut parameters = HashMap::new();
        for (name, value) in pairs {
            if parameters.insert(name.clone(), value).is_some() {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!("the parameter `{name}` is given more than once"),
                ));
            }
        }
        Ok(Parameters(parameters))
    }
}

/// The `access_hash` cookie's value, if the request has one.
pub fn access_hash(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=')
                && name.trim() == "access_hash"
            {
                return Some(value.trim().trim_matches('"').to_string());
            }
        }
    }
    None
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
        assert_eq!(access_hash(&headers), Some("abc123".to_string()));
        assert_eq!(access_hash(&HeaderMap::new()), None);
    }
}
