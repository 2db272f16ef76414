//! `contend validate` (and `run`) on scenario files: every error at once, located with a
//! hint, and the shipped scenarios all valid.

use crate::common::binary::{contend, text};
use crate::common::files::shipped;

#[test]
fn a_broken_scenario_file_exits_2_with_file_line_column_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\n[workload]\nkind = \"stale-write\"\nwriterz = 4\n[resource]\nread = { path = \"{id}\" }\nversion = \"header:ETag\"\nid = \"/notes/1\"\n[write]\nmethod = \"PUT\"\npath = \"{id}\"\nheaders = { \"If-Match\" = \"{verison}\" }\njson = { text = \"{marker}\" }\n[expect]\nwinner = [200]\nconflict = [412]\n",
    )
    .unwrap();
    for command in ["validate", "run"] {
        let o = contend(&[command, bad.to_str().unwrap()], dir.path());
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let t = text(&o);
        assert!(t.contains("bad.toml:4:1"), "{t}");
        assert!(t.contains("writers"), "hint names the right key: {t}");
        assert!(t.contains("bad.toml:12:"), "all errors at once: {t}");
        assert!(t.contains("{verison}"), "{t}");
    }
}

#[test]
fn validate_accepts_the_shipped_shipped() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(&["validate", shipped().to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shipped = std::fs::read_dir(shipped())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
        })
        .count();
    assert!(shipped >= 12, "every workload has a shipped scenario");
    assert!(
        text(&o)
            .contains("notes-etag-stale-write (stale-write, 16 writers × 50 rounds, sync auto)"),
        "a scenario without `sync` races in auto: {}",
        text(&o)
    );
    assert!(
        text(&o).contains(&format!("{shipped} scenario file(s) valid")),
        "{}",
        text(&o)
    );
}
