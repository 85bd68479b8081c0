//! WebSocket frames (RFC 6455 §5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Masking-key (32 bits, client to server only)              |
//! +---------------------------------------------------------------+
//! |                     Payload Data                              |
//! +---------------------------------------------------------------+
//! ```
//!
//! The server writes unmasked frames whole (FIN set); it reads client
//! frames, which must be masked, and refuses payloads over a limit.

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::WsError;

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// One frame as read.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// A whole (FIN) unmasked frame, as a server sends it.
pub fn encode(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode);
    match payload.len() {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A close frame with `code` and `reason` (cut to fit a control frame).
pub fn close(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    p.extend_from_slice(&reason.as_bytes()[..end]);
    encode(CLOSE, &p)
}

/// Reads one client frame, unmasked; at most `max` payload bytes.
pub async fn read<R: AsyncRead + Unpin>(r: &mut R, max: u64) -> Result<Frame, WsError> {
    let mut head = [0u8; 2];
    r.read_exact(&mut head).await?;
    let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0F);
    if head[0] & 0x70 != 0 {
        return Err(WsError::Protocol("reserved bits set"));
    }
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err(WsError::Protocol("reserved opcode"));
    }
    if head[1] & 0x80 == 0 {
        return Err(WsError::Protocol("client frame not masked"));
    }
    let len = match head[1] & 0x7F {
        126 => u64::from(r.read_u16().await?),
        127 => r.read_u64().await?,
        n => u64::from(n),
    };
    if opcode >= CLOSE && (len > 125 || !fin) {
        return Err(WsError::Protocol(
            "control frame fragmented or over 125 bytes",
        ));
    }
    if len > max {
        return Err(WsError::TooLarge(len));
    }
    let mut mask = [0u8; 4];
    r.read_exact(&mut mask).await?;
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload).await?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    Ok(Frame {
        fin,
        opcode,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's frame: masked with `mask`.
    fn masked(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut f = encode(first & 0x0F, payload);
        f[0] = first;
        let at = f.len() - payload.len();
        f[1] |= 0x80;
        let mut out = f[..at].to_vec();
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    async fn read_all(bytes: &[u8], max: u64) -> Result<Frame, WsError> {
        let mut r = bytes;
        read(&mut r, max).await
    }

    #[tokio::test]
    async fn frames_round_trip_at_every_length_encoding() {
        for len in [0usize, 5, 125, 126, 65_535, 65_536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let bytes = masked(0x80 | TEXT, &payload, [1, 2, 3, 4]);
            let f = read_all(&bytes, 1 << 20).await.unwrap();
            assert_eq!((f.fin, f.opcode, f.payload.len()), (true, TEXT, len));
            assert_eq!(f.payload, payload, "length {len}");
            let header = encode(TEXT, &payload).len() - len;
            let want = match len {
                0..=125 => 2,
                126..=65_535 => 4,
                _ => 10,
            };
            assert_eq!(header, want, "header of a {len}-byte frame");
        }
    }

    #[tokio::test]
    async fn refusals() {
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("unmasked", encode(TEXT, b"hi"), "not masked"),
            (
                "reserved bit",
                masked(0x80 | 0x40 | TEXT, b"x", [9; 4]),
                "reserved bits",
            ),
            (
                "reserved opcode",
                masked(0x83, b"x", [9; 4]),
                "reserved opcode",
            ),
            (
                "fragmented ping",
                masked(PING, b"x", [9; 4]),
                "control frame",
            ),
            (
                "too large",
                masked(0x80 | TEXT, &[0; 200], [9; 4]),
                "over the limit",
            ),
            (
                "truncated",
                masked(0x80 | TEXT, b"hello", [9; 4])[..6].to_vec(),
                "I/O",
            ),
        ];
        for (name, bytes, want) in cases {
            let err = read_all(&bytes, 100).await.unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn close_frames_carry_code_and_a_reason_that_fits() {
        let f = close(1001, &"é".repeat(100));
        assert_eq!(f[0], 0x80 | CLOSE);
        assert!(f[1] as usize <= 125);
        assert_eq!(&f[2..4], &1001u16.to_be_bytes());
        assert!(std::str::from_utf8(&f[4..]).is_ok());
    }
}
