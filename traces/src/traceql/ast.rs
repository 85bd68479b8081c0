//! The syntax tree [`parse`](super::parse) builds, and the one operator
//! table (tokens, precedence, associativity) the parser and the printer
//! share. Printing (`Display`) lives in `print.rs`.

use super::value::{Kind, Status};

/// A parsed TraceQL query. Its `Display` prints a canonical form that
/// parses back to an equal `Query`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub root: SpansetExpr,
}

/// An expression whose value, per trace, is a set of spans.
#[derive(Debug, Clone, PartialEq)]
pub enum SpansetExpr {
    /// `{ expr }`: the spans for which `expr` is `true`. `{}` is
    /// `Filter(FieldExpr::Static(Static::Bool(true)))`.
    Filter(FieldExpr),
    /// `lhs op rhs` between two spansets.
    Op {
        op: SpansetOp,
        lhs: Box<SpansetExpr>,
        rhs: Box<SpansetExpr>,
    },
    /// `input | stage | …`: each stage filters the spanset the previous one
    /// produced. The parser never builds one with no stages or with a
    /// `Pipeline` input (nested pipelines are flattened).
    Pipeline {
        input: Box<SpansetExpr>,
        stages: Vec<Stage>,
    },
}

/// Operators between spansets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpansetOp {
    /// `&&`: both sides non-empty; the union of both.
    And,
    /// `||`: the union of both sides.
    Or,
    /// `>>`: right-side spans with an ancestor among the left side's.
    Descendant,
    /// `>`: right-side spans whose parent is among the left side's.
    Child,
    /// `~`: right-side spans sharing a parent with a different left-side span.
    Sibling,
    /// `<<`: right-side spans that are an ancestor of a left-side span.
    Ancestor,
    /// `<`: right-side spans that are the parent of a left-side span.
    Parent,
}

/// One step after `|` in a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// A spanset expression evaluated over the incoming spans only.
    Spanset(SpansetExpr),
    /// `aggregate op value`: keeps the incoming spanset whole or drops it.
    Scalar(ScalarFilter),
}

/// `count() > 3`, `avg(span:duration) >= 1s`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarFilter {
    pub aggregate: Aggregate,
    pub op: BinaryOp,
    /// An `Int`, `Float` or `Duration` (integers and floats may be negative).
    pub value: Static,
}

/// Aggregates over a spanset, for [`ScalarFilter`].
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregate {
    Count,
    Avg(FieldExpr),
    Min(FieldExpr),
    Max(FieldExpr),
    Sum(FieldExpr),
}

/// An expression evaluated against one span.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldExpr {
    Static(Static),
    Attribute(Attribute),
    Intrinsic(Intrinsic),
    Unary {
        op: UnaryOp,
        operand: Box<FieldExpr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<FieldExpr>,
        rhs: Box<FieldExpr>,
    },
    /// `lhs =~ "re"` (or `!~` when `negated`): a fully anchored match.
    Regex {
        lhs: Box<FieldExpr>,
        negated: bool,
        pattern: Pattern,
    },
}

/// A literal value in a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Static {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds.
    Duration(u64),
    Status(Status),
    Kind(Kind),
    /// `nil`: only in `= nil` / `!= nil`, which test absence / presence.
    Nil,
}

/// `span.key`, `resource.key` or `.key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    pub scope: Scope,
    pub name: String,
}

/// Whether `c` may appear in an unquoted attribute name: anything but
/// whitespace, quotes and the operator characters `{}()=~!<>&|^,+*%`
/// (so `span.k8s.pod-name` is one name; write `span.a - 1` with spaces).
pub fn is_attr_char(c: char) -> bool {
    !c.is_whitespace() && !"{}()=~!<>&|^,+*%\"'`".contains(c)
}

/// Where an attribute is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `span.key`
    Span,
    /// `resource.key`
    Resource,
    /// `.key`: the span attribute if present, else the resource attribute.
    Any,
}

/// Built-in span and trace fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    Name,
    Status,
    StatusMessage,
    Kind,
    Duration,
    SpanId,
    ParentId,
    RootName,
    RootService,
    TraceDuration,
    TraceId,
}

impl Intrinsic {
    /// Every spelling the parser accepts; the first one of each intrinsic
    /// is the canonical (printed) form.
    pub const SPELLINGS: [(&'static str, Intrinsic); 19] = [
        ("span:name", Intrinsic::Name),
        ("span:status", Intrinsic::Status),
        ("span:statusMessage", Intrinsic::StatusMessage),
        ("span:kind", Intrinsic::Kind),
        ("span:duration", Intrinsic::Duration),
        ("span:id", Intrinsic::SpanId),
        ("span:parentID", Intrinsic::ParentId),
        ("trace:rootName", Intrinsic::RootName),
        ("trace:rootService", Intrinsic::RootService),
        ("trace:duration", Intrinsic::TraceDuration),
        ("trace:id", Intrinsic::TraceId),
        ("name", Intrinsic::Name),
        ("status", Intrinsic::Status),
        ("statusMessage", Intrinsic::StatusMessage),
        ("kind", Intrinsic::Kind),
        ("duration", Intrinsic::Duration),
        ("rootName", Intrinsic::RootName),
        ("rootServiceName", Intrinsic::RootService),
        ("traceDuration", Intrinsic::TraceDuration),
    ];

    /// The intrinsic spelled `word` (`name`, `span:name`, …), if any.
    pub fn lookup(word: &str) -> Option<Intrinsic> {
        Self::SPELLINGS
            .iter()
            .find(|(s, _)| *s == word)
            .map(|&(_, i)| i)
    }

    /// The canonical spelling (`span:name`, `trace:rootService`, …).
    pub fn canonical(self) -> &'static str {
        Self::SPELLINGS
            .iter()
            .find(|(_, i)| *i == self)
            .map_or("", |(s, _)| s)
    }
}

/// Prefix operators on field expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `!`
    Not,
    /// `-`
    Neg,
}

/// Infix operators on field expressions (regex matching is
/// [`FieldExpr::Regex`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    And,
    Or,
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// An infix token of a field expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Infix {
    Binary(BinaryOp),
    /// `=~` (`false`) or `!~` (`true`).
    Regex {
        negated: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assoc {
    Left,
    Right,
}

/// Precedence of comparisons (and regex matches).
pub(crate) const CMP_PREC: u8 = 2;
/// Precedence of `^`; a prefix operator's operand may contain `^` but
/// nothing looser (`-2 ^ 2` is `-(2 ^ 2)`).
pub(crate) const POW_PREC: u8 = 5;

/// The one table of field operators, lowest precedence first, as Tempo
/// orders them: `&& ||` (equal, left) < comparisons and regex < `+ -`
/// < `* / %` < `^` (right). Longer tokens come before their prefixes.
pub(crate) const FIELD_OPS: [(&str, Infix, u8, Assoc); 16] = [
    ("&&", Infix::Binary(BinaryOp::And), 1, Assoc::Left),
    ("||", Infix::Binary(BinaryOp::Or), 1, Assoc::Left),
    ("=~", Infix::Regex { negated: false }, CMP_PREC, Assoc::Left),
    ("!~", Infix::Regex { negated: true }, CMP_PREC, Assoc::Left),
    ("!=", Infix::Binary(BinaryOp::Neq), CMP_PREC, Assoc::Left),
    ("<=", Infix::Binary(BinaryOp::Lte), CMP_PREC, Assoc::Left),
    (">=", Infix::Binary(BinaryOp::Gte), CMP_PREC, Assoc::Left),
    ("=", Infix::Binary(BinaryOp::Eq), CMP_PREC, Assoc::Left),
    ("<", Infix::Binary(BinaryOp::Lt), CMP_PREC, Assoc::Left),
    (">", Infix::Binary(BinaryOp::Gt), CMP_PREC, Assoc::Left),
    ("+", Infix::Binary(BinaryOp::Add), 3, Assoc::Left),
    ("-", Infix::Binary(BinaryOp::Sub), 3, Assoc::Left),
    ("*", Infix::Binary(BinaryOp::Mul), 4, Assoc::Left),
    ("/", Infix::Binary(BinaryOp::Div), 4, Assoc::Left),
    ("%", Infix::Binary(BinaryOp::Mod), 4, Assoc::Left),
    ("^", Infix::Binary(BinaryOp::Pow), POW_PREC, Assoc::Right),
];

/// Spanset operators: `&& ||` (equal, left) < structural (left).
/// Longer tokens come before their prefixes.
pub(crate) const SPANSET_OPS: [(&str, SpansetOp, u8); 7] = [
    ("&&", SpansetOp::And, 1),
    ("||", SpansetOp::Or, 1),
    (">>", SpansetOp::Descendant, 2),
    ("<<", SpansetOp::Ancestor, 2),
    (">", SpansetOp::Child, 2),
    ("<", SpansetOp::Parent, 2),
    ("~", SpansetOp::Sibling, 2),
];

impl Infix {
    /// The token, precedence and associativity from [`FIELD_OPS`].
    pub(crate) fn entry(self) -> (&'static str, u8, Assoc) {
        FIELD_OPS
            .iter()
            .find(|(_, op, _, _)| *op == self)
            .map_or(("?", 0, Assoc::Left), |&(t, _, p, a)| (t, p, a))
    }
}

impl BinaryOp {
    /// Whether this is `= != < <= > >=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::Neq
                | BinaryOp::Lt
                | BinaryOp::Lte
                | BinaryOp::Gt
                | BinaryOp::Gte
        )
    }

    /// Whether this is `+ - * / % ^`.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add
                | BinaryOp::Sub
                | BinaryOp::Mul
                | BinaryOp::Div
                | BinaryOp::Mod
                | BinaryOp::Pow
        )
    }

    /// The operator's token (`&&`, `>=`, …).
    pub fn token(self) -> &'static str {
        Infix::Binary(self).entry().0
    }
}

impl SpansetOp {
    /// The token and precedence from [`SPANSET_OPS`].
    pub(crate) fn entry(self) -> (&'static str, u8) {
        SPANSET_OPS
            .iter()
            .find(|(_, op, _)| *op == self)
            .map_or(("?", 0), |&(t, _, p)| (t, p))
    }
}

/// A regex compiled fully anchored (`^(?:source)$`), compared by source.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    regex: regex::Regex,
}

impl Pattern {
    /// Compiles `source` anchored at both ends.
    pub fn new(source: &str) -> Result<Pattern, regex::Error> {
        Ok(Pattern {
            source: source.to_owned(),
            regex: regex::Regex::new(&format!("^(?:{source})$"))?,
        })
    }

    /// The pattern as written in the query, without the anchors.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.regex.is_match(s)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.source == other.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_intrinsic_has_a_canonical_colon_spelling() {
        for (_, i) in Intrinsic::SPELLINGS {
            assert!(i.canonical().contains(':'), "{i:?}");
            assert_eq!(Intrinsic::lookup(i.canonical()), Some(i));
        }
    }

    #[test]
    fn longer_tokens_precede_their_prefixes() {
        let field: Vec<&str> = FIELD_OPS.iter().map(|e| e.0).collect();
        let spanset: Vec<&str> = SPANSET_OPS.iter().map(|e| e.0).collect();
        for tokens in [field, spanset] {
            for (i, a) in tokens.iter().enumerate() {
                for b in &tokens[i + 1..] {
                    assert!(!b.starts_with(a), "{a} shadows {b}");
                }
            }
        }
    }

    #[test]
    fn patterns_are_fully_anchored() {
        let cases = [
            ("exact", "ab", "ab", true),
            ("prefix_only", "ab", "abc", false),
            ("suffix_only", "ab", "xab", false),
            ("alternation_is_grouped", "a|b", "ab", false),
            ("wildcard", "a.*", "abc", true),
        ];
        for (name, re, s, want) in cases {
            let p = Pattern::new(re).ok().map(|p| p.is_match(s));
            assert_eq!(p, Some(want), "{name}");
        }
    }
}
