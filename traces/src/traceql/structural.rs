//! Structural relations between two spansets of one trace, following
//! [`TraceView::parent`] links. A parent index out of range is read as no
//! parent; a parent cycle is cut after `len()` steps.

use super::ast::SpansetOp;
use super::value::TraceView;

/// The spans of `r` related by `op` to some span of `l` (both sorted and
/// deduplicated; so is the result):
/// - `Descendant` (`>>`): `r` spans with an ancestor in `l`;
/// - `Child` (`>`): `r` spans whose parent is in `l`;
/// - `Sibling` (`~`): `r` spans sharing a parent with another span of `l`;
/// - `Ancestor` (`<<`): `r` spans that are an ancestor of an `l` span;
/// - `Parent` (`<`): `r` spans that are the parent of an `l` span.
///
/// `And` and `Or` are not structural and select nothing here.
pub(crate) fn relate(op: SpansetOp, l: &[usize], r: &[usize], trace: &dyn TraceView) -> Vec<usize> {
    let n = trace.len();
    let parent = |s: usize| trace.parent(s).filter(|&p| p < n && p != s);
    let mut in_l = vec![false; n];
    for &s in l {
        in_l[s] = true;
    }
    let keep: Box<dyn Fn(usize) -> bool + '_> = match op {
        SpansetOp::Child => Box::new(|s| parent(s).is_some_and(|p| in_l[p])),
        SpansetOp::Descendant => Box::new(|s| {
            let mut at = s;
            for _ in 0..n {
                match parent(at) {
                    Some(p) if in_l[p] => return true,
                    Some(p) => at = p,
                    None => return false,
                }
            }
            false
        }),
        SpansetOp::Sibling => {
            // How many `l` spans each span is the parent of.
            let mut l_children = vec![0usize; n];
            for &s in l {
                if let Some(p) = parent(s) {
                    l_children[p] += 1;
                }
            }
            Box::new(move |s| parent(s).is_some_and(|p| l_children[p] > usize::from(in_l[s])))
        }
        SpansetOp::Parent => {
            let mut is_parent = vec![false; n];
            for &s in l {
                if let Some(p) = parent(s) {
                    is_parent[p] = true;
                }
            }
            Box::new(move |s| is_parent[s])
        }
        SpansetOp::Ancestor => {
            let mut is_ancestor = vec![false; n];
            for &s in l {
                let mut at = s;
                for _ in 0..n {
                    match parent(at) {
                        // Marked before: so is everything above it.
                        Some(p) if is_ancestor[p] => break,
                        Some(p) => {
                            is_ancestor[p] = true;
                            at = p;
                        }
                        None => break,
                    }
                }
            }
            Box::new(move |s| is_ancestor[s])
        }
        SpansetOp::And | SpansetOp::Or => return Vec::new(),
    };
    r.iter().copied().filter(|&s| keep(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::value::{Kind, Status, Value};
    use super::*;

    /// Spans with only parent links.
    struct Tree(Vec<Option<usize>>);

    impl TraceView for Tree {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn name(&self, _: usize) -> &str {
            ""
        }
        fn status(&self, _: usize) -> Status {
            Status::Unset
        }
        fn status_message(&self, _: usize) -> &str {
            ""
        }
        fn kind(&self, _: usize) -> Kind {
            Kind::Internal
        }
        fn duration_ns(&self, _: usize) -> u64 {
            0
        }
        fn parent(&self, span: usize) -> Option<usize> {
            self.0[span]
        }
        fn span_attr(&self, _: usize, _: &str) -> Option<Value<'_>> {
            None
        }
        fn resource_attr(&self, _: usize, _: &str) -> Option<Value<'_>> {
            None
        }
        fn root_name(&self) -> Option<&str> {
            None
        }
        fn root_service_name(&self) -> Option<&str> {
            None
        }
        fn trace_duration_ns(&self) -> u64 {
            0
        }
    }

    #[test]
    fn relations() {
        // 0 ─┬─ 1 ─── 3
        //    └─ 2 ─── 4 ─── 5
        let tree = Tree(vec![None, Some(0), Some(0), Some(1), Some(2), Some(4)]);
        let all = [0, 1, 2, 3, 4, 5];
        type Case<'a> = (&'a str, SpansetOp, &'a [usize], &'a [usize], &'a [usize]);
        let cases: &[Case] = &[
            ("child", SpansetOp::Child, &[0], &all, &[1, 2]),
            ("child_of_leaf", SpansetOp::Child, &[5], &all, &[]),
            ("descendant", SpansetOp::Descendant, &[2], &all, &[4, 5]),
            (
                "descendant_of_root",
                SpansetOp::Descendant,
                &[0],
                &all,
                &[1, 2, 3, 4, 5],
            ),
            ("sibling", SpansetOp::Sibling, &[1], &all, &[2]),
            ("sibling_not_itself", SpansetOp::Sibling, &[3], &all, &[]),
            (
                "siblings_of_both",
                SpansetOp::Sibling,
                &[1, 2],
                &all,
                &[1, 2],
            ),
            ("root_has_no_sibling", SpansetOp::Sibling, &[0], &all, &[]),
            ("parent", SpansetOp::Parent, &[3, 4], &all, &[1, 2]),
            (
                "ancestor",
                SpansetOp::Ancestor,
                &[5, 3],
                &all,
                &[0, 1, 2, 4],
            ),
            (
                "rhs_restricts",
                SpansetOp::Descendant,
                &[0],
                &[3, 5],
                &[3, 5],
            ),
            ("not_structural", SpansetOp::And, &[0], &all, &[]),
        ];
        for (name, op, l, r, want) in cases {
            assert_eq!(relate(*op, l, r, &tree), *want, "{name}");
        }
    }

    #[test]
    fn broken_parent_links_terminate() {
        // 0 and 1 are each other's parent; 2 points out of range.
        let tree = Tree(vec![Some(1), Some(0), Some(9)]);
        let all = [0, 1, 2];
        assert_eq!(
            relate(SpansetOp::Descendant, &[2], &all, &tree),
            [] as [usize; 0]
        );
        assert_eq!(relate(SpansetOp::Ancestor, &[0], &all, &tree), [0, 1]);
    }
}
