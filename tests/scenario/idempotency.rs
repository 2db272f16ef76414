//! Idempotency scenarios: the writers' requests may differ in headers, never in payload.

use contend::scenario::WorkloadKind;

use crate::{at, only_error, parse, position_of};

pub const IDEMPOTENCY: &str = r#"[workload]
kind = "idempotency"
writers = 8

[resource]
read = { path = "/payments", query = { key = "{unique}" } }
count = "json:/count"

[write]
method = "POST"
path = "/payments"
headers = { "Idempotency-Key" = "{unique}", "X-Request-Id" = "{marker}" }
json = { amount = 100 }

[expect]
winner = [201]
conflict = [409]
"#;

#[test]
fn an_idempotency_write_may_vary_its_headers_but_not_its_payload() {
    let s = parse(IDEMPOTENCY).expect("valid");
    assert_eq!(s.workload.kind, WorkloadKind::Idempotency);
    let text = IDEMPOTENCY.replace("amount = 100", "amount = 100, note = \"{marker}\"");
    let d = only_error(&text);
    assert!(
        d.message.starts_with(
            "the writers' requests must be identical in an idempotency scenario, but `{marker}`"
        ),
        "{}",
        d.message
    );
    assert_eq!(at(&d), position_of(&text, "{ amount"));
}
