//! Line numbers for YAML nodes. `serde_yaml_ng` reports where a syntax or
//! type error is but not where a value came from, so validation errors use
//! this small scanner of *block-style* YAML (what rule files are written
//! in) to name the line of a group, a rule and a rule's keys. Anything the
//! scanner does not understand (flow collections, multi-line scalars) is a
//! leaf; a missing position only makes a message less precise.

use std::collections::BTreeMap;

/// A node of the scanned document with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PosNode {
    pub line: usize,
    /// Mapping entries: key → (line, column of the value, value node).
    pub keys: BTreeMap<String, (usize, usize, PosNode)>,
    /// Sequence items in order.
    pub items: Vec<PosNode>,
}

impl PosNode {
    /// The node under `key`, if the scanner saw one.
    pub fn key(&self, key: &str) -> Option<&PosNode> {
        self.keys.get(key).map(|(_, _, n)| n)
    }

    /// Line and column of the value of `key`.
    pub fn value_pos(&self, key: &str) -> Option<(usize, usize)> {
        self.keys.get(key).map(|(l, c, _)| (*l, *c))
    }

    /// The `i`th sequence item.
    pub fn item(&self, i: usize) -> Option<&PosNode> {
        self.items.get(i)
    }
}

struct Line {
    no: usize,
    indent: usize,
    text: String,
}

/// Scans `text` into a tree of positions. Never fails.
pub fn scan(text: &str) -> PosNode {
    let mut lines: Vec<Line> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let t = l.trim_start_matches(' ');
            if t.is_empty() || t.starts_with('#') || t == "---" {
                return None;
            }
            Some(Line {
                no: i + 1,
                indent: l.len() - t.len(),
                text: t.trim_end().to_string(),
            })
        })
        .collect();
    let mut i = 0;
    parse_node(&mut lines, &mut i, 0)
}

fn is_dash(t: &str) -> bool {
    t == "-" || t.starts_with("- ")
}

/// The key of a `key: value` line and the byte offset of the value.
fn split_key(t: &str) -> Option<(String, usize)> {
    let (key, after) = if let Some(q) = t.strip_prefix('"').or_else(|| t.strip_prefix('\'')) {
        let quote = t.as_bytes()[0] as char;
        let end = q.find(quote)?;
        (q[..end].to_string(), end + 2)
    } else {
        let end = t.find(": ").or_else(|| t.strip_suffix(':').map(str::len))?;
        (t[..end].trim_end().to_string(), end)
    };
    let rest = t.get(after..)?;
    let rest = rest.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let value_off = after + 1 + (rest.len() - rest.trim_start().len());
    Some((key, value_off))
}

fn parse_node(lines: &mut [Line], i: &mut usize, min_indent: usize) -> PosNode {
    let Some(first) = lines.get(*i) else {
        return PosNode::default();
    };
    if first.indent < min_indent {
        return PosNode::default();
    }
    let indent = first.indent;
    let mut node = PosNode {
        line: first.no,
        ..PosNode::default()
    };
    if is_dash(&first.text) {
        while let Some(l) = lines.get_mut(*i) {
            if l.indent != indent || !is_dash(&l.text) {
                break;
            }
            let item_line = l.no;
            let rest = l.text[1..].trim_start().to_string();
            let mut item = if rest.is_empty() || rest.starts_with('#') {
                *i += 1;
                parse_node(lines, i, indent + 1)
            } else {
                // Re-read the item's first line as if the dash were spaces.
                let pad = l.text.len() - rest.len();
                l.indent = indent + pad;
                l.text = rest;
                parse_node(lines, i, indent + 1)
            };
            item.line = item_line;
            node.items.push(item);
        }
        return node;
    }
    if split_key(&first.text).is_none() {
        // A scalar (or something not understood): skip it and its
        // continuation lines.
        *i += 1;
        skip_deeper(lines, i, indent);
        return node;
    }
    while let Some(l) = lines.get(*i) {
        if l.indent != indent || is_dash(&l.text) {
            break;
        }
        let Some((key, off)) = split_key(&l.text) else {
            break;
        };
        let (line, col) = (l.no, l.indent + off + 1);
        let inline = l.text[off..].trim();
        *i += 1;
        let child = if inline.is_empty() || inline.starts_with('#') {
            match lines.get(*i) {
                Some(n) if n.indent > indent || (n.indent == indent && is_dash(&n.text)) => {
                    let n_line = n.no;
                    let c = parse_node(lines, i, indent);
                    keys_insert(&mut node, key, (n_line, col, c));
                    continue;
                }
                _ => PosNode {
                    line,
                    ..PosNode::default()
                },
            }
        } else {
            skip_deeper(lines, i, indent);
            PosNode {
                line,
                ..PosNode::default()
            }
        };
        keys_insert(&mut node, key, (line, col, child));
    }
    node
}

fn keys_insert(node: &mut PosNode, key: String, v: (usize, usize, PosNode)) {
    node.keys.entry(key).or_insert(v);
}

fn skip_deeper(lines: &[Line], i: &mut usize, indent: usize) {
    while lines.get(*i).is_some_and(|l| l.indent > indent) {
        *i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_rules_and_keys() {
        let text = "# c\ngroups:\n  - name: a\n    rules:\n      - record: x\n        expr: |\n          up\n          + 1\n      - alert: Y\n        expr: up == 0\n        labels:\n          s: p\ngroups2:\n- name: b\n  rules:\n  - record: z\n    expr: 1\n";
        let root = scan(text);
        let groups = root.key("groups").unwrap();
        assert_eq!(groups.items.len(), 1);
        let g = groups.item(0).unwrap();
        assert_eq!(g.line, 3);
        let rules = g.key("rules").unwrap();
        assert_eq!(
            rules.items.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![5, 9]
        );
        assert_eq!(rules.item(1).unwrap().value_pos("expr"), Some((10, 15)));
        assert_eq!(rules.item(0).unwrap().value_pos("record"), Some((5, 17)));
        let g2 = root.key("groups2").unwrap();
        assert_eq!(g2.item(0).unwrap().line, 14);
        let r = g2.item(0).unwrap().key("rules").unwrap().item(0).unwrap();
        assert_eq!(r.line, 16);
        assert_eq!(r.value_pos("expr"), Some((17, 11)));
    }

    #[test]
    fn quoted_keys_and_odd_input_do_not_panic() {
        let cases = [
            ("quoted", "\"a b\": 1\n'c': 2\n"),
            ("flow", "groups: [{name: a}]\n"),
            ("tabs", "a:\n\t- x\n"),
            ("dash_only", "-\n-\n  - 1\n"),
            ("colon_in_value", "expr: a{b=\"c:d\"}\n"),
        ];
        for (name, text) in cases {
            let n = scan(text);
            assert!(n.line > 0, "{name}");
        }
        let n = scan("\"a b\": 1\n'c': 2\n");
        assert!(n.keys.contains_key("a b") && n.keys.contains_key("c"));
    }
}
