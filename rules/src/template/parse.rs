//! Parsing Go text/template syntax into [`Node`]s: text, `{{pipeline}}`
//! actions, `if`/`else if`/`else`, `range`, `with`, variables (checked for
//! declaration, as Go does), comments and `{{-`/`-}}` trimming.

use super::funcs;
use super::lex::{Item, Tok, split};

/// One element of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    Action {
        line: usize,
        pipe: Pipe,
    },
    If {
        line: usize,
        pipe: Pipe,
        then: Vec<Node>,
        els: Vec<Node>,
    },
    Range {
        line: usize,
        pipe: Pipe,
        body: Vec<Node>,
        els: Vec<Node>,
    },
    With {
        line: usize,
        pipe: Pipe,
        body: Vec<Node>,
        els: Vec<Node>,
    },
    Break,
    Continue,
}

/// `[$a[, $b] :=|=] cmd | cmd …`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pipe {
    pub decl: Vec<String>,
    /// `=` (assign to existing) rather than `:=` (declare).
    pub assign: bool,
    pub cmds: Vec<Vec<Operand>>,
}

/// One operand of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `.` (empty) or `.A.B`.
    Dot(Vec<String>),
    /// `$x.A.B` (`$` is the template's data).
    Var(String, Vec<String>),
    Func(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `(pipeline).A.B`
    Sub(Box<Pipe>, Vec<String>),
}

/// A parse failure at a line of the template.
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

pub(super) fn err<T>(line: usize, msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        msg: msg.into(),
    })
}

/// Parses `text`; `vars` are the variables defined before the template
/// starts (`$` is always defined).
pub fn parse(text: &str, vars: &[&str]) -> Result<Vec<Node>, ParseError> {
    let items = split(text)?;
    let mut p = Parser {
        items,
        pos: 0,
        scopes: vec![
            std::iter::once("$".to_string())
                .chain(vars.iter().map(|v| v.to_string()))
                .collect(),
        ],
        depth_range: 0,
    };
    let (nodes, end) = p.list()?;
    match end {
        None => Ok(nodes),
        Some((line, kw, _)) => err(line, format!("unexpected {{{{{kw}}}}}")),
    }
}

struct Parser {
    items: Vec<Item>,
    pos: usize,
    scopes: Vec<Vec<String>>,
    depth_range: usize,
}

type End = Option<(usize, String, Vec<Tok>)>;

const KEYWORDS: &[&str] = &[
    "end", "else", "if", "range", "with", "break", "continue", "define", "template", "block",
];

impl Parser {
    /// Nodes up to an `{{end}}`/`{{else …}}` (returned with its line and
    /// remaining tokens) or the end of input.
    fn list(&mut self) -> Result<(Vec<Node>, End), ParseError> {
        let mut nodes = Vec::new();
        while self.pos < self.items.len() {
            let item = std::mem::replace(&mut self.items[self.pos], Item::Text(String::new()));
            self.pos += 1;
            match item {
                Item::Text(t) => nodes.push(Node::Text(t)),
                Item::Action(line, toks) => {
                    let kw = match toks.first() {
                        Some(Tok::Ident(k)) if KEYWORDS.contains(&k.as_str()) => k.clone(),
                        _ => {
                            let pipe = self.pipe(line, &toks)?;
                            nodes.push(Node::Action { line, pipe });
                            continue;
                        }
                    };
                    let rest = toks[1..].to_vec();
                    match kw.as_str() {
                        "end" | "else" => return Ok((nodes, Some((line, kw, rest)))),
                        "if" | "range" | "with" => nodes.push(self.control(line, &kw, &rest)?),
                        "break" | "continue" => {
                            if self.depth_range == 0 {
                                return err(line, format!("{{{{{kw}}}}} outside {{{{range}}}}"));
                            }
                            nodes.push(if kw == "break" {
                                Node::Break
                            } else {
                                Node::Continue
                            });
                        }
                        _ => return err(line, format!("{{{{{kw}}}}} is not supported")),
                    }
                }
            }
        }
        Ok((nodes, None))
    }

    fn control(&mut self, line: usize, kw: &str, toks: &[Tok]) -> Result<Node, ParseError> {
        self.scopes.push(Vec::new());
        let pipe = self.pipe(line, toks)?;
        if kw == "range" {
            self.depth_range += 1;
        }
        let (body, end) = self.list()?;
        if kw == "range" {
            self.depth_range -= 1;
        }
        self.scopes.pop();
        let els = match end {
            None => {
                return err(
                    line,
                    format!("unexpected EOF: {{{{{kw}}}}} without {{{{end}}}}"),
                );
            }
            Some((_, e, _)) if e == "end" => Vec::new(),
            Some((eline, _, rest)) => match rest.first() {
                // `else if …` / `else with …`: a nested control that
                // consumes the shared `{{end}}`.
                Some(Tok::Ident(k)) if (k == "if" || k == "with") && rest.len() > 1 => {
                    let k = k.clone();
                    vec![self.control(eline, &k, &rest[1..])?]
                }
                Some(_) => return err(eline, "unexpected tokens after {{else}}"),
                None => {
                    self.scopes.push(Vec::new());
                    let (els, end) = self.list()?;
                    self.scopes.pop();
                    match end {
                        Some((_, e, r)) if e == "end" && r.is_empty() => els,
                        _ => {
                            return err(
                                eline,
                                format!("expected {{{{end}}}} after {{{{else}}}} of {{{{{kw}}}}}"),
                            );
                        }
                    }
                }
            },
        };
        Ok(match kw {
            "if" => Node::If {
                line,
                pipe,
                then: body,
                els,
            },
            "range" => Node::Range {
                line,
                pipe,
                body,
                els,
            },
            _ => Node::With {
                line,
                pipe,
                body,
                els,
            },
        })
    }

    fn declared(&self, v: &str) -> bool {
        self.scopes.iter().any(|s| s.iter().any(|x| x == v))
    }

    fn pipe(&mut self, line: usize, toks: &[Tok]) -> Result<Pipe, ParseError> {
        let mut pipe = Pipe::default();
        let mut toks = toks;
        // Declarations: `$x :=`, `$x =`, `$i, $e :=`.
        let mut names = Vec::new();
        let mut i = 0;
        while let Some(Tok::Var(n, f)) = toks.get(i) {
            if !f.is_empty() {
                break;
            }
            match toks.get(i + 1) {
                Some(Tok::Comma) => {
                    names.push(n.clone());
                    i += 2;
                }
                Some(Tok::Declare) | Some(Tok::Assign) => {
                    names.push(n.clone());
                    pipe.assign = toks.get(i + 1) == Some(&Tok::Assign);
                    toks = &toks[i + 2..];
                    pipe.decl = names.clone();
                    break;
                }
                _ => break,
            }
        }
        if pipe.assign {
            for n in &pipe.decl {
                if !self.declared(n) {
                    return err(line, format!("undefined variable {n:?}"));
                }
            }
        }
        let mut cmd = Vec::new();
        let mut j = 0;
        while j < toks.len() {
            match &toks[j] {
                Tok::Bar => {
                    if cmd.is_empty() {
                        return err(line, "missing command");
                    }
                    pipe.cmds.push(std::mem::take(&mut cmd));
                    j += 1;
                    continue;
                }
                Tok::LParen => {
                    let close = matching_paren(toks, j).ok_or_else(|| ParseError {
                        line,
                        msg: "unclosed left paren".into(),
                    })?;
                    let inner = self.pipe(line, &toks[j + 1..close])?;
                    let Tok::RParen(f) = &toks[close] else {
                        return err(line, "unclosed left paren");
                    };
                    cmd.push(Operand::Sub(Box::new(inner), f.clone()));
                    j = close + 1;
                    continue;
                }
                t => cmd.push(self.operand(line, t)?),
            }
            j += 1;
        }
        if cmd.is_empty() {
            if !pipe.cmds.is_empty() || pipe.decl.is_empty() {
                return err(line, "missing value for command");
            }
        } else {
            pipe.cmds.push(cmd);
        }
        if pipe.cmds.is_empty() {
            return err(line, "missing value for command");
        }
        for (k, c) in pipe.cmds.iter().enumerate() {
            if k > 0 && !matches!(c.first(), Some(Operand::Func(_))) && c.len() > 1 {
                return err(line, "can't give argument to non-function");
            }
        }
        if let (false, Some(scope)) = (pipe.assign, self.scopes.last_mut()) {
            scope.extend(pipe.decl.iter().cloned());
        }
        Ok(pipe)
    }

    fn operand(&self, line: usize, t: &Tok) -> Result<Operand, ParseError> {
        Ok(match t {
            Tok::Dot(f) => Operand::Dot(f.clone()),
            Tok::Var(n, f) => {
                if !self.declared(n) {
                    return err(line, format!("undefined variable {n:?}"));
                }
                Operand::Var(n.clone(), f.clone())
            }
            Tok::Str(s) => Operand::Str(s.clone()),
            Tok::Num(n) => number(n).ok_or_else(|| ParseError {
                line,
                msg: format!("bad number syntax: {n:?}"),
            })?,
            Tok::Ident(id) => match id.as_str() {
                "true" => Operand::Bool(true),
                "false" => Operand::Bool(false),
                "nil" => Operand::Nil,
                f if funcs::exists(f) => Operand::Func(f.to_string()),
                f => return err(line, format!("function {f:?} not defined")),
            },
            Tok::Comma | Tok::Declare | Tok::Assign => {
                return err(line, "unexpected token in operand");
            }
            Tok::LParen | Tok::RParen(_) | Tok::Bar => return err(line, "unexpected parenthesis"),
        })
    }
}

fn matching_paren(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::LParen => depth += 1,
            Tok::RParen(_) => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

fn number(s: &str) -> Option<Operand> {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let int = if let Some(h) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = body.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = body.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|b| b.is_ascii_digit()) {
        i64::from_str_radix(&body[1..], 8).ok()
    } else {
        body.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Some(Operand::Int(if neg { -i } else { i }));
    }
    let f: f64 = body.parse().ok().filter(|f: &f64| f.is_finite())?;
    Some(Operand::Float(if neg { -f } else { f }))
}
