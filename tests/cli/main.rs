//! The binary as a user and CI meet it, one module per command or concern: exit codes,
//! messages, report files, what the HTML pages say, the summary's width, thresholds,
//! JUnit, `compare`, the `--jsonl` history, proxies, the shell's completions and man
//! pages, the verdicts CI gates on (INCONCLUSIVE, signals, limits, secrets), and
//! `replay` with the witness files and timelines.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod compare;
mod gate;
mod html;
mod jsonl;
mod junit;
mod messages;
mod proxy;
mod replay;
mod reports;
mod run;
mod serve;
mod shell;
mod validate;
mod verdicts;
mod width;

use std::path::Path;

/// Every element name in a JUnit file, in order; fails if the XML is not well-formed.
fn xml_elements(path: &Path) -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(path).expect("JUnit file exists");
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut found = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attributes = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        (
                            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .expect("value")
                                .into_owned(),
                        )
                    })
                    .collect();
                found.push((
                    String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    attributes,
                ));
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    found
}

/// The value of attribute `name` of a JUnit element, empty if it has none.
fn attr<'a>(element: &'a (String, Vec<(String, String)>), name: &str) -> &'a str {
    element
        .1
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}
