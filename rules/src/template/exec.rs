//! Executing parsed templates: values, truth, printing, variables and
//! control flow with Go's semantics.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::funcs;
use super::gofmt::float_v;
use super::parse::{Node, Operand, Pipe};

/// A value during execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `map[string]…`: a missing key reads as `""` (Go's `missingkey=zero`
    /// on string maps).
    Map(Rc<BTreeMap<String, Val>>),
    /// A struct: a missing field is an error.
    Struct(Rc<Vec<(&'static str, Val)>>),
    List(Rc<Vec<Val>>),
    /// A point in time (unix seconds), printed as Go prints `time.Time`.
    Time(f64),
}

impl Val {
    /// A string map from labels.
    pub fn labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Val {
        Val::Map(Rc::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), Val::Str(v.to_string())))
                .collect(),
        ))
    }

    /// A query-result sample: `{Labels, Value}`.
    pub fn sample(labels: Val, value: f64) -> Val {
        Val::Struct(Rc::new(vec![
            ("Labels", labels),
            ("Value", Val::Float(value)),
        ]))
    }

    /// Go's notion of truth: false, 0, nil, empty string/map/list are false.
    pub fn truthy(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Map(m) => !m.is_empty(),
            Val::Struct(_) | Val::Time(_) => true,
            Val::List(l) => !l.is_empty(),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Nil => "nil",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Str(_) => "string",
            Val::Map(_) => "map[string]string",
            Val::Struct(_) => "struct",
            Val::List(_) => "slice",
            Val::Time(_) => "time.Time",
        }
    }

    /// `fmt.Sprint` of one value.
    pub fn print(&self) -> String {
        match self {
            Val::Nil => "<no value>".into(),
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => float_v(*f),
            Val::Str(s) => s.clone(),
            Val::Map(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.print()))
                    .collect();
                format!("map[{}]", parts.join(" "))
            }
            Val::Struct(fields) => {
                let parts: Vec<String> = fields.iter().map(|(_, v)| v.print()).collect();
                format!("{{{}}}", parts.join(" "))
            }
            Val::List(l) => {
                let parts: Vec<String> = l.iter().map(Val::print).collect();
                format!("[{}]", parts.join(" "))
            }
            Val::Time(t) => super::humanize::go_time(*t),
        }
    }

    fn field(&self, name: &str) -> Result<Val, String> {
        match self {
            Val::Map(m) => Ok(m.get(name).cloned().unwrap_or(Val::Str(String::new()))),
            Val::Struct(f) => f
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| format!("can't evaluate field {name} in type struct")),
            Val::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
            other => Err(format!(
                "can't evaluate field {name} in type {}",
                other.type_name()
            )),
        }
    }
}

/// What `query` returns: (labels, value) pairs.
pub type QueryResult = Result<Vec<(Vec<(String, String)>, f64)>, String>;

/// What templates can reach outside their data.
pub struct Ctx<'a> {
    /// Runs a PromQL query at the alert's evaluation time.
    pub query: Option<&'a dyn Fn(&str) -> QueryResult>,
    pub external_url: &'a str,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

/// Runs `nodes` with `dot` as data and `vars` predefined; returns the
/// output or the error message.
pub fn run(
    nodes: &[Node],
    dot: Val,
    vars: Vec<(String, Val)>,
    ctx: &Ctx,
) -> Result<String, String> {
    let mut e = Exec {
        vars: std::iter::once(("$".to_string(), dot.clone()))
            .chain(vars)
            .collect(),
        out: String::new(),
        ctx,
    };
    e.list(nodes, &dot)?;
    Ok(e.out)
}

struct Exec<'a, 'b> {
    vars: Vec<(String, Val)>,
    out: String,
    ctx: &'a Ctx<'b>,
}

impl Exec<'_, '_> {
    fn list(&mut self, nodes: &[Node], dot: &Val) -> Result<Flow, String> {
        for n in nodes {
            match self.node(n, dot)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn scoped(&mut self, nodes: &[Node], dot: &Val) -> Result<Flow, String> {
        let mark = self.vars.len();
        let r = self.list(nodes, dot);
        self.vars.truncate(mark);
        r
    }

    fn node(&mut self, n: &Node, dot: &Val) -> Result<Flow, String> {
        match n {
            Node::Text(t) => self.out.push_str(t),
            Node::Action { line, pipe } => {
                let v = self.pipe(pipe, dot).map_err(|e| format!("{line}: {e}"))?;
                if pipe.decl.is_empty() {
                    self.out.push_str(&v.print());
                }
            }
            Node::If {
                line,
                pipe,
                then,
                els,
            }
            | Node::With {
                line,
                pipe,
                body: then,
                els,
            } => {
                let mark = self.vars.len();
                let v = self.pipe(pipe, dot).map_err(|e| format!("{line}: {e}"))?;
                let r = if v.truthy() {
                    let d = if matches!(n, Node::With { .. }) {
                        v
                    } else {
                        dot.clone()
                    };
                    self.list(then, &d)
                } else {
                    self.list(els, dot)
                };
                self.vars.truncate(mark);
                return r;
            }
            Node::Range {
                line,
                pipe,
                body,
                els,
            } => return self.range(*line, pipe, body, els, dot),
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn range(
        &mut self,
        line: usize,
        pipe: &Pipe,
        body: &[Node],
        els: &[Node],
        dot: &Val,
    ) -> Result<Flow, String> {
        let mut p = pipe.clone();
        let decl = std::mem::take(&mut p.decl);
        let v = self.pipe(&p, dot).map_err(|e| format!("{line}: {e}"))?;
        let items: Vec<(Val, Val)> = match &v {
            Val::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, x)| (Val::Int(i as i64), x.clone()))
                .collect(),
            Val::Map(m) => m
                .iter()
                .map(|(k, x)| (Val::Str(k.clone()), x.clone()))
                .collect(),
            Val::Int(n) => (0..*n).map(|i| (Val::Int(i), Val::Int(i))).collect(),
            Val::Nil => Vec::new(),
            other => {
                return Err(format!(
                    "{line}: range can't iterate over {}",
                    other.print()
                ));
            }
        };
        if items.is_empty() {
            return self.scoped(els, dot);
        }
        for (k, x) in items {
            let mark = self.vars.len();
            match decl.as_slice() {
                [e] => self.vars.push((e.clone(), x.clone())),
                [i, e] => {
                    self.vars.push((i.clone(), k));
                    self.vars.push((e.clone(), x.clone()));
                }
                _ => {}
            }
            let f = self.list(body, &x);
            self.vars.truncate(mark);
            if let Flow::Break = f? {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    fn pipe(&mut self, pipe: &Pipe, dot: &Val) -> Result<Val, String> {
        let mut v: Option<Val> = None;
        for cmd in &pipe.cmds {
            v = Some(self.cmd(cmd, dot, v)?);
        }
        let v = v.unwrap_or(Val::Nil);
        for name in &pipe.decl {
            if pipe.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn cmd(&mut self, cmd: &[Operand], dot: &Val, piped: Option<Val>) -> Result<Val, String> {
        match cmd.first() {
            Some(Operand::Func(name)) => {
                let mut args = Vec::with_capacity(cmd.len());
                for a in &cmd[1..] {
                    args.push(self.arg(a, dot)?);
                }
                args.extend(piped);
                funcs::call(name, args, self.ctx).map_err(|e| format!("error calling {name}: {e}"))
            }
            Some(op) => {
                if cmd.len() > 1 || piped.is_some() {
                    return Err("can't give argument to non-function".into());
                }
                self.arg(op, dot)
            }
            None => Err("empty command".into()),
        }
    }

    fn arg(&mut self, op: &Operand, dot: &Val) -> Result<Val, String> {
        Ok(match op {
            Operand::Dot(f) => chain(dot.clone(), f)?,
            Operand::Var(n, f) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| format!("undefined variable: {n}"))?;
                chain(v, f)?
            }
            Operand::Func(name) => funcs::call(name, Vec::new(), self.ctx)
                .map_err(|e| format!("error calling {name}: {e}"))?,
            Operand::Str(s) => Val::Str(s.clone()),
            Operand::Int(i) => Val::Int(*i),
            Operand::Float(f) => Val::Float(*f),
            Operand::Bool(b) => Val::Bool(*b),
            Operand::Nil => Val::Nil,
            Operand::Sub(p, f) => {
                let v = self.pipe(p, dot)?;
                chain(v, f)?
            }
        })
    }
}

fn chain(mut v: Val, fields: &[String]) -> Result<Val, String> {
    for f in fields {
        v = v.field(f)?;
    }
    Ok(v)
}
