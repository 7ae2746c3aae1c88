//! The backup configuration as the checks handle it: read from
//! `GET /api/v1/backups/config`, turned back into the form `PUT` takes, and
//! compared field by field without ever showing a password.

use serde_json::{Map, Value};

/// The kind of value a field of the reference holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flag,
    Number,
    Text,
}

/// The fields of the reference's configuration, in its order.
const REFERENCE_FIELDS: [(&str, Kind); 14] = [
    ("backup_to_ftp", Kind::Flag),
    ("every_day", Kind::Flag),
    ("every_day_hour", Kind::Number),
    ("every_day_minute", Kind::Number),
    ("every_day_statistics", Kind::Flag),
    ("every_hour", Kind::Flag),
    ("every_hour_minute", Kind::Number),
    ("every_hour_statistics", Kind::Flag),
    ("ftp_password", Kind::Text),
    ("ftp_path", Kind::Text),
    ("ftp_server", Kind::Text),
    ("ftp_server_port", Kind::Number),
    ("ftp_user", Kind::Text),
    ("number_backups", Kind::Number),
];

/// A configuration: the `msg` object of `GET /api/v1/backups/config`,
/// fields beyond the reference's included, so that a server's extensions
/// are put back as they were too.
#[derive(Debug, Clone, PartialEq)]
pub struct Configuration(Map<String, Value>);

impl Configuration {
    /// Reads `msg` as a configuration.
    ///
    /// # Errors
    /// A phrase naming the first reference field that is missing or of the
    /// wrong kind.
    pub fn from_msg(msg: &Value) -> Result<Configuration, String> {
        let Some(object) = msg.as_object() else {
            return Err("`msg` is not an object".to_string());
        };
        for (name, kind) in REFERENCE_FIELDS {
            let fits = match (kind, object.get(name)) {
                (_, None) => return Err(format!("`{name}` is missing")),
                (Kind::Flag, Some(value)) => value.is_boolean(),
                (Kind::Number, Some(value)) => value.is_u64(),
                (Kind::Text, Some(value)) => value.is_string(),
            };
            if !fits {
                let wanted = match kind {
                    Kind::Flag => "true or false",
                    Kind::Number => "a whole number",
                    Kind::Text => "a text",
                };
                return Err(format!("`{name}` is not {wanted}"));
            }
        }
        Ok(Configuration(object.clone()))
    }

    /// The configuration with `name` set to `value`.
    pub fn with(&self, name: &str, value: impl Into<Value>) -> Configuration {
        let mut changed = self.0.clone();
        changed.insert(name.to_string(), value.into());
        Configuration(changed)
    }

    /// The number in `name`, 0 when it is not one.
    pub fn number(&self, name: &str) -> u64 {
        self.0.get(name).and_then(Value::as_u64).unwrap_or(0)
    }

    /// The flag in `name`, false when it is not one.
    pub fn flag(&self, name: &str) -> bool {
        self.0.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    /// The form that sets this configuration: flags as `1` or `0`, numbers
    /// and texts as they are. Values of other kinds are left out.
    pub fn form(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter_map(|(name, value)| {
                let text = match value {
                    Value::Bool(flag) => if *flag { "1" } else { "0" }.to_string(),
                    Value::Number(number) => number.to_string(),
                    Value::String(text) => text.clone(),
                    _ => return None,
                };
                Some((name.clone(), text))
            })
            .collect()
    }

    /// How `got` differs from this configuration, one phrase per field. With
    /// `exact`, a field that only `got` has is a difference too. A field
    /// whose name holds `password` is named, never shown.
    pub fn differences(&self, got: &Value, exact: bool) -> Vec<String> {
        let Some(got) = got.as_object() else {
            return vec!["the answer holds no configuration".to_string()];
        };
        let mut differences = Vec::new();
        for (name, wanted) in &self.0 {
            match got.get(name) {
                Some(value) if value == wanted => {}
                _ if name.contains("password") => differences.push(format!("`{name}` differs")),
                Some(value) => differences.push(format!("`{name}` is {value}, not {wanted}")),
                None => differences.push(format!("`{name}` is missing")),
            }
        }
        if exact {
            for name in got.keys().filter(|name| !self.0.contains_key(*name)) {
                differences.push(format!("`{name}` was not there before"));
            }
        }
        differences
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        serde_json::json!({
            "backup_to_ftp": true, "every_day": true, "every_day_hour": 13,
            "every_day_minute": 5, "every_day_statistics": true, "every_hour": true,
            "every_hour_minute": 50, "every_hour_statistics": true,
            "ftp_password": "QWEqwe123", "ftp_path": "home/dev.softkeel.com",
            "ftp_server": "home.uuq.pl", "ftp_server_port": 21, "ftp_user": "puqvpncp",
            "number_backups": 10, "ftp_tls": false
        })
    }

    /// The reference's example reads, and its form spells flags as 1 or 0
    /// and keeps the fields beyond the reference.
    #[test]
    fn reference_example_becomes_a_form() {
        let configuration = Configuration::from_msg(&sample()).unwrap();
        let form = configuration.form();
        assert!(form.contains(&("backup_to_ftp".to_string(), "1".to_string())));
        assert!(form.contains(&("every_day_hour".to_string(), "13".to_string())));
        assert!(form.contains(&("ftp_tls".to_string(), "0".to_string())));
        assert_eq!(form.len(), 15);
    }

    /// A missing field or one of the wrong kind is named.
    #[test]
    fn wrong_fields_are_named() {
        let mut value = sample();
        value["every_day_hour"] = Value::from("13");
        let error = Configuration::from_msg(&value).unwrap_err();
        assert!(error.contains("`every_day_hour`"), "{error}");
        let error = Configuration::from_msg(&Value::from("")).unwrap_err();
        assert!(error.contains("`msg`"), "{error}");
    }

    /// Differences name the field; a password's value is never shown.
    #[test]
    fn differences_hide_passwords() {
        let configuration = Configuration::from_msg(&sample()).unwrap();
        let mut got = sample();
        got["ftp_password"] = Value::from("other");
        got["every_hour_minute"] = Value::from(7);
        got["extra"] = Value::from(1);
        let differences = configuration.differences(&got, true);
        assert_eq!(differences.len(), 3, "{differences:?}");
        assert!(differences.iter().all(|text| !text.contains("QWEqwe123")));
        assert!(differences.iter().all(|text| !text.contains("other")));
        assert!(configuration.differences(&got, false).len() == 2);
        assert!(configuration.differences(&sample(), true).is_empty());
    }
}
