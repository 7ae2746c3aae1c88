//! JUnit XML for CI dashboards: one test case per scenario.

use super::Verdict;

/// The JUnit XML of `verdicts`, as one test suite.
pub fn junit_xml(verdicts: &[Verdict]) -> String {
    let failures = verdicts.iter().filter(|verdict| !verdict.passed).count();
    let seconds: f64 = verdicts
        .iter()
        .map(|verdict| verdict.milliseconds as f64 / 1000.0)
        .sum();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuite name=\"puqbackup replay\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">\n",
        verdicts.len()
    );
    for verdict in verdicts {
        xml.push_str(&format!(
            "  <testcase classname=\"scenarios\" name=\"{}\" time=\"{:.3}\"",
            escape(&verdict.scenario),
            verdict.milliseconds as f64 / 1000.0
        ));
        if verdict.passed {
            xml.push_str("/>\n");
        } else {
            xml.push_str(&format!(
                ">\n    <failure message=\"{}\">expected: {}\ngot: {}\n{}</failure>\n  </testcase>\n",
                escape(verdict.reasons.first().map_or("", String::as_str)),
                escape(&verdict.expected),
                escape(&verdict.got),
                escape(&verdict.reasons.join("\n"))
            ));
        }
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
    use super::*;

    /// A failed scenario becomes a failure element with escaped text.
    #[test]
    fn failures_are_escaped() {
        let verdicts = vec![
            Verdict {
                scenario: "a.toml".to_string(),
                description: String::new(),
                expected: "success".to_string(),
                got: "success".to_string(),
                passed: true,
                reasons: Vec::new(),
                milliseconds: 5,
            },
            Verdict {
                scenario: "b<&>.toml".to_string(),
                description: String::new(),
                expected: "refused: Empty archive".to_string(),
                got: "success".to_string(),
                passed: false,
                reasons: vec!["the restore succeeded \u{1}".to_string()],
                milliseconds: 7,
            },
        ];
        let xml = junit_xml(&verdicts);
        assert!(xml.contains("tests=\"2\" failures=\"1\""));
        assert!(xml.contains("name=\"b&lt;&amp;&gt;.toml\""));
        assert!(xml.contains("<failure message=\"the restore succeeded \">"));
        assert!(!xml.contains('\u{1}'));
    }
}
