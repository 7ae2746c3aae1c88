//! Which IANA time zone the schedule is read in.
//!
//! The administrator may name one; otherwise the server takes the system's,
//! found the way the C library finds it: the `TZ` variable first, then the
//! `/etc/localtime` link, then `/etc/timezone`, then UTC.

use std::fs;
use std::path::{Component, Path};

use chrono_tz::Tz;

use super::ScheduleError;

/// The zone an IANA name such as `Europe/Warsaw` names, spelt exactly as the
/// database spells it.
///
/// # Errors
/// [`ScheduleError::UnknownZone`] when the database has no such name.
pub fn parse_zone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownZone(name.to_owned()))
}

/// The system's time zone, from the `TZ` variable and `/etc`; see
/// [`detect_zone`]. UTC when none of them names a zone.
pub fn system_zone() -> Tz {
    let variable = std::env::var("TZ").ok();
    detect_zone(variable.as_deref(), Path::new("/etc"))
}

/// The time zone named by the value of `TZ` (if set) or, failing that, by the
/// files `localtime` and `timezone` in the folder `etc`.
///
/// In order, the first that names a zone wins:
/// 1. `TZ`: an IANA name, with or without the leading `:`, or a path into a
///    zoneinfo folder. Set but empty, it means UTC, as for the C library. A
///    POSIX rule such as `CET-1CEST,M3.5.0,M10.5.0/3` names no IANA zone and
///    is passed over.
/// 2. The target of the `localtime` link, e.g.
///    `/usr/share/zoneinfo/Europe/Warsaw`: this is the file the C library
///    reads, so it comes before `timezone`, which can be stale. A `localtime`
///    that is a copied file rather than a link names nothing.
/// 3. The first line of `timezone`, e.g. `Europe/Warsaw`.
/// 4. UTC.
pub fn detect_zone(tz_variable: Option<&str>, etc: &Path) -> Tz {
    if let Some(value) = tz_variable {
        if value.is_empty() {
            return Tz::UTC;
        }
        let name = value.strip_prefix(':').unwrap_or(value);
        if let Some(zone) = parse_zone(name)
            .ok()
            .or_else(|| zone_from_path(Path::new(name)))
        {
            return zone;
        }
    }

    if let Some(zone) = fs::read_link(etc.join("localtime"))
        .ok()
        .and_then(|target| zone_from_path(&target))
    {
        return zone;
    }

    fs::read_to_string(etc.join("timezone"))
        .ok()
        .and_then(|text| parse_zone(text.lines().next()?.trim()).ok())
        .unwrap_or(Tz::UTC)
}

/// The zone a path to a zone file names: what follows its `zoneinfo` folder
/// (past the `posix` or `right` variants of the database), or else the
/// longest tail of up to three names that is a zone.
fn zone_from_path(path: &Path) -> Option<Tz> {
    let names: Vec<&str> = path
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => name.to_str(),
            _ => None,
        })
        .collect();

    if let Some(index) = names.iter().rposition(|name| *name == "zoneinfo") {
        let mut rest = &names[index + 1..];
        if let [variant, tail @ ..] = rest
            && (*variant == "posix" || *variant == "right")
        {
            rest = tail;
        }
        return parse_zone(&rest.join("/")).ok();
    }

    (1..=names.len().min(3))
        .rev()
        .find_map(|count| parse_zone(&names[names.len() - count..].join("/")).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up `/etc` with a `localtime` link to `link_target` (if any)
    /// and a `timezone` file holding `timezone_text` (if any).
    fn etc(link_target: Option<&str>, timezone_text: Option<&str>) -> tempfile::TempDir {
        let folder = tempfile::tempdir().unwrap();
        if let Some(target) = link_target {
            std::os::unix::fs::symlink(target, folder.path().join("localtime")).unwrap();
        }
        if let Some(text) = timezone_text {
            fs::write(folder.path().join("timezone"), text).unwrap();
        }
        folder
    }

    /// Names and spellings are taken exactly; made-up and miscased names are
    /// refused with the name in the error.
    #[test]
    fn parse_zone_takes_iana_names_only() {
        assert_eq!(parse_zone("Europe/Warsaw"), Ok(Tz::Europe__Warsaw));
        assert_eq!(parse_zone("UTC"), Ok(Tz::UTC));
        assert_eq!(
            parse_zone("America/Argentina/Buenos_Aires"),
            Ok(Tz::America__Argentina__Buenos_Aires)
        );
        for name in ["Mars/Olympus", "europe/warsaw", "", " Europe/Warsaw"] {
            assert_eq!(
                parse_zone(name),
                Err(ScheduleError::UnknownZone(name.to_owned()))
            );
        }
    }

    /// `TZ` wins over both files, in each of its spellings, and empty means
    /// UTC.
    #[test]
    fn tz_variable_comes_first() {
        let folder = etc(Some("/usr/share/zoneinfo/Asia/Tokyo"), Some("Asia/Tokyo\n"));
        let cases = [
            ("Europe/Warsaw", Tz::Europe__Warsaw),
            (":Europe/Warsaw", Tz::Europe__Warsaw),
            (":/usr/share/zoneinfo/Europe/Warsaw", Tz::Europe__Warsaw),
            ("", Tz::UTC),
        ];
        for (value, expected) in cases {
            assert_eq!(
                detect_zone(Some(value), folder.path()),
                expected,
                "{value:?}"
            );
        }
    }

    /// A `TZ` that names no zone (a POSIX rule) falls through to the link.
    #[test]
    fn a_posix_rule_falls_through() {
        let folder = etc(Some("/usr/share/zoneinfo/Asia/Tokyo"), None);
        assert_eq!(
            detect_zone(Some("CET-1CEST,M3.5.0,M10.5.0/3"), folder.path()),
            Tz::Asia__Tokyo
        );
    }

    /// The link's target names the zone, absolute or relative, through the
    /// `posix` variant, three levels deep, or outside any zoneinfo folder.
    #[test]
    fn localtime_link_targets() {
        let cases = [
            ("/usr/share/zoneinfo/Europe/Warsaw", Tz::Europe__Warsaw),
            ("../usr/share/zoneinfo/Europe/Warsaw", Tz::Europe__Warsaw),
            ("/usr/share/zoneinfo/posix/Asia/Tokyo", Tz::Asia__Tokyo),
            (
                "/usr/share/zoneinfo/America/Argentina/Buenos_Aires",
                Tz::America__Argentina__Buenos_Aires,
            ),
            ("/usr/share/zoneinfo/Etc/UTC", Tz::Etc__UTC),
            ("/opt/zones/Europe/Warsaw", Tz::Europe__Warsaw),
        ];
        for (target, expected) in cases {
            // The `timezone` file disagrees, to show that the link wins.
            let folder = etc(Some(target), Some("Pacific/Apia\n"));
            assert_eq!(detect_zone(None, folder.path()), expected, "{target}");
        }
    }

    /// Without a usable link, `timezone` names the zone; without either,
    /// the zone is UTC.
    #[test]
    fn timezone_file_then_utc() {
        let folder = etc(None, Some("Europe/Warsaw\n"));
        assert_eq!(detect_zone(None, folder.path()), Tz::Europe__Warsaw);

        let folder = etc(
            Some("/usr/share/zoneinfo/Mars/Olympus"),
            Some("Europe/Warsaw\n"),
        );
        assert_eq!(detect_zone(None, folder.path()), Tz::Europe__Warsaw);

        let folder = etc(None, Some("Mars/Olympus\n"));
        assert_eq!(detect_zone(None, folder.path()), Tz::UTC);

        let folder = etc(None, None);
        assert_eq!(detect_zone(None, folder.path()), Tz::UTC);
    }
}
