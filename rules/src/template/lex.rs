//! Splitting template text from `{{actions}}` (trim markers, comments)
//! and lexing the inside of actions into tokens.

use super::parse::{ParseError, err};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

pub(super) enum Item {
    Text(String),
    Action(usize, Vec<Tok>),
}

/// Splits text from actions, applying trim markers and dropping comments.
pub(super) fn split(text: &str) -> Result<Vec<Item>, ParseError> {
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
