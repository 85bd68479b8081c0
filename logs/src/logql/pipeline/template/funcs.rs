//! Template values and functions: Go's builtins Loki's templates use
//! (`printf`, `eq`…, `and`/`or`/`not`, `len`) and Loki's string, math,
//! time and encoding functions, by Loki's names. Times are UTC.

use super::golayout;

use std::fmt::Write;

/// A value in a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds since the Unix epoch (`__timestamp__`).
    Time(i64),
}

impl Value {
    /// As Go prints it (times as RFC 3339 with milliseconds).
    pub fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Time(ns) => promql::syntax::format_rfc3339(ns.div_euclid(1_000_000)),
        }
    }

    /// Go's truth: false, 0, "" are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Bool(b) => *b,
            Value::Time(_) => true,
        }
    }

    fn int(&self) -> Result<i64, String> {
        match self {
            Value::Int(i) => Ok(*i),
            Value::Float(f) => Ok(*f as i64),
            Value::Bool(b) => Ok(i64::from(*b)),
            Value::Time(ns) => Ok(*ns),
            Value::Str(s) => s
                .trim()
                .parse::<i64>()
                .or_else(|_| s.trim().parse::<f64>().map(|f| f as i64))
                .map_err(|_| format!("{s:?} is not a number")),
        }
    }

    fn float(&self) -> Result<f64, String> {
        match self {
            Value::Float(f) => Ok(*f),
            Value::Str(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("{s:?} is not a number")),
            other => other.int().map(|i| i as f64),
        }
    }
}

macro_rules! funcs {
    ($($variant:ident => [$($name:literal),+]),+ $(,)?) => {
        /// A template function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Func { $($variant),+ }

        /// The function called `name`, if templates have it.
        pub fn lookup(name: &str) -> Option<Func> {
            match name {
                $($($name)|+ => Some(Func::$variant),)+
                _ => None,
            }
        }
    };
}

funcs! {
    Upper => ["ToUpper", "upper"],
    Lower => ["ToLower", "lower"],
    Title => ["title"],
    TrimSpace => ["TrimSpace", "trim"],
    TrimAll => ["trimAll"],
    TrimPrefix => ["trimPrefix"],
    TrimSuffix => ["trimSuffix"],
    Trunc => ["trunc"],
    Substr => ["substr"],
    Replace => ["replace"],
    Repeat => ["repeat"],
    Contains => ["contains"],
    HasPrefix => ["hasPrefix"],
    HasSuffix => ["hasSuffix"],
    AlignLeft => ["alignLeft"],
    AlignRight => ["alignRight"],
    RegexReplaceAll => ["regexReplaceAll"],
    RegexReplaceAllLiteral => ["regexReplaceAllLiteral"],
    Count => ["count"],
    Default => ["default"],
    Len => ["len"],
    Printf => ["printf"],
    Eq => ["eq"],
    Ne => ["ne"],
    Lt => ["lt"],
    Le => ["le"],
    Gt => ["gt"],
    Ge => ["ge"],
    And => ["and"],
    Or => ["or"],
    Not => ["not"],
    Add => ["add"],
    Sub => ["sub"],
    Mul => ["mul"],
    Div => ["div"],
    Mod => ["mod"],
    Addf => ["addf"],
    Subf => ["subf"],
    Mulf => ["mulf"],
    Divf => ["divf"],
    Max => ["max"],
    Min => ["min"],
    Maxf => ["maxf"],
    Minf => ["minf"],
    Ceil => ["ceil"],
    Floor => ["floor"],
    Round => ["round"],
    UnixEpoch => ["unixEpoch"],
    UnixEpochMillis => ["unixEpochMillis"],
    UnixEpochNanos => ["unixEpochNanos"],
    Date => ["date"],
    ToDate => ["toDate"],
    Now => ["now"],
    UnixToTime => ["unixToTime"],
    B64Enc => ["b64enc"],
    B64Dec => ["b64dec"],
    UrlEncode => ["urlencode"],
    UrlDecode => ["urldecode"],
}

/// Calls `f` on `args` (a piped value last).
pub fn call(f: Func, args: Vec<Value>) -> Result<Value, String> {
    use Func::*;
    let n = args.len();
    let want = |k: usize| -> Result<(), String> {
        if n == k {
            Ok(())
        } else {
            Err(format!("{f:?} takes {k} arguments, got {n}"))
        }
    };
    let s = |i: usize| args[i].text();
    Ok(match f {
        Upper | Lower | Title | TrimSpace | Len => {
            want(1)?;
            let v = s(0);
            match f {
                Upper => Value::Str(v.to_uppercase()),
                Lower => Value::Str(v.to_lowercase()),
                Title => Value::Str(title(&v)),
                TrimSpace => Value::Str(v.trim().to_string()),
                _ => Value::Int(v.chars().count() as i64),
            }
        }
        TrimAll => {
            want(2)?;
            let cut = s(0);
            Value::Str(s(1).trim_matches(|c| cut.contains(c)).to_string())
        }
        TrimPrefix => {
            want(2)?;
            let v = s(1);
            Value::Str(v.strip_prefix(s(0).as_str()).unwrap_or(&v).to_string())
        }
        TrimSuffix => {
            want(2)?;
            let v = s(1);
            Value::Str(v.strip_suffix(s(0).as_str()).unwrap_or(&v).to_string())
        }
        Trunc => {
            want(2)?;
            let (k, v) = (args[0].int()?, s(1));
            let chars: Vec<char> = v.chars().collect();
            let len = chars.len() as i64;
            Value::Str(if k >= 0 {
                chars[..k.min(len) as usize].iter().collect()
            } else {
                chars[(len + k).max(0) as usize..].iter().collect()
            })
        }
        Substr => {
            want(3)?;
            let chars: Vec<char> = s(2).chars().collect();
            let len = chars.len() as i64;
            let start = args[0].int()?.clamp(0, len);
            let end = match args[1].int()? {
                e if e < 0 || e > len => len,
                e => e,
            };
            Value::Str(
                chars[start as usize..end.max(start) as usize]
                    .iter()
                    .collect(),
            )
        }
        Replace => {
            want(3)?;
            Value::Str(s(2).replace(s(0).as_str(), &s(1)))
        }
        Repeat => {
            want(2)?;
            let k = args[0].int()?.clamp(0, 10_000) as usize;
            Value::Str(s(1).repeat(k))
        }
        Contains | HasPrefix | HasSuffix => {
            want(2)?;
            let (needle, v) = (s(0), s(1));
            Value::Bool(match f {
                Contains => v.contains(needle.as_str()),
                HasPrefix => v.starts_with(needle.as_str()),
                _ => v.ends_with(needle.as_str()),
            })
        }
        AlignLeft | AlignRight => {
            want(2)?;
            let k = args[0].int()?.clamp(0, 10_000) as usize;
            let v = s(1);
            let chars: Vec<char> = v.chars().collect();
            let pad = " ".repeat(k.saturating_sub(chars.len()));
            let cut: String = chars.iter().take(k).collect();
            Value::Str(match f {
                AlignLeft => cut + &pad,
                _ => pad + &cut,
            })
        }
        RegexReplaceAll | RegexReplaceAllLiteral | Count => {
            let re = regex::Regex::new(&s(0)).map_err(|e| e.to_string())?;
            match f {
                Count => {
                    want(2)?;
                    Value::Int(re.find_iter(&s(1)).count() as i64)
                }
                RegexReplaceAll => {
                    want(3)?;
                    Value::Str(re.replace_all(&s(1), s(2).as_str()).into_owned())
                }
                _ => {
                    want(3)?;
                    Value::Str(re.replace_all(&s(1), regex::NoExpand(&s(2))).into_owned())
                }
            }
        }
        Default => {
            want(2)?;
            let mut args = args;
            let given = args.pop().unwrap_or(Value::Bool(false));
            if given.truthy() {
                given
            } else {
                args.pop().unwrap_or(Value::Bool(false))
            }
        }
        Printf => {
            let Some(Value::Str(format)) = args.first() else {
                return Err("printf takes a format string first".into());
            };
            Value::Str(printf(format, &args[1..])?)
        }
        Eq | Ne | Lt | Le | Gt | Ge => {
            want(2)?;
            let ord = compare(&args[0], &args[1])?;
            Value::Bool(match f {
                Eq => ord.is_eq(),
                Ne => ord.is_ne(),
                Lt => ord.is_lt(),
                Le => ord.is_le(),
                Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        And | Or => {
            if n == 0 {
                return Err(format!("{f:?} takes arguments"));
            }
            // The first falsy (and) or truthy (or) argument, else the last.
            let stop = |v: &Value| v.truthy() == matches!(f, Or);
            let pos = args.iter().position(stop).unwrap_or(n - 1);
            args[pos].clone()
        }
        Not => {
            want(1)?;
            Value::Bool(!args[0].truthy())
        }
        Add | Sub | Mul | Div | Mod | Max | Min => {
            if n < 2 {
                return Err(format!("{f:?} takes at least 2 arguments"));
            }
            let ints = args.iter().map(Value::int).collect::<Result<Vec<_>, _>>()?;
            let mut acc = ints[0];
            for &x in &ints[1..] {
                acc = match f {
                    Add => acc.wrapping_add(x),
                    Sub => acc.wrapping_sub(x),
                    Mul => acc.wrapping_mul(x),
                    Div | Mod if x == 0 => return Err("division by zero".into()),
                    Div => acc.wrapping_div(x),
                    Mod => acc.wrapping_rem(x),
                    Max => acc.max(x),
                    _ => acc.min(x),
                };
            }
            Value::Int(acc)
        }
        Addf | Subf | Mulf | Divf | Maxf | Minf => {
            if n < 2 {
                return Err(format!("{f:?} takes at least 2 arguments"));
            }
            let fs = args
                .iter()
                .map(Value::float)
                .collect::<Result<Vec<_>, _>>()?;
            let mut acc = fs[0];
            for &x in &fs[1..] {
                acc = match f {
                    Addf => acc + x,
                    Subf => acc - x,
                    Mulf => acc * x,
                    Divf => acc / x,
                    Maxf => acc.max(x),
                    _ => acc.min(x),
                };
            }
            Value::Float(acc)
        }
        Ceil | Floor => {
            want(1)?;
            let x = args[0].float()?;
            Value::Float(if f == Ceil { x.ceil() } else { x.floor() })
        }
        Round => {
            if !(1..=2).contains(&n) {
                return Err("round takes a number and its decimal places".into());
            }
            let places = if n == 2 { args[1].int()? } else { 0 };
            let scale = 10f64.powi(places.clamp(0, 15) as i32);
            Value::Float((args[0].float()? * scale).round() / scale)
        }
        UnixEpoch | UnixEpochMillis | UnixEpochNanos => {
            want(1)?;
            let Value::Time(ns) = args[0] else {
                return Err(format!("{f:?} takes a time (__timestamp__)"));
            };
            Value::Int(match f {
                UnixEpoch => ns.div_euclid(1_000_000_000),
                UnixEpochMillis => ns.div_euclid(1_000_000),
                _ => ns,
            })
        }
        Date => {
            want(2)?;
            let ns = match args[1] {
                Value::Time(ns) => ns,
                // Sprig's `date` reads a number as Unix seconds.
                Value::Int(s) => s.saturating_mul(1_000_000_000),
                _ => return Err("date takes a layout and a time".into()),
            };
            Value::Str(golayout::format(ns, &s(0)))
        }
        ToDate => {
            want(2)?;
            Value::Time(golayout::parse(&s(0), &s(1))?)
        }
        Now => {
            want(0)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64);
            Value::Time(now)
        }
        UnixToTime => {
            want(1)?;
            Value::Time(unix_to_time(&s(0))?)
        }
        B64Enc => {
            want(1)?;
            Value::Str(tsdb::encoding::base64::encode(s(0).as_bytes()))
        }
        B64Dec => {
            want(1)?;
            let v = s(0);
            let bytes =
                tsdb::encoding::base64::decode(&v).ok_or_else(|| format!("{v:?} is not base64"))?;
            Value::Str(String::from_utf8_lossy(&bytes).into_owned())
        }
        UrlEncode => {
            want(1)?;
            Value::Str(url_encode(&s(0)))
        }
        UrlDecode => {
            want(1)?;
            Value::Str(url_decode(&s(0))?)
        }
    })
}

/// An epoch as Loki's `unixToTime` reads it: by its digits, days (5),
/// seconds (10), milliseconds (13), microseconds (16) or nanoseconds (19).
fn unix_to_time(epoch: &str) -> Result<i64, String> {
    let bad = || format!("cannot read {epoch:?} as a Unix epoch");
    let v: i64 = epoch.parse().map_err(|_| bad())?;
    let scale: i64 = match epoch.trim_start_matches('-').len() {
        5 => 86_400 * 1_000_000_000,
        10 => 1_000_000_000,
        13 => 1_000_000,
        16 => 1_000,
        19 => 1,
        _ => return Err(bad()),
    };
    v.checked_mul(scale).ok_or_else(bad)
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space is
/// `+`, every other byte `%XX`.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte.
fn url_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("invalid URL escape in {s:?}"))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} decodes to invalid UTF-8"))
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// Go's comparison of basic values: strings with strings, numbers with
/// numbers (a string that reads as a number counts as one beside a
/// number), booleans only for (in)equality.
fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    use Value::*;
    match (a, b) {
        (Str(x), Str(y)) => Ok(x.cmp(y)),
        (Bool(x), Bool(y)) => Ok(x.cmp(y)),
        (Int(x), Int(y)) => Ok(x.cmp(y)),
        (Time(x), Time(y)) => Ok(x.cmp(y)),
        _ => {
            let (x, y) = (a.float()?, b.float()?);
            x.partial_cmp(&y)
                .ok_or_else(|| "incomparable values".to_string())
        }
    }
}

/// Go's `fmt` verbs `%s %v %d %f %g %q %x %t %%` with flags `-`, `0`,
/// `+`, a width and a precision.
fn printf(format: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero, mut plus) = (false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(*d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(*d);
                chars.next();
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        let verb = chars.next().ok_or("printf: a verb is missing after %")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(v) = args.next() else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        let mut text = match verb {
            's' | 'v' => match (v, precision) {
                (Value::Float(f), Some(p)) if verb == 'v' => format!("{f:.p$}"),
                (_, Some(p)) if verb == 's' => v.text().chars().take(p).collect(),
                _ => v.text(),
            },
            'd' => v.int()?.to_string(),
            'f' | 'F' => format!("{:.*}", precision.unwrap_or(6), v.float()?),
            'g' => v.float()?.to_string(),
            'q' => format!("{:?}", v.text()),
            'x' => match v {
                Value::Str(s) => s.bytes().map(|b| format!("{b:02x}")).collect(),
                _ => format!("{:x}", v.int()?),
            },
            't' => v.truthy().to_string(),
            other => return Err(format!("printf: verb %{other} is not supported")),
        };
        if plus && matches!(verb, 'd' | 'f' | 'F' | 'g') && !text.starts_with('-') {
            text.insert(0, '+');
        }
        let width: usize = width.parse().unwrap_or(0);
        let len = text.chars().count();
        if len < width {
            let pad = width - len;
            if left {
                text.push_str(&" ".repeat(pad));
            } else if zero && matches!(verb, 'd' | 'f' | 'F' | 'g') {
                let at = usize::from(text.starts_with(['-', '+']));
                text.insert_str(at, &"0".repeat(pad));
            } else {
                text.insert_str(0, &" ".repeat(pad));
            }
        }
        out.push_str(&text);
    }
    Ok(out)
}
