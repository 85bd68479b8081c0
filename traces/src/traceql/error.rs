//! The error [`parse`](super::parse) returns.

/// A query that is not valid TraceQL (syntax, an unknown intrinsic, an
/// invalid regex, or operands of incompatible static types), positioned at
/// the offending token: `parse error at 1:8: expected an operator or '}'`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse error at {line}:{col}: {msg}")]
pub struct ParseError {
    /// Byte offset of the offending token in the query (`<= query.len()`).
    pub offset: usize,
    /// 1-based line of `offset`.
    pub line: usize,
    /// 1-based column of `offset`, in characters.
    pub col: usize,
    /// What is wrong, without the position.
    pub msg: String,
}

impl ParseError {
    /// An error at byte `offset` of `query` (clamped to its length and
    /// moved back to a character boundary).
    pub fn at(query: &str, offset: usize, msg: impl Into<String>) -> ParseError {
        let mut offset = offset.min(query.len());
        while !query.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &query[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        ParseError {
            offset,
            line,
            col: before[line_start..].chars().count() + 1,
            msg: msg.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ParseError;

    #[test]
    fn positions_count_lines_and_characters() {
        let cases = [
            ("start", "{ a }", 0, (1, 1)),
            ("middle", "{ a }", 2, (1, 3)),
            ("second_line", "{\n  x }", 4, (2, 3)),
            ("past_end_clamps", "{}", 9, (1, 3)),
            ("inside_multibyte_char", "µs", 1, (1, 1)),
            ("after_multibyte_char", "\"µ\" x", 5, (1, 5)),
        ];
        for (name, query, offset, (line, col)) in cases {
            let e = ParseError::at(query, offset, "m");
            assert_eq!((e.line, e.col), (line, col), "{name}");
        }
    }

    #[test]
    fn display_reads_like_a_compiler_message() {
        let e = ParseError::at("{ a b }", 4, "expected an operator or '}'");
        assert_eq!(
            e.to_string(),
            "parse error at 1:5: expected an operator or '}'"
        );
    }
}
