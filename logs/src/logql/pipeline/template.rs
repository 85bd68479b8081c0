//! The templates of `line_format` and `label_format`: the part of Go's
//! `text/template` Loki's templates use — text; actions `{{ pipeline }}`
//! reading labels (`.name`), `__line__` and `__timestamp__`, with
//! constants, function calls and pipes (`{{ .path | trunc 10 | upper }}`);
//! `{{ if }}`, `{{ else if }}`, `{{ else }}`, `{{ end }}`; trim markers
//! `{{-` and `-}}`; comments `{{/* … */}}`. The functions are listed in
//! [`funcs`]. Anything else (`range`, `with`, `define`…) is refused when
//! the query is parsed, naming it; an error while rendering (a division
//! by zero, a number that is not one) is the caller's to report (Loki's
//! `TemplateFormatErr`).
//!
//! - [`expr`]: an action's pipeline, parsed and evaluated;
//! - [`funcs`]: values and functions.

mod expr;
mod funcs;
mod golayout;

use expr::{Pipeline, Scope};

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The source, for printing.
    pub source: String,
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Pipeline),
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
}

/// Text or an action's inside, as the source has them.
enum Item {
    Text(String),
    Action(String),
}

/// How a list of nodes ended.
enum Closer {
    Eof,
    Else,
    ElseIf(Pipeline),
    End,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, String> {
        let items = split(source).map_err(|e| format!("template {source:?}: {e}"))?;
        let mut at = 0;
        let (nodes, end) =
            list(&items, &mut at).map_err(|e| format!("template {source:?}: {e}"))?;
        match end {
            Closer::Eof => Ok(Template {
                source: source.to_string(),
                nodes,
            }),
            _ => Err(format!(
                "template {source:?}: unexpected {{{{ else }}}} or {{{{ end }}}}"
            )),
        }
    }

    /// The template applied: `label` reads a label (empty when absent).
    pub fn render(
        &self,
        label: &dyn Fn(&str) -> String,
        line: &str,
        ts_ns: i64,
    ) -> Result<String, String> {
        let scope = Scope { label, line, ts_ns };
        let mut out = String::new();
        render(&self.nodes, &scope, &mut out)?;
        Ok(out)
    }
}

fn render(nodes: &[Node], scope: &Scope, out: &mut String) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => out.push_str(&p.eval(scope)?.text()),
            Node::If {
                branches,
                otherwise,
            } => {
                let mut taken = false;
                for (cond, body) in branches {
                    if cond.eval(scope)?.truthy() {
                        render(body, scope, out)?;
                        taken = true;
                        break;
                    }
                }
                if !taken {
                    render(otherwise, scope, out)?;
                }
            }
        }
    }
    Ok(())
}

/// Nodes up to the `else`, `else if` or `end` that closes them (or the
/// end of the template).
fn list(items: &[Item], at: &mut usize) -> Result<(Vec<Node>, Closer), String> {
    let mut nodes = Vec::new();
    while let Some(item) = items.get(*at) {
        *at += 1;
        let text = match item {
            Item::Text(t) => {
                nodes.push(Node::Text(t.clone()));
                continue;
            }
            Item::Action(a) => a.trim(),
        };
        let keyword = text.split_whitespace().next().unwrap_or("");
        let rest = text[keyword.len()..].trim();
        match keyword {
            "if" => nodes.push(if_node(items, at, Pipeline::parse(rest)?)?),
            "else" if rest.is_empty() => return Ok((nodes, Closer::Else)),
            "else" => match rest.strip_prefix("if") {
                Some(cond) if cond.starts_with(char::is_whitespace) => {
                    return Ok((nodes, Closer::ElseIf(Pipeline::parse(cond)?)));
                }
                _ => return Err(format!("{{{{ {text} }}}} is not supported")),
            },
            "end" => return Ok((nodes, Closer::End)),
            "range" | "with" | "define" | "template" | "block" | "break" | "continue" => {
                return Err(format!("{{{{ {keyword} }}}} is not supported"));
            }
            _ => nodes.push(Node::Action(Pipeline::parse(text)?)),
        }
    }
    Ok((nodes, Closer::Eof))
}

fn if_node(items: &[Item], at: &mut usize, cond: Pipeline) -> Result<Node, String> {
    let mut branches = Vec::new();
    let mut cond = cond;
    loop {
        let (body, end) = list(items, at)?;
        branches.push((cond, body));
        match end {
            Closer::End => {
                return Ok(Node::If {
                    branches,
                    otherwise: Vec::new(),
                });
            }
            Closer::ElseIf(next) => cond = next,
            Closer::Else => {
                let (otherwise, end) = list(items, at)?;
                if !matches!(end, Closer::End) {
                    return Err("{{ else }} without {{ end }}".into());
                }
                return Ok(Node::If {
                    branches,
                    otherwise,
                });
            }
            Closer::Eof => return Err("{{ if }} without {{ end }}".into()),
        }
    }
}

/// The source cut into text and actions; trim markers applied, comments
/// dropped.
fn split(source: &str) -> Result<Vec<Item>, String> {
    let mut items: Vec<Item> = Vec::new();
    let mut rest = source;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let mut inside = &rest[open + 2..];
        let trim_before = inside.starts_with("- ") || inside.starts_with("-\t");
        if trim_before {
            text = text.trim_end();
            inside = &inside[1..];
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_string()));
        }
        let close = closing(inside).ok_or("unclosed action")?;
        let mut action = &inside[..close];
        trim_next = action.ends_with(" -") || action.ends_with("\t-");
        if trim_next {
            action = &action[..action.len() - 1];
        }
        let trimmed = action.trim();
        if !(trimmed.starts_with("/*") && trimmed.ends_with("*/")) {
            items.push(Item::Action(action.to_string()));
        }
        rest = &inside[close + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        items.push(Item::Text(text.to_string()));
    }
    Ok(items)
}

/// Where an action's `}}` is, outside its quoted strings.
fn closing(inside: &str) -> Option<usize> {
    let b = inside.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
