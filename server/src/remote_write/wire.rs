//! A zero-copy decoder for remote write 1.0 (`prometheus.WriteRequest`).
//!
//! Label names and values are borrowed from the decompressed body instead
//! of allocated one `String` each, and every series' labels and samples go
//! into two flat arrays: a request of N series costs a handful of
//! allocations, not ~20·N. Decoding follows protobuf's rules (unknown
//! fields skipped, the last of a repeated scalar wins, missing fields are
//! zero); a property test checks that it decodes what `prost` decodes to
//! the same values. Unlike `prost`, unknown fields encoded as (deprecated)
//! groups are rejected.
//!
//! [`decode_with`] also hands the raw bytes of every series' label fields
//! to a lookup, all at once: a series it knows keeps the lookup's answer
//! instead of its decoded labels (which are then not decoded, nor checked
//! for UTF-8).

use std::ops::Range;

use crate::prompb::{Histogram, MetricMetadata, Sample};

/// A decoding failure: what was wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub offset: usize,
    pub what: &'static str,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

/// One series of a decoded request: ranges into [`WriteRequestRef`]'s
/// arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRef<H = ()> {
    /// Empty when `known` is set.
    pub labels: Range<usize>,
    pub samples: Range<usize>,
    pub exemplars: Range<usize>,
    pub histograms: Range<usize>,
    /// The body's bytes of the series' label fields when they are one run
    /// of consecutive fields (as senders write them), else empty.
    pub raw_labels: Range<usize>,
    /// What the lookup of [`decode_with`] answered for `raw_labels`.
    pub known: Option<H>,
}

/// An exemplar, its labels a range of `exemplar_labels`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarRef {
    pub labels: Range<usize>,
    pub value: f64,
    pub timestamp: i64,
}

/// A decoded `WriteRequest` borrowing its strings from the body.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequestRef<'a, H = ()> {
    pub series: Vec<SeriesRef<H>>,
    pub labels: Vec<(&'a str, &'a str)>,
    pub samples: Vec<Sample>,
    /// Native histograms (decoded by `prost`: they are rare and nested).
    pub histograms: Vec<Histogram>,
    pub exemplars: Vec<ExemplarRef>,
    pub exemplar_labels: Vec<(&'a str, &'a str)>,
    pub metadata: Vec<MetricMetadata>,
}

impl<H> Default for WriteRequestRef<'_, H> {
    fn default() -> Self {
        WriteRequestRef {
            series: Vec::new(),
            labels: Vec::new(),
            samples: Vec::new(),
            histograms: Vec::new(),
            exemplars: Vec::new(),
            exemplar_labels: Vec::new(),
            metadata: Vec::new(),
        }
    }
}

/// A cursor over one message's bytes; `base` is its offset in the body,
/// for error positions.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    fn err(&self, what: &'static str) -> WireError {
        WireError {
            offset: self.base + self.pos,
            what,
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, WireError> {
        // Keys, lengths and most small numbers take one byte.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64, WireError> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err("truncated varint"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.err("varint overflows 64 bits"))
    }

    fn fixed64(&mut self) -> Result<u64, WireError> {
        let Some(b) = self.buf.get(self.pos..self.pos + 8) else {
            return Err(self.err("truncated fixed64"));
        };
        self.pos += 8;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-delimited field: its bytes and their offset in the body.
    #[inline]
    fn bytes(&mut self) -> Result<(&'a [u8], usize), WireError> {
        let len = self.varint()?;
        let start = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.err("length-delimited field past the end"))?;
        self.pos = end;
        Ok((&self.buf[start..end], self.base + start))
    }

    fn str(&mut self) -> Result<&'a str, WireError> {
        let at = self.pos;
        let (b, _) = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| WireError {
            offset: self.base + at,
            what: "string is not valid UTF-8",
        })
    }

    /// The next field's number and wire type.
    #[inline]
    fn key(&mut self) -> Result<(u64, u8), WireError> {
        let k = self.varint()?;
        let field = k >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(self.err("invalid field number"));
        }
        Ok((field, (k & 7) as u8))
    }

    /// Skips a field of wire type `wt` (groups are rejected, as prost does
    /// for proto3 messages).
    fn skip(&mut self, wt: u8) -> Result<(), WireError> {
        match wt {
            0 => self.varint().map(drop),
            1 => self.fixed64().map(drop),
            2 => self.bytes().map(drop),
            5 => {
                if self.pos + 4 > self.buf.len() {
                    return Err(self.err("truncated fixed32"));
                }
                self.pos += 4;
                Ok(())
            }
            _ => Err(self.err("invalid wire type")),
        }
    }

    /// Checks the wire type of a known field.
    fn expect(&self, wt: u8, want: u8) -> Result<(), WireError> {
        if wt == want {
            Ok(())
        } else {
            Err(self.err("invalid wire type for field"))
        }
    }
}

/// Decodes a remote write 1.0 request (every series' labels).
#[cfg(test)]
pub fn decode(body: &[u8]) -> Result<WriteRequestRef<'_>, WireError> {
    decode_with(body, |_| Vec::new())
}

/// [`decode`], asking `lookup` once about the raw label bytes of every
/// series that has them (see [`SeriesRef::raw_labels`]), in series order;
/// its answers, in the same order, go to [`SeriesRef::known`], and the
/// labels of a series it answers for are not decoded. Missing answers are
/// `None`.
pub fn decode_with<'a, H>(
    body: &'a [u8],
    lookup: impl FnOnce(&[&'a [u8]]) -> Vec<Option<H>>,
) -> Result<WriteRequestRef<'a, H>, WireError> {
    let mut out = WriteRequestRef::default();
    let mut r = Reader::new(body, 0);
    while !r.done() {
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, 2)?;
                let (b, base) = r.bytes()?;
                time_series(&mut out, Reader::new(b, base))?;
            }
            3 => {
                r.expect(wt, 2)?;
                let at = r.pos;
                let (b, _) = r.bytes()?;
                let md = <MetricMetadata as prost::Message>::decode(b).map_err(|_| WireError {
                    offset: at,
                    what: "invalid metric metadata",
                })?;
                out.metadata.push(md);
            }
            _ => r.skip(wt)?,
        }
    }
    // All lookups at once: the caller can overlap their memory accesses.
    let raws: Vec<&[u8]> = out
        .series
        .iter()
        .filter(|s| !s.raw_labels.is_empty())
        .map(|s| &body[s.raw_labels.clone()])
        .collect();
    let mut answers = lookup(&raws).into_iter();
    for s in &mut out.series {
        if s.raw_labels.is_empty() {
            continue;
        }
        s.known = answers.next().flatten();
        if s.known.is_none() {
            let l0 = out.labels.len();
            let range = s.raw_labels.clone();
            labels_of_run(&mut out.labels, &body[range.clone()], range.start)?;
            s.labels = l0..out.labels.len();
        }
    }
    Ok(out)
}

/// Decodes one series, except the labels of its first run of label fields
/// when that run is all of its labels: [`decode_with`] decodes those after
/// the lookup.
fn time_series<'a, H>(
    out: &mut WriteRequestRef<'a, H>,
    mut r: Reader<'a>,
) -> Result<(), WireError> {
    let (l0, s0, e0) = (out.labels.len(), out.samples.len(), out.exemplars.len());
    let h0 = out.histograms.len();
    // The first run of label fields, `[start, end)` in `r.buf`, not yet
    // decoded; `None` once a label field appears after other fields.
    let mut run: Option<(usize, usize)> = None;
    let mut seen_labels = false;
    while !r.done() {
        let field_start = r.pos;
        let (field, wt) = r.key()?;
        match field {
            1 if !seen_labels && wt == 2 => {
                seen_labels = true;
                r.pos = field_start;
                let end = label_run_end(&mut r)?;
                run = Some((field_start, end));
            }
            1 => {
                r.expect(wt, 2)?;
                if let Some((start, end)) = run.take() {
                    // The run was not all of the labels: decode it now.
                    labels_of_run(&mut out.labels, &r.buf[start..end], r.base + start)?;
                }
                seen_labels = true;
                let (b, base) = r.bytes()?;
                out.labels.push(label(Reader::new(b, base))?);
            }
            2 => {
                r.expect(wt, 2)?;
                let (b, base) = r.bytes()?;
                out.samples.push(sample(Reader::new(b, base))?);
            }
            3 => {
                r.expect(wt, 2)?;
                let (b, base) = r.bytes()?;
                let e = exemplar(&mut out.exemplar_labels, Reader::new(b, base))?;
                out.exemplars.push(e);
            }
            4 => {
                r.expect(wt, 2)?;
                let (b, base) = r.bytes()?;
                let h = <Histogram as prost::Message>::decode(b).map_err(|_| WireError {
                    offset: base,
                    what: "bad histogram",
                })?;
                out.histograms.push(h);
            }
            _ => r.skip(wt)?,
        }
    }
    out.series.push(SeriesRef {
        labels: l0..out.labels.len(),
        samples: s0..out.samples.len(),
        exemplars: e0..out.exemplars.len(),
        histograms: h0..out.histograms.len(),
        raw_labels: run.map_or(0..0, |(s, e)| r.base + s..r.base + e),
        known: None,
    });
    Ok(())
}

/// Skips consecutive label fields (field 1, length-delimited) from the
/// reader's position; returns where the run ends (the reader is there).
fn label_run_end(r: &mut Reader<'_>) -> Result<usize, WireError> {
    loop {
        let at = r.pos;
        if r.done() {
            return Ok(at);
        }
        let (field, wt) = r.key()?;
        if field != 1 || wt != 2 {
            r.pos = at;
            return Ok(at);
        }
        r.bytes()?;
    }
}

/// Decodes a run of label fields (`raw`, at `base` in the body) into `out`.
fn labels_of_run<'a>(
    out: &mut Vec<(&'a str, &'a str)>,
    raw: &'a [u8],
    base: usize,
) -> Result<(), WireError> {
    let mut r = Reader::new(raw, base);
    while !r.done() {
        r.key()?;
        let (b, at) = r.bytes()?;
        out.push(label(Reader::new(b, at))?);
    }
    Ok(())
}

fn label<'a>(mut r: Reader<'a>) -> Result<(&'a str, &'a str), WireError> {
    let (mut name, mut value) = ("", "");
    while !r.done() {
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, 2)?;
                name = r.str()?;
            }
            2 => {
                r.expect(wt, 2)?;
                value = r.str()?;
            }
            _ => r.skip(wt)?,
        }
    }
    Ok((name, value))
}

fn sample(mut r: Reader<'_>) -> Result<Sample, WireError> {
    let mut s = Sample {
        value: 0.0,
        timestamp: 0,
    };
    while !r.done() {
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, 1)?;
                s.value = f64::from_bits(r.fixed64()?);
            }
            2 => {
                r.expect(wt, 0)?;
                s.timestamp = r.varint()? as i64;
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(s)
}

fn exemplar<'a>(
    labels: &mut Vec<(&'a str, &'a str)>,
    mut r: Reader<'a>,
) -> Result<ExemplarRef, WireError> {
    let l0 = labels.len();
    let (mut value, mut timestamp) = (0.0, 0);
    while !r.done() {
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, 2)?;
                let (b, base) = r.bytes()?;
                labels.push(label(Reader::new(b, base))?);
            }
            2 => {
                r.expect(wt, 1)?;
                value = f64::from_bits(r.fixed64()?);
            }
            3 => {
                r.expect(wt, 0)?;
                timestamp = r.varint()? as i64;
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(ExemplarRef {
        labels: l0..labels.len(),
        value,
        timestamp,
    })
}

#[cfg(test)]
mod tests;
