use tsdb::model::MatchOp;

use super::*;
use crate::model::{Direction, Hit};

fn select(
    h: &Head,
    matchers: &[Matcher],
    start: i64,
    end: i64,
    direction: Direction,
    limit: usize,
    process: &mut dyn FnMut(&Labels, &Entry) -> Option<Hit>,
) -> Vec<Hit> {
    h.select(
        matchers,
        start,
        end,
        direction,
        limit,
        &LineFilter::ALL,
        process,
    )
    .expect("the head reads")
}

fn push(pairs: &[(&str, &str)], entries: &[(i64, &str)]) -> StreamPush {
    StreamPush {
        labels: Labels::from_pairs(pairs),
        entries: entries.iter().map(|(t, l)| Entry::new(*t, *l)).collect(),
    }
}

fn head() -> Head {
    let h = Head::default();
    h.apply(
        vec![
            push(
                &[("app", "api"), ("env", "prod")],
                &[(10, "a1"), (30, "a3"), (20, "a2")],
            ),
            push(&[("app", "db"), ("env", "prod")], &[(15, "d1"), (25, "d2")]),
            push(&[("app", "web")], &[(5, "w1")]),
        ],
        1,
    );
    h
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).unwrap()
}

fn lines(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.line.as_str()).collect()
}

#[test]
fn matchers_select_streams() {
    let h = head();
    type Case<'a> = (&'a str, Vec<Matcher>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        ("equal", vec![m(MatchOp::Equal, "app", "api")], vec!["api"]),
        (
            "regex",
            vec![m(MatchOp::RegexMatch, "app", "a.*|d.*")],
            vec!["api", "db"],
        ),
        (
            "not equal keeps streams without the label",
            vec![m(MatchOp::NotEqual, "env", "prod")],
            vec!["web"],
        ),
        (
            "not regex",
            vec![m(MatchOp::RegexNoMatch, "app", "api")],
            vec!["db", "web"],
        ),
        (
            "empty value means absent",
            vec![m(MatchOp::Equal, "env", "")],
            vec!["web"],
        ),
        (
            "and",
            vec![
                m(MatchOp::Equal, "env", "prod"),
                m(MatchOp::NotEqual, "app", "api"),
            ],
            vec!["db"],
        ),
        (
            "unknown label",
            vec![m(MatchOp::Equal, "zone", "x")],
            vec![],
        ),
    ];
    for (name, ms, want) in cases {
        let got: Vec<String> = h
            .series(&ms, i64::MIN, i64::MAX)
            .iter()
            .map(|l| l.get("app").to_string())
            .collect();
        let mut got = got;
        got.sort();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn select_orders_limits_and_bounds() {
    let h = head();
    let prod = [m(MatchOp::Equal, "env", "prod")];
    let all = &mut |l: &Labels, e: &Entry| Some(Hit::plain(l, e));
    let back = select(&h, &prod, 0, 100, Direction::Backward, 3, all);
    assert_eq!(lines(&back), vec!["a3", "d2", "a2"], "the newest 3");
    let fwd = select(&h, &prod, 0, 100, Direction::Forward, 3, all);
    assert_eq!(lines(&fwd), vec!["a1", "d1", "a2"], "the oldest 3");
    let bounded = select(&h, &prod, 15, 30, Direction::Forward, 100, all);
    assert_eq!(lines(&bounded), vec!["d1", "a2", "d2"], "start in, end out");
    let filtered = select(&h, &prod, 0, 100, Direction::Forward, 100, &mut |l, e| {
        e.line.ends_with('2').then(|| Hit::plain(l, e))
    });
    assert_eq!(lines(&filtered), vec!["a2", "d2"]);
}

#[test]
fn duplicates_are_dropped_same_time_lines_kept() {
    let h = head();
    let applied = h.apply(
        vec![push(&[("app", "web")], &[(5, "w1"), (5, "w1b"), (5, "w1")])],
        2,
    );
    assert_eq!((applied.entries, applied.duplicates), (1, 2));
    let web = [m(MatchOp::Equal, "app", "web")];
    let got = select(&h, &web, 0, 100, Direction::Forward, 100, &mut |l, e| {
        Some(Hit::plain(l, e))
    });
    assert_eq!(lines(&got), vec!["w1", "w1b"]);
    assert_eq!(h.min_segment(), Some(1));
}

#[test]
fn expiry_drops_old_entries_and_frees_wal_segments() {
    let h = Head::default();
    h.apply(vec![push(&[("app", "x")], &[(10, "a"), (20, "b")])], 3);
    h.apply(vec![push(&[("app", "x")], &[(15, "c"), (30, "d")])], 5);
    h.apply(vec![push(&[("app", "y")], &[(12, "e")])], 4);
    assert_eq!(h.min_segment(), Some(3));
    assert_eq!(h.newest_overall(), Some(30));
    assert_eq!(h.expire(16), 3, "10, 12 and 15 go");
    assert_eq!(h.min_segment(), Some(3), "20 came in segment 3");
    assert_eq!(h.expire(25), 1);
    assert_eq!(h.min_segment(), Some(5), "only 30 is left, from segment 5");
    let all = select(
        &h,
        &[m(MatchOp::RegexMatch, "app", ".+")],
        0,
        100,
        Direction::Forward,
        10,
        &mut |l, e| Some(Hit::plain(l, e)),
    );
    assert_eq!(lines(&all), vec!["d"]);
    assert_eq!(h.streams(), 2, "emptied streams stay known");
}

#[test]
fn deletion_by_selector_time_and_line() {
    let h = head();
    let prod = [m(MatchOp::Equal, "env", "prod")];
    let n = h.delete(&prod, 15, 25, &|e| e.line.ends_with('2') || e.line == "d1");
    assert_eq!(n, 3, "a2 (20), d1 (15), d2 (25): both ends included");
    let all = select(
        &h,
        &[m(MatchOp::RegexMatch, "app", ".+")],
        0,
        100,
        Direction::Forward,
        10,
        &mut |l, e| Some(Hit::plain(l, e)),
    );
    assert_eq!(lines(&all), vec!["w1", "a1", "a3"]);
}

#[test]
fn label_apis() {
    let h = head();
    assert_eq!(h.label_names(&[], 0, 100), vec!["app", "env"]);
    assert_eq!(h.label_values("app", &[], 0, 100), vec!["api", "db", "web"]);
    assert_eq!(
        h.label_values("app", &[], 26, 100),
        vec!["api"],
        "only streams with entries in range"
    );
    assert_eq!(
        h.label_values("env", &[m(MatchOp::Equal, "app", "web")], 0, 100),
        Vec::<String>::new()
    );
}

#[test]
fn entries_on_their_way_into_a_block_stay_visible_and_come_back_on_abort() {
    let h = Head::default();
    h.apply(vec![push(&[("app", "x")], &[(10, "a"), (30, "c")])], 3);
    h.apply(vec![push(&[("app", "x")], &[(20, "b")])], 5);
    let x = [m(MatchOp::Equal, "app", "x")];
    let all = |h: &Head| {
        select(h, &x, 0, 100, Direction::Forward, 10, &mut |l, e| {
            Some(Hit::plain(l, e))
        })
    };
    let f = h.flushable(4);
    assert_eq!(f.streams.len(), 1);
    assert_eq!(f.streams[0].1.entries.len(), 2, "a and c, of segment 3");
    assert_eq!(lines(&all(&h)), vec!["a", "b", "c"], "still read, in order");
    assert_eq!(h.min_segment(), Some(3), "the WAL still needs segment 3");
    assert_eq!(h.newest(&Labels::from_pairs(&[("app", "x")])), Some(30));
    assert_eq!(h.bytes(), 1, "only b is left in the head proper");
    h.abort(f);
    assert_eq!(lines(&all(&h)), vec!["a", "b", "c"]);
    assert_eq!(h.bytes(), 3);
    assert_eq!(
        h.flushable(4).streams[0].1.entries.len(),
        2,
        "flushable again"
    );
}
