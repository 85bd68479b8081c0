//! An action's pipeline: `command (| command)*`, each command a value or a
//! function with arguments; a command after `|` gets the value before it
//! as its last argument, as in Go's `text/template`.

use super::funcs::{self, Func, Value};

/// A parsed pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline(Vec<Command>);

#[derive(Debug, Clone, PartialEq)]
enum Command {
    Value(Arg),
    Call(Func, Vec<Arg>),
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Label(String),
    Line,
    Timestamp,
    Const(Value),
    Sub(Pipeline),
}

/// What an action reads while it renders.
pub struct Scope<'a> {
    pub label: &'a dyn Fn(&str) -> String,
    pub line: &'a str,
    pub ts_ns: i64,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(String),
    Pipe,
    Open,
    Close,
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '|' => {
                chars.next();
                out.push(Token::Pipe);
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string".into()),
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => s.push('\n'),
                            Some((_, 't')) => s.push('\t'),
                            Some((_, 'r')) => s.push('\r'),
                            Some((_, c @ ('\\' | '"' | '\''))) => s.push(c),
                            other => {
                                return Err(format!(
                                    "unknown escape \\{}",
                                    other.map_or(String::new(), |(_, c)| c.to_string())
                                ));
                            }
                        },
                        Some((_, c)) => s.push(c),
                    }
                }
                out.push(Token::Str(s));
            }
            '`' => {
                chars.next();
                let rest = &text[at + 1..];
                let end = rest.find('`').ok_or("unterminated raw string")?;
                out.push(Token::Str(rest[..end].to_string()));
                while chars.peek().is_some_and(|&(i, _)| i <= at + 1 + end) {
                    chars.next();
                }
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '|' | '(' | ')' | '"' | '`') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                let numeric = word.starts_with(|c: char| c.is_ascii_digit())
                    || (word.len() > 1 && word.starts_with(['-', '+']));
                out.push(if numeric {
                    Token::Num(word)
                } else {
                    Token::Word(word)
                });
            }
        }
    }
    Ok(out)
}

impl Pipeline {
    /// Parses an action's text (without its braces and keyword).
    pub fn parse(text: &str) -> Result<Pipeline, String> {
        let tokens = lex(text)?;
        let (p, used) = pipeline(&tokens)?;
        if used != tokens.len() {
            return Err(format!("unexpected {:?}", tokens[used]));
        }
        Ok(p)
    }

    pub fn eval(&self, scope: &Scope) -> Result<Value, String> {
        let mut prev: Option<Value> = None;
        for cmd in &self.0 {
            let v = match cmd {
                Command::Value(a) => {
                    if prev.is_some() {
                        return Err("a value cannot follow |".into());
                    }
                    arg(a, scope)?
                }
                Command::Call(f, args) => {
                    let mut vals = args
                        .iter()
                        .map(|a| arg(a, scope))
                        .collect::<Result<Vec<_>, _>>()?;
                    vals.extend(prev.take());
                    funcs::call(*f, vals)?
                }
            };
            prev = Some(v);
        }
        prev.ok_or_else(|| "empty pipeline".into())
    }
}

fn arg(a: &Arg, scope: &Scope) -> Result<Value, String> {
    Ok(match a {
        Arg::Label(n) => Value::Str((scope.label)(n)),
        Arg::Line => Value::Str(scope.line.to_string()),
        Arg::Timestamp => Value::Time(scope.ts_ns),
        Arg::Const(v) => v.clone(),
        Arg::Sub(p) => p.eval(scope)?,
    })
}

/// A pipeline from the start of `t`, up to an unmatched `)` or the end;
/// returns how many tokens it used.
fn pipeline(t: &[Token]) -> Result<(Pipeline, usize), String> {
    let mut cmds = Vec::new();
    let mut at = 0;
    loop {
        let (cmd, used) = command(&t[at..])?;
        cmds.push(cmd);
        at += used;
        match t.get(at) {
            Some(Token::Pipe) => at += 1,
            _ => return Ok((Pipeline(cmds), at)),
        }
    }
}

fn command(t: &[Token]) -> Result<(Command, usize), String> {
    let mut args = Vec::new();
    let mut at = 0;
    let mut func = None;
    while let Some(tok) = t.get(at) {
        let a = match tok {
            Token::Pipe | Token::Close => break,
            Token::Open => {
                let (p, used) = pipeline(&t[at + 1..])?;
                if t.get(at + 1 + used) != Some(&Token::Close) {
                    return Err("unclosed (".into());
                }
                at += used + 1;
                Arg::Sub(p)
            }
            Token::Str(s) => Arg::Const(Value::Str(s.clone())),
            Token::Num(n) => Arg::Const(number(n)?),
            Token::Word(w) => match w.as_str() {
                "__line__" => Arg::Line,
                "__timestamp__" => Arg::Timestamp,
                "true" => Arg::Const(Value::Bool(true)),
                "false" => Arg::Const(Value::Bool(false)),
                w if w.starts_with('.') => Arg::Label(label(w)?),
                w if at == 0 => {
                    func = Some(
                        funcs::lookup(w)
                            .ok_or_else(|| format!("function {w:?} is not supported"))?,
                    );
                    at += 1;
                    continue;
                }
                w => return Err(format!("function {w:?} must come first in its command")),
            },
        };
        args.push(a);
        at += 1;
    }
    match (func, args.len()) {
        (Some(f), _) => Ok((Command::Call(f, args), at)),
        (None, 1) => Ok((Command::Value(args.remove(0)), at)),
        (None, 0) => Err("missing value".into()),
        (None, _) => Err("a value cannot take arguments".into()),
    }
}

fn label(word: &str) -> Result<String, String> {
    let name = &word[1..];
    let ok = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(format!("{word:?} is not a label"))
    }
}

fn number(n: &str) -> Result<Value, String> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    n.parse::<f64>()
        .map(Value::Float)
        .map_err(|_| format!("bad number {n:?}"))
}
