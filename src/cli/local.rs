//! The commands that judge or serve without a target of their own: `validate` (the
//! scenario files), `check` (a saved history, judged again) and `serve` (the reference
//! server).

use super::runs::write_junit;
use super::*;

pub(super) fn validate(paths: &[PathBuf]) -> u8 {
    match scenario::load_paths(paths) {
        Ok(scenarios) => {
            for s in &scenarios {
                let rules = s.workload.kind.rules();
                let mut extras = String::new();
                match s.setup.len() {
                    0 => {}
                    1 => extras.push_str(", 1 set-up step"),
                    n => extras.push_str(&format!(", {n} set-up steps")),
                }
                if s.writes.len() > 1 {
                    extras.push_str(&format!(", {} writes in turn", s.writes.len()));
                }
                if let Some(pace) = s.workload.pace {
                    extras.push_str(&format!(", paced {}", humantime::format_duration(pace)));
                }
                println!(
                    "ok  {}  {} ({}, {}{}{}{}{}{extras})",
                    s.path.display(),
                    s.name,
                    s.workload.kind.name(),
                    workload_settings(&s.workload),
                    match s.thresholds.len() {
                        0 => String::new(),
                        1 => ", 1 threshold".to_string(),
                        n => format!(", {n} thresholds"),
                    },
                    // A counter ignores the key; the others say how their writes are
                    // released (a sustained run: which client its connections speak),
                    // `auto` being chosen when the run starts.
                    if rules.released_together
                        || matches!(s.workload.kind, WorkloadKind::Sustained { .. })
                    {
                        format!(", sync {}", s.sync)
                    } else {
                        String::new()
                    },
                    // Likewise fresh connections, the default.
                    if s.writer_connections == ConnectionPolicy::default()
                        || !rules.released_together
                    {
                        String::new()
                    } else {
                        format!(", {} connections", s.writer_connections)
                    },
                    match s.inconclusive_above {
                        Some(rate) => format!(
                            ", inconclusive above {}",
                            crate::metrics::format(crate::metrics::Unit::Rate, rate)
                        ),
                        None => String::new(),
                    }
                );
            }
            println!("{} scenario file(s) valid", scenarios.len());
            0
        }
        Err(diagnostics) => {
            eprintln!("{}", run::render_diagnostics(&diagnostics));
            2
        }
    }
}

/// How `validate` states a workload's size, in the words of its file: writers × rounds
/// (or increments); for sustained, its connections, hot resources, limit and model.
fn workload_settings(workload: &Workload) -> String {
    let (writers, rounds) = (workload.writers, workload.rounds);
    let WorkloadKind::Sustained {
        resources,
        limit,
        rate,
    } = &workload.kind
    else {
        let steps = match workload.kind.rules().steps {
            Steps::Increments => "increments",
            Steps::Rounds | Steps::Attempts => "rounds",
        };
        return format!("{writers} writers × {rounds} {steps}");
    };
    let limit = match limit {
        SustainedLimit::Duration(d) => humantime::format_duration(*d).to_string(),
        SustainedLimit::Requests(n) => format!("{n} requests"),
    };
    let model = match rate {
        Some(rate) => format!("open model at {rate} attempts/s"),
        None => "closed model".to_string(),
    };
    format!("{writers} connections, {resources} resources, {limit}, {model}")
}

pub(super) fn check_history(
    path: &std::path::Path,
    out: Option<PathBuf>,
    thresholds: &[Threshold],
    inconclusive_above: Option<f64>,
    junit_path: Option<&std::path::Path>,
    layout: terminal::Layout,
) -> u8 {
    let started_at = std::time::SystemTime::now();
    // Each scenario through the pipeline's second half, as `run` does, the file read as
    // a stream.
    let results = match run::recheck(path, thresholds, inconclusive_above) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if results.is_empty() {
        eprintln!(
            "error: the history {} holds no records (it is empty, or only a header); \
             give the requests.csv or the --jsonl file of a run",
            path.display()
        );
        return 2;
    }
    let info = RunInfo {
        started_at,
        seed: None,
        not_run: Vec::new(),
    };
    if let Some(dir) = &out {
        // The wire exchanges the run kept for its witnesses, when they are beside it.
        let beside = path
            .parent()
            .map(|p| p.join(history::wire::EXCHANGES_FILE))
            .filter(|p| p.is_file());
        let exchanges = match beside.map(|p| history::wire::read_wire(&p)) {
            Some(Ok(exchanges)) => exchanges,
            Some(Err(e)) => {
                eprintln!("warning: the witnesses are told without their exchanges: {e}");
                Vec::new()
            }
            None => Vec::new(),
        };
        let written = report::write_rechecked(dir, &info, &results, path)
            .and_then(|_| report::witness::write_all(dir, &results, &exchanges, None));
        if let Err(e) = written {
            eprintln!("error: cannot write reports to {}: {e}", dir.display());
            return 2;
        }
    }
    print!(
        "{}",
        terminal::render_in(&results, out.as_deref(), colour(), layout)
    );
    let code = report::exit_code(&results, false);
    if let Some(junit_path) = junit_path {
        if let Err(e) = write_junit(junit_path, &info, &results, out.as_deref()) {
            eprintln!("error: {e}");
            return if code == 1 { 1 } else { 2 };
        }
    }
    code
}

pub(super) async fn serve(
    addr: SocketAddr,
    config: ServerConfig,
    fault: Option<Fault>,
    tls: Option<PathBuf>,
    client_ca: Option<PathBuf>,
) -> u8 {
    let mut behaviour = match config.bug {
        Some(bug) => format!("bug {} with a {:?} window", bug.name(), config.window),
        None => "correct".to_string(),
    };
    if let Some(fault) = fault {
        if tls.is_some() {
            eprintln!("error: --fault serves plain http (HTTP/1.1 and h2c) only; leave out --tls");
            return 2;
        }
        behaviour.push_str(&format!(", fault {fault} in every answer to a write"));
    }
    let started = match &tls {
        None => server::start_with(config, fault, addr)
            .await
            .map_err(|e| e.to_string()),
        Some(cert_file) => {
            let identity = match server::SelfSigned::generate() {
                Ok(identity) => identity,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            };
            if let Err(e) = std::fs::write(cert_file, &identity.cert_pem) {
                eprintln!("error: cannot write {}: {e}", cert_file.display());
                return 2;
            }
            let client_ca = match &client_ca {
                None => None,
                Some(path) => match std::fs::read(path) {
                    Ok(pem) => Some(pem),
                    Err(e) => {
                        eprintln!("error: --client-ca {}: {e}", path.display());
                        return 2;
                    }
                },
            };
            server::start_tls_with(config, addr, &identity, client_ca.as_deref())
                .await
                .map_err(|e| e.to_string())
        }
    };
    match started {
        Ok(running) => {
            let url = match &tls {
                None => running.base_url(),
                Some(_) => running.base_url().replacen("http://", "https://", 1),
            };
            println!("contend reference server ({behaviour}) listening on {url}");
            match &tls {
                None => println!("  HTTP/1.1, and HTTP/2 with prior knowledge (h2c)"),
                Some(cert) => println!(
                    "  HTTP/1.1 and HTTP/2 over TLS; self-signed certificate in {} (contend run --ca-cert {})",
                    cert.display(),
                    cert.display()
                ),
            }
            if let Some(ca) = &client_ca {
                println!(
                    "  mutual TLS: clients must present a certificate signed by a CA in {} (contend run --client-cert FILE --client-key FILE)",
                    ca.display()
                );
            }
            println!("  /notes     ETag + If-Match (412; 428 without If-Match)");
            println!("  /docs      JSON version field (409 with current_version)");
            println!("  /db        CouchDB-style _rev (409)");
            println!("  /users     unique email (409 with conflicting_field and existing)");
            println!("  /files     create-only PUT with If-None-Match: * (412 with ETag)");
            println!("  /orders    state transitions (409 with current_state)");
            println!("  /items     stock purchases (409 with available)");
            println!("  /slots     bookings up to capacity (409 with available)");
            println!("  /payments  Idempotency-Key (409 in flight, 422 other payload, replay)");
            println!("Ctrl-C (or SIGTERM) stops it.");
            match Signals::new() {
                Ok(mut signals) => {
                    let _ = signals.next().await;
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            running.stop().await;
            0
        }
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            2
        }
    }
}
