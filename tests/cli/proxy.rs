//! Proxy variables: ignored the same way by every client, and the run says so.

use crate::common::binary::{contend_with_env, text};
use crate::common::files::{core_scenarios, sustained_scenario};

#[test]
fn proxy_variables_are_ignored_by_every_client_and_the_run_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // A proxy that refuses every connection: a request sent through it fails.
    let dead = "http://127.0.0.1:1";
    let env = [
        ("HTTP_PROXY", dead),
        ("https_proxy", dead),
        ("ALL_PROXY", dead),
    ];
    let sustained = sustained_scenario(dir.path(), "/notes", "requests = 40");
    let core = core_scenarios(dir.path());
    for sync in ["barrier", "last-byte", "single-packet"] {
        let o = contend_with_env(
            &[
                "run",
                &core,
                sustained.to_str().unwrap(),
                "--sync",
                sync,
                "--writers",
                "3",
                "--rounds",
                "2",
                "--out",
                sync,
            ],
            dir.path(),
            &env,
        );
        assert_eq!(o.status.code(), Some(0), "sync {sync}: {}", text(&o));
        assert!(
            text(&o).contains("Run verdict: PASS (5 PASS)"),
            "{}",
            text(&o)
        );
        assert!(
            text(&o).contains("HTTP_PROXY, https_proxy, ALL_PROXY ignored: every request goes straight to the target"),
            "{}",
            text(&o)
        );
    }
}
