//! Protobuf read without decoding into messages: the fields of one message,
//! in order, each with its payload borrowed from the input. The span
//! store's hot paths (validating a request, indexing a block) walk span
//! encodings with it instead of allocating decoded messages.
//!
//! Strict where prost is: a varint longer than ten bytes (or whose tenth
//! byte carries more than the 64th bit), a length past the end, and the
//! group wire types (3, 4), which OTLP never uses, are errors.

/// One field of a message: its number and its payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    Varint(u32, u64),
    Fixed64(u32, u64),
    Bytes(u32, &'a [u8]),
    Fixed32(u32, u32),
}

impl Field<'_> {
    pub fn number(&self) -> u32 {
        match *self {
            Field::Varint(n, _)
            | Field::Fixed64(n, _)
            | Field::Bytes(n, _)
            | Field::Fixed32(n, _) => n,
        }
    }

    /// The wire type's name, for error messages.
    pub fn wire(&self) -> &'static str {
        match self {
            Field::Varint(..) => "varint",
            Field::Fixed64(..) => "fixed64",
            Field::Bytes(..) => "length-delimited",
            Field::Fixed32(..) => "fixed32",
        }
    }
}

/// Why bytes do not parse as a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// A varint runs past the end or past ten bytes.
    BadVarint,
    /// A length or a fixed-width value runs past the end.
    Truncated,
    /// Wire type 3, 4, 6 or 7.
    WireType(u8),
    /// Field number 0 or past 2^29 - 1.
    FieldNumber,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::BadVarint => f.write_str("bad varint"),
            WireError::Truncated => f.write_str("truncated"),
            WireError::WireType(w) => write!(f, "wire type {w} is not supported"),
            WireError::FieldNumber => f.write_str("field number out of range"),
        }
    }
}

/// The fields of the message encoded in the slice.
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub fn new(message: &'a [u8]) -> Fields<'a> {
        Fields { rest: message }
    }

    /// Bytes not yet read (for offsets into the message).
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    fn next_field(&mut self) -> Result<Field<'a>, WireError> {
        let tag = varint(&mut self.rest)?;
        let number = u32::try_from(tag >> 3)
            .ok()
            .filter(|n| (1..1 << 29).contains(n))
            .ok_or(WireError::FieldNumber)?;
        Ok(match (tag & 7) as u8 {
            0 => Field::Varint(number, varint(&mut self.rest)?),
            1 => {
                let (x, rest) = self
                    .rest
                    .split_first_chunk::<8>()
                    .ok_or(WireError::Truncated)?;
                self.rest = rest;
                Field::Fixed64(number, u64::from_le_bytes(*x))
            }
            2 => {
                let len =
                    usize::try_from(varint(&mut self.rest)?).map_err(|_| WireError::Truncated)?;
                if len > self.rest.len() {
                    return Err(WireError::Truncated);
                }
                let (x, rest) = self.rest.split_at(len);
                self.rest = rest;
                Field::Bytes(number, x)
            }
            5 => {
                let (x, rest) = self
                    .rest
                    .split_first_chunk::<4>()
                    .ok_or(WireError::Truncated)?;
                self.rest = rest;
                Field::Fixed32(number, u32::from_le_bytes(*x))
            }
            w => return Err(WireError::WireType(w)),
        })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let f = self.next_field();
        if f.is_err() {
            self.rest = &[];
        }
        Some(f)
    }
}

/// Reads one base-128 varint off the front of `b`.
pub fn varint(b: &mut &[u8]) -> Result<u64, WireError> {
    let mut out = 0u64;
    for i in 0..10 {
        let (&byte, rest) = b.split_first().ok_or(WireError::BadVarint)?;
        *b = rest;
        if i == 9 && byte > 1 {
            return Err(WireError::BadVarint);
        }
        out |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(WireError::BadVarint)
}

/// Where the last length-delimited field `number` of `message` lies in it.
pub fn find_bytes(message: &[u8], number: u32) -> Option<std::ops::Range<usize>> {
    let mut fields = Fields::new(message);
    let mut found = None;
    while let Some(f) = fields.next() {
        if let Ok(Field::Bytes(n, payload)) = f
            && n == number
        {
            let end = message.len() - fields.remaining();
            found = Some(end - payload.len()..end);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn reads_what_prost_writes() {
        use opentelemetry_proto::tonic::trace::v1::Span;
        let span = Span {
            trace_id: vec![1; 16],
            name: "GET /".into(),
            kind: 2,
            flags: 0x101,
            start_time_unix_nano: 7,
            ..Default::default()
        };
        let raw = span.encode_to_vec();
        let got: Vec<Field> = Fields::new(&raw).map(|f| f.unwrap()).collect();
        assert_eq!(
            got,
            vec![
                Field::Bytes(1, &[1; 16]),
                Field::Bytes(5, b"GET /"),
                Field::Varint(6, 2),
                Field::Fixed64(7, 7),
                Field::Fixed32(16, 0x101),
            ]
        );
        let at = find_bytes(&raw, 5).unwrap();
        assert_eq!(&raw[at], b"GET /");
        assert_eq!(find_bytes(&raw, 4), None);
    }

    #[test]
    fn refusals() {
        let cases: &[(&str, &[u8], WireError)] = &[
            ("truncated varint", &[0x08, 0x80], WireError::BadVarint),
            (
                "eleven-byte varint",
                &[
                    0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
                ],
                WireError::BadVarint,
            ),
            (
                "length past the end",
                &[0x0a, 0x05, 1],
                WireError::Truncated,
            ),
            ("short fixed64", &[0x09, 1, 2], WireError::Truncated),
            ("short fixed32", &[0x0d, 1], WireError::Truncated),
            ("group", &[0x0b], WireError::WireType(3)),
            ("field zero", &[0x00, 0x01], WireError::FieldNumber),
        ];
        for (name, b, want) in cases {
            let got = Fields::new(b).find_map(|f| f.err());
            assert_eq!(got, Some(*want), "{name}");
        }
        let mut max: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint(&mut max), Ok(u64::MAX), "ten bytes reach 2^64 - 1");
    }
}
