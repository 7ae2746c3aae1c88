//! JUnit XML of a conformance run: one test case per check, grouped by the
//! area before the first `/` of its name; notes go to the case's
//! `system-out`.

use super::Report;

/// The JUnit XML of `report`, as one test suite.
pub fn junit_xml(report: &Report) -> String {
    let seconds: f64 = report
        .checks
        .iter()
        .map(|check| check.milliseconds as f64 / 1000.0)
        .sum();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuite name=\"puqbackup conformance\" tests=\"{}\" failures=\"{}\" errors=\"0\" \
         time=\"{seconds:.3}\" hostname=\"{}\">\n",
        report.checks.len(),
        report.failed(),
        escape(&report.server)
    );
    for check in &report.checks {
        let area = check.name.split('/').next().unwrap_or("");
        xml.push_str(&format!(
            "  <testcase classname=\"conformance.{}\" name=\"{}\" time=\"{:.3}\"",
            escape(area),
            escape(&check.name),
            check.milliseconds as f64 / 1000.0
        ));
        if check.passed && check.notes.is_empty() {
            xml.push_str("/>\n");
            continue;
        }
        xml.push_str(">\n");
        if !check.passed {
            xml.push_str(&format!(
                "    <failure message=\"{}\">expected: {}\ngot: {}</failure>\n",
                escape(&check.got),
                escape(&check.expected),
                escape(&check.got)
            ));
        }
        if !check.notes.is_empty() {
            xml.push_str(&format!(
                "    <system-out>{}</system-out>\n",
                escape(&check.notes.join("\n"))
            ));
        }
        xml.push_str("  </testcase>\n");
    }
    xml.push_str("</testsuite>\n");
    xml
}

/// Text safe inside XML attributes and elements; control characters that
/// XML 1.0 forbids are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(character),
            control if (control as u32) < 0x20 => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Check;
    use super::*;

    fn check(name: &str, passed: bool, notes: &[&str]) -> Check {
        Check {
            name: name.to_string(),
            covers: None,
            expected: "error `Not authorized`".to_string(),
            got: "success <&> \u{1}".to_string(),
            passed,
            notes: notes.iter().map(|note| note.to_string()).collect(),
            milliseconds: 12,
        }
    }

    /// Passed checks are empty cases, failures carry escaped text, notes go
    /// to `system-out`.
    #[test]
    fn checks_become_test_cases() {
        let report = Report {
            server: "http://127.0.0.1:1".to_string(),
            checks: vec![
                check("authorization/list/no-cookie", true, &[]),
                check("authorization/list/wrong-hash", false, &[]),
                check("download/zip", true, &["valid"]),
            ],
            cleanup: Vec::new(),
        };
        let xml = junit_xml(&report);
        assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
        assert!(xml.contains(
            "<testcase classname=\"conformance.authorization\" \
             name=\"authorization/list/no-cookie\" time=\"0.012\"/>"
        ));
        assert!(xml.contains("<failure message=\"success &lt;&amp;&gt; \">"));
        assert!(xml.contains("<system-out>valid</system-out>"));
        assert!(!xml.contains('\u{1}'));
    }
}
