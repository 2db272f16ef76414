//! `actionable` in [expect]: what a conflict answer must carry, each requirement
//! checked and located.

use crate::unique_create::UNIQUE;
use crate::{at, only_error, position_of};

#[test]
fn actionable_requirements_are_checked() {
    let text = UNIQUE.replace("level = \"warning\"", "level = \"fatal\"");
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "unknown level `fatal` for `level` in [expect.actionable]"
    );
    let text = UNIQUE.replace(
        "content_type = [\"json\"]",
        "content_type = [\"problem json\"]",
    );
    let d = only_error(&text);
    assert_eq!(d.message, "`problem json` is not a media type");
    assert_eq!(at(&d), position_of(&text, "\"problem json\""));
    let text = UNIQUE.replace("\"header:ETag\"", "\"etag\"");
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "`etag` is not a locator for `carries` in [expect.actionable]"
    );
    let d = only_error(&UNIQUE.replace(
        "actionable = { carries = [\"json:/existing\", \"header:ETag\"], content_type = [\"json\"], level = \"warning\" }",
        "actionable = { level = \"warning\" }",
    ));
    assert_eq!(d.message, "`actionable` in [expect] asks for nothing");
}
