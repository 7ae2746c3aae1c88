//! Access hashes end to end: every endpoint refuses a request without a
//! valid hash for the address it comes from.

use puqbackup::catalogue::ApiError;
use puqbackup::conformance::{Cookie, Method};

use crate::harness::{DATA, Stack, add_hash_in, name_at, refused};

/// A request: method, path and form.
type Request = (Method, String, Vec<(&'static str, &'static str)>);

/// Every endpoint of the reference, with a form that would be valid.
fn endpoints() -> Vec<Request> {
    let name = name_at("2026-01-05_10-00-00");
    vec![
        (Method::Get, "/api/v1/backups".to_string(), vec![]),
        (Method::Get, "/api/v1/system/backups".to_string(), vec![]),
        (
            Method::Post,
            "/api/v1/backups".to_string(),
            vec![("statistics", "0")],
        ),
        (
            Method::Put,
            "/api/v1/backups/restore".to_string(),
            vec![("backup_name", "x.zip")],
        ),
        (Method::Get, format!("/api/v1/backups/{name}"), vec![]),
        (Method::Get, "/api/v1/backups/config".to_string(), vec![]),
        (
            Method::Put,
            "/api/v1/backups/config".to_string(),
            vec![("number_backups", "3")],
        ),
    ]
}

/// No cookie and an unknown hash get `Not authorized` (401) on every
/// endpoint, and nothing is created.
#[test]
fn requests_without_a_known_hash_are_not_authorized() {
    let stack = Stack::api_only();
    for (method, path, form) in endpoints() {
        for cookie in [Cookie::None, Cookie::Wrong] {
            let answer = stack.send_with(method, &path, cookie, &form);
            let text = refused(&answer, 401, ApiError::NotAuthorized.text());
            assert_eq!(text, "Not authorized", "{method:?} {path}");
        }
    }
    assert!(stack.listed().is_empty());
}

/// A valid hash bound to another address, and the hash the server made on
/// its first start (bound to 127.0.0.1 inside the container), are refused
/// from the host; a revoked hash is refused too.
#[test]
fn a_hash_from_another_address_or_revoked_is_not_authorized() {
    let stack = Stack::api_only();
    let elsewhere = add_hash_in(stack.api.id(), "elsewhere", "10.99.0.1");
    let client = puqbackup::conformance::Client::new(
        stack.url.clone(),
        elsewhere,
        false,
        std::time::Duration::from_secs(30),
    );
    for (method, path, form) in endpoints() {
        let form: Vec<(String, String)> = form
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let answer = client.send(method, &path, Cookie::Given, &form).unwrap();
        refused(&answer, 401, ApiError::NotAuthorized.text());
    }

    // The first start printed a hash for 127.0.0.1; requests from the host
    // arrive from the network's gateway instead.
    let log = stack.api_log();
    let first = log
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|word| word.len() == 80)
        .unwrap_or_else(|| panic!("no first-start hash in the log:\n{log}"))
        .to_string();
    let client = puqbackup::conformance::Client::new(
        stack.url.clone(),
        first,
        false,
        std::time::Duration::from_secs(30),
    );
    let answer = client
        .send(Method::Get, "/api/v1/backups", Cookie::Given, &[])
        .unwrap();
    refused(&answer, 401, ApiError::NotAuthorized.text());

    // The stack's own hash works until it is revoked.
    assert!(stack.listed().is_empty());
    let store = format!("{DATA}/access-hashes.json");
    stack.api_exec_ok(&["puqbackup", "hash", "revoke", "e2e", "--store", &store]);
    let answer = stack.send(Method::Get, "/api/v1/backups", &[]);
    refused(&answer, 401, ApiError::NotAuthorized.text());
}
