//! The `stock` checker: per round, with K units and more claims than units, exactly K
//! claims succeed, the count never goes below zero, and the units left equal K minus
//! the acknowledged claims (within the indeterminate ones, which may or may not count).

use crate::history::{Outcome, RequestRecord};

use super::round::{rounds, RoundCheck};
use super::{witnesses, Verdict, ViolationKind};

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    for round in rounds(records) {
        let writes = &round.writes;
        let mut c = RoundCheck::new(round.round, writes);
        let initial = round.before.and_then(|r| r.value);
        let left = round.verify.and_then(|r| r.value);
        c.report.version_sent = initial.map(|n| n.to_string());
        c.report.final_version = left.map(|n| n.to_string());
        let Some(units) = initial else {
            c.answers(writes);
            c.finish(verdict);
            continue;
        };
        let winners = i64::from(c.report.winners);
        let undecided = i64::from(c.report.indeterminate);
        let acknowledged = witnesses(writes, |w| w.outcome == Outcome::Winner);

        let mut facts = Vec::new();
        if winners > units {
            facts.push(format!(
                "{winners} claims succeeded but only {units} unit(s) existed ({acknowledged})"
            ));
        }
        if let Some(left) = left {
            let most = units.saturating_sub(winners);
            let least = most.saturating_sub(undecided);
            if left < 0 {
                facts.push(format!("the count went below zero: {left} left"));
            } else if left < least {
                facts.push(format!(
                    "{units} unit(s) less {winners} acknowledged claim(s) leaves {least}{}, but {left} are left: {} unit(s) went to claims that were refused",
                    if undecided > 0 { format!(" (or up to {undecided} fewer)") } else { String::new() },
                    least.saturating_sub(left)
                ));
            } else if left > most {
                facts.push(format!(
                    "{winners} claim(s) were acknowledged but only {} unit(s) were taken ({left} of {units} left): acknowledged claims left the count untouched, so their units can be sold again",
                    units.saturating_sub(left)
                ));
            }
        }
        if !facts.is_empty() {
            c.violation(ViolationKind::Oversell, facts.join("; "));
        }
        let refused_while_left = left.is_some_and(|l| l > 0) && winners < units;
        if refused_while_left && undecided == 0 && c.report.conflicts > 0 {
            c.violation(
                ViolationKind::NoWinner,
                format!(
                    "{} claim(s) were refused ({}) while {} unit(s) were left",
                    c.report.conflicts,
                    witnesses(writes, |w| w.outcome == Outcome::Conflict),
                    left.unwrap_or(0)
                ),
            );
        }
        c.answers(writes);
        c.finish(verdict);
    }
}
