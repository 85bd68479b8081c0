//! Parsing Go text/template syntax into [`Node`]s: text, `{{pipeline}}`
//! actions, `if`/`else if`/`else`, `range`, `with`, variables (checked for
//! declaration, as Go does), comments and `{{-`/`-}}` trimming.

use super::funcs;

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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Dot(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Str(String),
    Num(String),
    LParen,
    RParen(Vec<String>),
    Bar,
    Declare,
    Assign,
    Comma,
}

/// A parse failure at a line of the template.
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

fn err<T>(line: usize, msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        msg: msg.into(),
    })
}

enum Item {
    Text(String),
    Action(usize, Vec<Tok>),
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

/// Splits text from actions, applying trim markers and dropping comments.
fn split(text: &str) -> Result<Vec<Item>, ParseError> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut line = 1;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            let t = if trim_next { rest.trim_start() } else { rest };
            items.push(Item::Text(t.to_string()));
            break;
        };
        let mut t = &rest[..open];
        if trim_next {
            t = t.trim_start();
        }
        let after = &rest[open + 2..];
        let trim_left = after.starts_with("- ")
            || after.starts_with("-\t")
            || after.starts_with("-\n")
            || after.starts_with("-\r");
        if trim_left {
            t = t.trim_end();
        }
        if !t.is_empty() {
            items.push(Item::Text(t.to_string()));
        }
        line += rest[..open].matches('\n').count();
        let body_start = if trim_left { &after[1..] } else { after };
        let (body, close_len, trim_right) = find_close(body_start).ok_or_else(|| ParseError {
            line,
            msg: "unclosed action".into(),
        })?;
        let inner = &body_start[..body];
        let trimmed = inner.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return err(line, "unclosed comment");
            }
        } else {
            items.push(Item::Action(line, lex(inner, line)?));
        }
        line += inner.matches('\n').count();
        trim_next = trim_right;
        rest = &body_start[body + close_len..];
    }
    Ok(items)
}

/// Finds the `}}` (or ` -}}`) closing an action, skipping quoted text.
/// Returns (length of the body, length of the closer, trims right).
fn find_close(s: &str) -> Option<(usize, usize, bool)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' && q != b'`' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c == b'"' || c == b'`' || c == b'\'' {
                    quote = Some(c);
                } else if s[i..].starts_with(" -}}")
                    || s[i..].starts_with("\t-}}")
                    || s[i..].starts_with("\n-}}")
                {
                    return Some((i, 4, true));
                } else if s[i..].starts_with("}}") {
                    return Some((i, 2, false));
                }
            }
        }
        i += 1;
    }
    None
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `.A.B` chains directly following a token.
fn fields(chars: &[char], i: &mut usize) -> Vec<String> {
    let mut out = Vec::new();
    while *i < chars.len() && chars[*i] == '.' && chars.get(*i + 1).is_some_and(|c| is_ident(*c)) {
        *i += 1;
        let start = *i;
        while *i < chars.len() && is_ident(chars[*i]) {
            *i += 1;
        }
        out.push(chars[start..*i].iter().collect());
    }
    out
}

fn lex(s: &str, line: usize) -> Result<Vec<Tok>, ParseError> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                i += 1;
                toks.push(Tok::RParen(fields(&chars, &mut i)));
            }
            '|' => {
                toks.push(Tok::Bar);
                i += 1;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            '=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            '.' if !chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                let f = fields(&chars, &mut i);
                if f.is_empty() {
                    i += 1;
                }
                toks.push(Tok::Dot(f));
            }
            '$' => {
                i += 1;
                let start = i;
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                let name: String = std::iter::once('$')
                    .chain(chars[start..i].iter().copied())
                    .collect();
                toks.push(Tok::Var(name, fields(&chars, &mut i)));
            }
            '"' | '`' | '\'' => {
                let q = c;
                i += 1;
                let mut v = String::new();
                loop {
                    let Some(&d) = chars.get(i) else {
                        return err(line, "unterminated quoted string");
                    };
                    i += 1;
                    if d == q {
                        break;
                    }
                    if d == '\\' && q != '`' {
                        let Some(&e) = chars.get(i) else {
                            return err(line, "unterminated quoted string");
                        };
                        i += 1;
                        v.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '0' => '\0',
                            other => other,
                        });
                    } else {
                        v.push(d);
                    }
                }
                if q == '\'' {
                    let mut cs = v.chars();
                    match (cs.next(), cs.next()) {
                        (Some(ch), None) => toks.push(Tok::Num((ch as u32).to_string())),
                        _ => return err(line, format!("malformed character constant: '{v}'")),
                    }
                } else {
                    toks.push(Tok::Str(v));
                }
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || chars[i] == '.'
                        || chars[i] == '_'
                        || ((chars[i] == '+' || chars[i] == '-')
                            && matches!(chars[i - 1], 'e' | 'E' | 'p' | 'P')))
                {
                    i += 1;
                }
                toks.push(Tok::Num(chars[start..i].iter().collect()));
            }
            c if is_ident(c) => {
                let start = i;
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                toks.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return err(line, format!("unexpected {other:?} in command")),
        }
    }
    Ok(toks)
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
