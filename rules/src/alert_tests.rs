//! The alert state machine with a fake clock.

use super::*;

const M: i64 = 60_000;

fn cand(instance: &str, v: f64) -> Candidate {
    Candidate {
        labels: Labels::from_pairs(&[("alertname", "Down"), ("instance", instance)]),
        annotations: BTreeMap::new(),
        value: v,
    }
}

fn restored() -> AlertSet {
    AlertSet {
        restored: true,
        ..AlertSet::default()
    }
}

fn states(s: &AlertSet) -> Vec<(String, &'static str)> {
    s.active
        .values()
        .map(|a| (a.labels.get("instance").to_string(), a.state.as_str()))
        .collect()
}

#[test]
fn pending_then_firing_then_resolved() {
    let hold = Hold {
        for_ms: 5 * M,
        ..Hold::default()
    };
    let mut s = restored();
    // (minute, present, expected state)
    let steps: &[(&str, i64, bool, &str)] = &[
        ("first_seen_pending", 0, true, "pending"),
        ("still_pending", 4, true, "pending"),
        ("fires_at_for", 5, true, "firing"),
        ("keeps_firing", 6, true, "firing"),
        ("resolves", 7, false, "inactive"),
    ];
    for (name, minute, present, want) in steps {
        let c = if *present {
            vec![cand("a", 1.0)]
        } else {
            vec![]
        };
        let out = s.eval(minute * M, hold, c).unwrap();
        assert_eq!(states(&s), vec![("a".to_string(), *want)], "{name}");
        if *present {
            let alerts = &out[0].0;
            assert_eq!(alerts.get("__name__"), "ALERTS", "{name}");
            assert_eq!(alerts.get("alertstate"), *want, "{name}");
            assert_eq!(out[1].0.get("__name__"), "ALERTS_FOR_STATE");
            assert_eq!(out[1].1, 0.0, "{name}: active since t=0");
        } else {
            assert!(out.is_empty(), "{name}");
        }
    }
    let a = s.active.values().next().unwrap();
    assert_eq!((a.fired_at, a.resolved_at), (Some(5 * M), Some(7 * M)));
    // Resolved alerts are kept for 15 minutes, then dropped.
    s.eval(22 * M, hold, vec![]).unwrap();
    assert_eq!(s.active.len(), 1, "kept exactly 15m");
    s.eval(23 * M, hold, vec![]).unwrap();
    assert!(s.active.is_empty());
}

#[test]
fn pending_alert_that_disappears_is_dropped() {
    let hold = Hold {
        for_ms: 5 * M,
        ..Hold::default()
    };
    let mut s = restored();
    s.eval(0, hold, vec![cand("a", 1.0)]).unwrap();
    s.eval(M, hold, vec![]).unwrap();
    assert!(s.active.is_empty());
    // Returning starts a new pending period.
    s.eval(2 * M, hold, vec![cand("a", 1.0)]).unwrap();
    assert_eq!(s.active.values().next().unwrap().active_at, 2 * M);
}

#[test]
fn zero_for_fires_at_once_and_keep_firing_for_holds() {
    let hold = Hold {
        for_ms: 0,
        keep_firing_for_ms: 2 * M,
        limit: 0,
    };
    let mut s = restored();
    s.eval(0, hold, vec![cand("a", 1.0)]).unwrap();
    assert_eq!(states(&s)[0].1, "firing");
    let cases: &[(&str, i64, &str)] = &[
        ("kept_from_first_absence", 1, "firing"),
        ("kept_1m_after", 2, "firing"),
        ("ends_2m_after", 3, "inactive"),
    ];
    for (name, minute, want) in cases {
        let out = s.eval(minute * M, hold, vec![]).unwrap();
        assert_eq!(states(&s)[0].1, *want, "{name}");
        assert_eq!(out.is_empty(), *want == "inactive", "{name}");
    }
}

#[test]
fn returning_alert_resets_keep_firing() {
    let hold = Hold {
        for_ms: 0,
        keep_firing_for_ms: 2 * M,
        limit: 0,
    };
    let mut s = restored();
    s.eval(0, hold, vec![cand("a", 1.0)]).unwrap();
    s.eval(M, hold, vec![]).unwrap();
    s.eval(2 * M, hold, vec![cand("a", 1.0)]).unwrap();
    s.eval(3 * M, hold, vec![]).unwrap();
    s.eval(4 * M, hold, vec![]).unwrap();
    assert_eq!(states(&s)[0].1, "firing", "keep_firing_for restarts at 3m");
}

#[test]
fn duplicates_and_limit_fail_the_evaluation() {
    let mut s = restored();
    let err = s
        .eval(0, Hold::default(), vec![cand("a", 1.0), cand("a", 2.0)])
        .unwrap_err();
    assert!(matches!(err, AlertEvalError::DuplicateLabels(_)));
    let hold = Hold {
        limit: 1,
        ..Hold::default()
    };
    let mut s = restored();
    let err = s
        .eval(0, hold, vec![cand("a", 1.0), cand("b", 1.0)])
        .unwrap_err();
    assert_eq!(err.to_string(), "exceeded limit of 1 with 2 alerts");
    assert!(s.active.is_empty());
}

#[test]
fn unrestored_rules_write_no_series() {
    let mut s = AlertSet::default();
    let out = s.eval(0, Hold::default(), vec![cand("a", 1.0)]).unwrap();
    assert!(out.is_empty());
    assert_eq!(s.active.len(), 1);
}

#[test]
fn sending_schedule() {
    let mut s = restored();
    let hold = Hold::default();
    let resend = M;
    s.eval(0, hold, vec![cand("a", 1.0)]).unwrap();
    let steps: &[(&str, i64, bool, usize)] = &[
        ("first_send", 0, true, 1),
        ("not_again_soon", 30_000, true, 0),
        ("not_at_exactly_resend", 60_000, true, 0),
        ("resend_after_a_minute", 61_000, true, 1),
        ("resolved_sent_at_once", 62_000, false, 1),
        ("resolved_resent_after_a_minute", 123_000, false, 1),
    ];
    for (name, t, present, want) in steps {
        let c = if *present {
            vec![cand("a", 1.0)]
        } else {
            vec![]
        };
        s.eval(*t, hold, c).unwrap();
        let due = s.due(*t, resend, 15_000);
        assert_eq!(due.len(), *want, "{name}");
        if let Some(a) = due.first() {
            assert_eq!(a.valid_until, t + 4 * M, "{name}");
        }
    }
    // Pending alerts are never sent.
    let mut p = restored();
    p.eval(0, Hold { for_ms: M, ..hold }, vec![cand("a", 1.0)])
        .unwrap();
    assert!(p.due(0, resend, 15_000).is_empty());
}

#[test]
fn for_state_restoration() {
    let for_ms = 10 * M;
    let grace = 2 * M;
    // The server went down at `down`, the alert had been active since
    // `since`, and it comes back at `now`.
    let cases: &[(&str, i64, i64, i64, i64)] = &[
        // was firing before the outage: keeps its start
        ("was_firing", 0, 15 * M, 20 * M, 0),
        // 9m of 10m spent; 1m left < grace: fires at now + grace
        ("inside_grace", 0, 9 * M, 20 * M, 20 * M + grace - for_ms),
        // 3m spent: the outage does not count as pending time
        ("outage_not_counted", 0, 3 * M, 20 * M, 17 * M),
    ];
    for (name, since, down, now, want) in cases {
        let mut s = AlertSet::default();
        s.eval(
            *now,
            Hold {
                for_ms,
                ..Hold::default()
            },
            vec![cand("a", 1.0)],
        )
        .unwrap();
        let found = |_: &Labels| Some((*down, (*since / 1000) as f64));
        s.restore(*now, for_ms, grace, found);
        assert!(s.restored);
        assert_eq!(s.active.values().next().unwrap().active_at, *want, "{name}");
    }
    let mut s = AlertSet::default();
    s.eval(
        5 * M,
        Hold {
            for_ms,
            ..Hold::default()
        },
        vec![cand("a", 1.0)],
    )
    .unwrap();
    s.restore(5 * M, for_ms, grace, |_| {
        Some((M, f64::from_bits(0x7ff0_0000_0000_0002)))
    });
    assert_eq!(
        s.active.values().next().unwrap().active_at,
        5 * M,
        "stale marker: not restored"
    );
}
