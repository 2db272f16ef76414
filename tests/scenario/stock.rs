//! Stock scenarios: units left or units claimed, read one way, and more writers than
//! units.

use contend::scenario::{Locator, StockLocator, WorkloadKind};

use crate::{at, only_error, parse, position_of};

pub const STOCK: &str = r#"[workload]
kind = "stock"
writers = 8
units = 1

[resource]
create = { path = "/slots", json = { capacity = "{units}" }, id = "header:Location" }
read = { path = "{id}" }
claimed = "json:/bookings"

[write]
method = "POST"
path = "{id}/bookings"
json = { who = "{marker}" }

[expect]
winner = [201]
conflict = [409]
"#;

#[test]
fn a_stock_reads_units_left_or_units_claimed() {
    let s = parse(STOCK).expect("valid");
    assert_eq!(s.workload.kind, WorkloadKind::Stock { units: 1 });
    assert_eq!(
        s.resource.stock,
        Some(StockLocator::Claimed(Locator::Json("/bookings".into())))
    );
    let s = parse(&STOCK.replace("claimed = \"json:/bookings\"", "remaining = \"json:/left\""))
        .expect("valid");
    assert_eq!(
        s.resource.stock,
        Some(StockLocator::Remaining(Locator::Json("/left".into())))
    );
}

#[test]
fn a_stock_needs_more_writers_than_units_and_one_way_to_read_them() {
    let text = STOCK.replace("units = 1", "units = 8");
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "units = 8 leaves no race: a stock round needs more writers than units, and writers = 8"
    );
    assert_eq!(at(&d), position_of(&text, "8\n\n[resource]"));

    let d = only_error(&STOCK.replace("claimed = \"json:/bookings\"\n", ""));
    assert_eq!(
        d.message,
        "[resource] needs `remaining` or `claimed` in a stock scenario"
    );

    let d = only_error(&STOCK.replace(
        "claimed = \"json:/bookings\"",
        "claimed = \"json:/bookings\"\nremaining = \"json:/left\"",
    ));
    assert_eq!(
        d.message,
        "`remaining` and `claimed` cannot both be set in [resource]"
    );
}
