//! How a scenario's writes are released together (`sync`: a mode, or `auto`, and the
//! mode that ran) and how its writers' connections live (`writer_connections`).
//!
//! Part of the scenario model ([`super::model`] re-exports every type here); nothing
//! here does I/O.

/// How a round's writes are released so that they reach the server together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// One warmed connection per writer; every writer's task waits at a barrier and the
    /// last one to arrive releases all the sends.
    Barrier,
    /// HTTP/1.1: one warmed connection per writer; every request is written except its
    /// last byte, then all last bytes, sealed in advance, are written in one batch.
    LastByte,
    /// HTTP/2: every write of the round on one connection, each stream's final DATA frame
    /// withheld, then all final frames flushed in one write.
    SinglePacket,
}

impl SyncMode {
    /// Every mode, in documentation order.
    pub const ALL: [SyncMode; 3] = [
        SyncMode::Barrier,
        SyncMode::LastByte,
        SyncMode::SinglePacket,
    ];

    /// The name used in scenario files, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::Barrier => "barrier",
            SyncMode::LastByte => "last-byte",
            SyncMode::SinglePacket => "single-packet",
        }
    }
}

impl std::fmt::Display for SyncMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SyncMode {
    type Err = String;

    /// Parses a mode's name; the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SyncMode::ALL
            .into_iter()
            .find(|m| m.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown sync mode `{}`; the modes are barrier, last-byte and single-packet",
                    s.trim()
                )
            })
    }
}

/// The `sync` a scenario asks for: one mode, or `auto`, the strongest mode the target
/// takes, chosen when the scenario starts by the check each mode makes of a target
/// (single-packet where HTTP/2 is spoken with a stream per writer, else last-byte where
/// HTTP/1.1 is, else barrier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncChoice {
    /// The strongest mode the target takes (see [`SyncChoice::CANDIDATES`]).
    #[default]
    Auto,
    /// This mode, or the scenario stops with the reason it cannot be used.
    Fixed(SyncMode),
}

impl SyncChoice {
    /// The modes `auto` tries, strongest first; barrier always works.
    pub const CANDIDATES: [SyncMode; 3] = [
        SyncMode::SinglePacket,
        SyncMode::LastByte,
        SyncMode::Barrier,
    ];

    /// `auto`, then every mode: each name a scenario file or `--sync` takes.
    pub const ALL: [SyncChoice; 4] = [
        SyncChoice::Auto,
        SyncChoice::Fixed(SyncMode::Barrier),
        SyncChoice::Fixed(SyncMode::LastByte),
        SyncChoice::Fixed(SyncMode::SinglePacket),
    ];

    /// The name used in scenario files, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SyncChoice::Auto => "auto",
            SyncChoice::Fixed(mode) => mode.name(),
        }
    }

    /// The modes to try, strongest first, given the writers' connection policy: `auto`
    /// leaves out single-packet when the connections are to be kept, which it cannot do.
    pub fn candidates(self, connections: ConnectionPolicy) -> Vec<SyncMode> {
        match self {
            SyncChoice::Fixed(mode) => vec![mode],
            SyncChoice::Auto => SyncChoice::CANDIDATES
                .into_iter()
                .filter(|m| connections.refused_in(SyncChoice::Fixed(*m)).is_none())
                .collect(),
        }
    }

    /// The modes to try for a `sustained` workload, whose writes are never released
    /// together: there the mode chooses the connections' client, and `auto` tries
    /// contend's own HTTP/1.1 client first (as `last-byte`; a fraction of reqwest's cost
    /// per request), then HTTP/2 through reqwest (as `single-packet`), for targets that
    /// speak nothing else.
    pub fn sustained_candidates(self) -> Vec<SyncMode> {
        match self {
            SyncChoice::Fixed(mode) => vec![mode],
            SyncChoice::Auto => vec![SyncMode::LastByte, SyncMode::SinglePacket],
        }
    }
}

impl From<SyncMode> for SyncChoice {
    fn from(mode: SyncMode) -> Self {
        SyncChoice::Fixed(mode)
    }
}

impl std::fmt::Display for SyncChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SyncChoice {
    type Err = String;

    /// Parses `auto` or a mode's name; the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SyncChoice::ALL
            .into_iter()
            .find(|c| c.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown sync mode `{}`; the modes are auto (the default), barrier, \
                     last-byte and single-packet",
                    s.trim()
                )
            })
    }
}

/// The mode a scenario's writes were released in, and whether `auto` chose it: what the
/// reports name (`auto → single-packet`), so a user knows which mode ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncRan {
    pub mode: SyncMode,
    /// Chosen by `sync = "auto"`, not named by the scenario or `--sync`.
    pub auto: bool,
}

impl SyncRan {
    /// What the scenario asked for: `auto`, or the mode itself.
    pub fn asked(self) -> SyncChoice {
        if self.auto {
            SyncChoice::Auto
        } else {
            SyncChoice::Fixed(self.mode)
        }
    }
}

impl std::fmt::Display for SyncRan {
    /// `auto → single-packet`, or just the mode when the scenario named it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.auto {
            write!(f, "auto → {}", self.mode)
        } else {
            f.write_str(self.mode.name())
        }
    }
}

impl std::str::FromStr for SyncRan {
    type Err = String;

    /// Reads what [`SyncRan`]'s `Display` writes: `auto → MODE` or `MODE`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (auto, mode) = match s.strip_prefix("auto") {
            Some(rest) if rest.trim_start().starts_with('→') => {
                (true, rest.trim_start().trim_start_matches('→'))
            }
            _ => (false, s),
        };
        let mode = mode.trim().parse::<SyncMode>()?;
        Ok(SyncRan { mode, auto })
    }
}

/// A mode `auto` tried before the one it chose, and why the target could not take it
/// (no HTTP/2, too few streams a connection): what the reports say beside the mode
/// that ran, so a user knows why it was not a stronger one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    pub mode: SyncMode,
    pub why: String,
}

impl std::fmt::Display for PassedOver {
    /// `single-packet: why`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.mode, self.why)
    }
}

impl std::str::FromStr for PassedOver {
    type Err = String;

    /// Reads what [`PassedOver`]'s `Display` writes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (mode, why) = s
            .split_once(": ")
            .ok_or_else(|| format!("`{s}` is not `MODE: why`"))?;
        Ok(PassedOver {
            mode: mode.parse()?,
            why: why.to_string(),
        })
    }
}

/// How long the writers' connections live (`writer_connections`): what decides which
/// worker processes of a multi-process server a round's writes reach.
///
/// A server that runs several worker processes on one port (gunicorn, uvicorn, Puma,
/// Node's cluster) hands each new connection to one of them. Connections kept for the
/// whole scenario sit where the kernel put them at its start, so if they all landed in
/// one worker, a bug that needs two processes to race is never seen; fresh connections
/// are placed again every round. Either way a round's connections are opened and warmed
/// before its race, so connection set-up never falls inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionPolicy {
    /// One connection per writer, opened at the first round and kept for the scenario
    /// (reopened only after the server closed it).
    Kept,
    /// New connections for every round: the last round's are closed, and each writer
    /// opens and warms a new one before the race. `single-packet` always works this way.
    #[default]
    Fresh,
}

impl ConnectionPolicy {
    /// Every policy, in documentation order.
    pub const ALL: [ConnectionPolicy; 2] = [ConnectionPolicy::Fresh, ConnectionPolicy::Kept];

    /// The name used in scenario files, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionPolicy::Kept => "kept",
            ConnectionPolicy::Fresh => "fresh",
        }
    }

    /// Why this policy cannot be used with `sync`, if it cannot: `single-packet` puts a
    /// round's writes on one HTTP/2 connection of its own, new every round (`auto` then
    /// chooses among the other modes).
    pub fn refused_in(self, sync: SyncChoice) -> Option<String> {
        match (self, sync) {
            (ConnectionPolicy::Kept, SyncChoice::Fixed(SyncMode::SinglePacket)) => Some(
                "sync = \"single-packet\" opens one HTTP/2 connection for every round (all of \
                 the round's writes on it), so its connections cannot be kept"
                    .to_string(),
            ),
            (ConnectionPolicy::Kept | ConnectionPolicy::Fresh, _) => None,
        }
    }
}

impl std::fmt::Display for ConnectionPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ConnectionPolicy {
    type Err = String;

    /// Parses a policy's name; the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConnectionPolicy::ALL
            .into_iter()
            .find(|p| p.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown connection policy `{}`; the policies are fresh (new connections \
                     every round) and kept (kept for the scenario)",
                    s.trim()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_sync_ran_says_reads_back_as_the_same_choice() {
        for mode in [
            SyncMode::Barrier,
            SyncMode::LastByte,
            SyncMode::SinglePacket,
        ] {
            for auto in [false, true] {
                let ran = SyncRan { mode, auto };
                assert_eq!(ran.to_string().parse::<SyncRan>(), Ok(ran));
            }
        }
        assert!(
            "auto".parse::<SyncRan>().is_err(),
            "auto alone names no mode"
        );
    }

    #[test]
    fn a_mode_passed_over_reads_back_with_its_reason_whole() {
        let passed = PassedOver {
            mode: SyncMode::SinglePacket,
            why: "needs HTTP/2: http://h:1 said: no (twice: no)".into(),
        };
        assert_eq!(
            passed.to_string(),
            "single-packet: needs HTTP/2: http://h:1 said: no (twice: no)"
        );
        assert_eq!(passed.to_string().parse::<PassedOver>(), Ok(passed));
        assert!("single-packet".parse::<PassedOver>().is_err());
        assert!("no-such-mode: why".parse::<PassedOver>().is_err());
    }
}
