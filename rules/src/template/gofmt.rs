//! Go's number formatting (`fmt` verbs `%v %g %e %f %d %x %s %q`), so
//! rendered alerts read exactly as Prometheus renders them.

/// Decimal digits of |v| without trailing zeros, and the position of the
/// decimal point (`0.0123` → "123", -1; `120` → "12", 3).
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

impl Digits {
    /// Shortest digits that round-trip (`sig = None`) or rounded to `sig`
    /// significant digits.
    fn of(v: f64, sig: Option<usize>) -> Digits {
        let s = match sig {
            None => format!("{:e}", v.abs()),
            Some(n) => format!("{:.*e}", n.max(1) - 1, v.abs()),
        };
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = e.parse().unwrap_or(0);
        let mut d: Vec<u8> = m.bytes().filter(u8::is_ascii_digit).collect();
        while d.len() > 1 && d.last() == Some(&b'0') {
            d.pop();
        }
        Digits { d, dp: exp + 1 }
    }

    fn digit(&self, i: i32) -> u8 {
        if i < 0 {
            b'0'
        } else {
            self.d.get(i as usize).copied().unwrap_or(b'0')
        }
    }

    fn fmt_e(&self, neg: bool, prec: usize, out: &mut String) {
        if neg {
            out.push('-');
        }
        out.push(self.digit(0) as char);
        if prec > 0 {
            out.push('.');
            for i in 1..=prec as i32 {
                out.push(self.digit(i) as char);
            }
        }
        let exp = if self.d == b"0" { 0 } else { self.dp - 1 };
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    }

    fn fmt_f(&self, neg: bool, prec: usize, out: &mut String) {
        if neg {
            out.push('-');
        }
        if self.dp > 0 {
            for i in 0..self.dp {
                out.push(self.digit(i) as char);
            }
        } else {
            out.push('0');
        }
        if prec > 0 {
            out.push('.');
            for i in 0..prec as i32 {
                out.push(self.digit(self.dp + i) as char);
            }
        }
    }
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

/// `strconv.FormatFloat(v, verb, prec, 64)`; `prec = None` is Go's -1
/// (shortest). `verb` is one of `e f g`.
pub fn format_float(v: f64, verb: char, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative();
    let mut out = String::new();
    match verb {
        'f' => match prec {
            Some(p) => {
                let s = format!("{:.*}", p, v.abs());
                if neg {
                    out.push('-');
                }
                out.push_str(&s);
            }
            None => {
                let d = Digits::of(v, None);
                let p = (d.d.len() as i32 - d.dp).max(0) as usize;
                d.fmt_f(neg, p, &mut out);
            }
        },
        'e' => {
            let d = Digits::of(v, prec.map(|p| p + 1));
            let p = prec.unwrap_or(d.d.len().saturating_sub(1));
            d.fmt_e(neg, p, &mut out);
        }
        _ => {
            let shortest = prec.is_none();
            let want = prec.map(|p| p.max(1));
            let d = Digits::of(v, want);
            let nd = if d.d == b"0" { 0 } else { d.d.len() as i32 };
            let dp = if nd == 0 { 0 } else { d.dp };
            let mut prec = want.map_or(nd, |p| p as i32);
            let mut eprec = prec;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if nd > 0 && (exp < -4 || exp >= eprec) {
                if prec > nd {
                    prec = nd;
                }
                d.fmt_e(neg, (prec - 1).max(0) as usize, &mut out);
            } else {
                if prec > dp {
                    prec = nd;
                }
                d.fmt_f(neg, (prec - dp).max(0) as usize, &mut out);
            }
        }
    }
    out
}

/// Go's `%v` of a float64.
pub fn float_v(v: f64) -> String {
    format_float(v, 'g', None)
}

/// One parsed `%[flags][width][.prec]verb`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Spec {
    pub minus: bool,
    pub plus: bool,
    pub zero: bool,
    pub space: bool,
    pub sharp: bool,
    pub width: Option<usize>,
    pub prec: Option<usize>,
    pub verb: char,
}

/// An argument of `printf`.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    /// Anything else, already rendered as `%v` renders it.
    Other(String),
}

/// `fmt.Sprintf` for the verbs templates use; a missing argument prints
/// `%!v(MISSING)` and an unknown verb `%!z(...)`, as Go does.
pub fn sprintf(format: &str, args: &[Arg]) -> String {
    let mut out = String::new();
    let mut it = format.chars().peekable();
    let mut next = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut s = Spec::default();
        while let Some(&f) = it.peek() {
            match f {
                '-' => s.minus = true,
                '+' => s.plus = true,
                '0' => s.zero = true,
                ' ' => s.space = true,
                '#' => s.sharp = true,
                _ => break,
            }
            it.next();
        }
        let num = |it: &mut std::iter::Peekable<std::str::Chars>| {
            let mut n: Option<usize> = None;
            while let Some(d) = it.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
                it.next();
            }
            n
        };
        s.width = num(&mut it);
        if it.peek() == Some(&'.') {
            it.next();
            s.prec = Some(num(&mut it).unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        s.verb = verb;
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            None => out.push_str(&format!("%!{verb}(MISSING)")),
            Some(a) => out.push_str(&format_arg(&s, a)),
        }
        next += 1;
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| {
                format_arg(
                    &Spec {
                        verb: 'v',
                        ..Spec::default()
                    },
                    a,
                )
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn pad(s: String, spec: &Spec, numeric: bool) -> String {
    let Some(w) = spec.width else { return s };
    let len = s.chars().count();
    if len >= w {
        return s;
    }
    let fill = w - len;
    if spec.minus {
        format!("{s}{}", " ".repeat(fill))
    } else if spec.zero && numeric {
        let (sign, rest) = match s.strip_prefix(['-', '+']) {
            Some(r) => (&s[..1], r),
            None => ("", s.as_str()),
        };
        format!("{sign}{}{rest}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

fn sign(mut s: String, spec: &Spec) -> String {
    if !s.starts_with('-') {
        if spec.plus {
            s.insert(0, '+');
        } else if spec.space {
            s.insert(0, ' ');
        }
    }
    s
}

/// Formats one argument under one verb.
pub fn format_arg(spec: &Spec, a: &Arg) -> String {
    let v = spec.verb;
    let float = |f: f64| -> String {
        let s = match v {
            'e' | 'E' => format_float(f, 'e', Some(spec.prec.unwrap_or(6))),
            'f' | 'F' => format_float(f, 'f', Some(spec.prec.unwrap_or(6))),
            'g' | 'G' => format_float(f, 'g', spec.prec),
            _ => format_float(f, 'g', spec.prec),
        };
        let s = if v == 'E' || v == 'G' {
            s.to_uppercase()
        } else {
            s
        };
        pad(sign(s, spec), spec, f.is_finite())
    };
    match (v, a) {
        ('d', Arg::Int(i)) => pad(sign(i.to_string(), spec), spec, true),
        ('d', Arg::Float(f)) if f.fract() == 0.0 && f.is_finite() => {
            pad(sign(format!("{}", *f as i64), spec), spec, true)
        }
        ('x' | 'X', Arg::Int(i)) => {
            let s = if v == 'x' {
                format!("{:x}", i.unsigned_abs())
            } else {
                format!("{:X}", i.unsigned_abs())
            };
            let s = if *i < 0 { format!("-{s}") } else { s };
            pad(s, spec, true)
        }
        ('x' | 'X', Arg::Str(s)) => {
            let h: String = s.bytes().map(|b| format!("{b:02x}")).collect();
            pad(if v == 'X' { h.to_uppercase() } else { h }, spec, false)
        }
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Arg::Float(f)) => float(*f),
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Arg::Int(i)) => float(*i as f64),
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Arg::Str(s)) => match s.trim().parse::<f64>() {
            Ok(f) => float(f),
            Err(_) => format!("%!{v}(string={s})"),
        },
        ('v', Arg::Float(f)) => float(*f),
        ('t' | 'v', Arg::Bool(b)) => pad(b.to_string(), spec, false),
        ('q', Arg::Str(s)) => pad(format!("{s:?}"), spec, false),
        ('s' | 'v', Arg::Str(s)) => {
            let s = match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            };
            pad(s, spec, false)
        }
        ('s' | 'v', Arg::Int(i)) => pad(sign(i.to_string(), spec), spec, true),
        ('s', Arg::Float(f)) => pad(float_v(*f), spec, false),
        ('s' | 'v', Arg::Other(o)) => pad(o.clone(), spec, false),
        (_, a) => {
            let (ty, val) = match a {
                Arg::Int(i) => ("int", i.to_string()),
                Arg::Float(f) => ("float64", float_v(*f)),
                Arg::Str(s) => ("string", s.clone()),
                Arg::Bool(b) => ("bool", b.to_string()),
                Arg::Other(o) => ("value", o.clone()),
            };
            format!("%!{v}({ty}={val})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_prints_them() {
        let cases: &[(&str, f64, char, Option<usize>, &str)] = &[
            ("v_int", 1.0, 'g', None, "1"),
            ("v_million", 1e6, 'g', None, "1e+06"),
            ("v_100k", 100000.0, 'g', None, "100000"),
            ("v_big", 123456789.0, 'g', None, "1.23456789e+08"),
            ("v_small", 0.0001, 'g', None, "0.0001"),
            ("v_tiny", 0.00001, 'g', None, "1e-05"),
            ("v_zero", 0.0, 'g', None, "0"),
            ("v_negzero", -0.0, 'g', None, "-0"),
            ("v_frac", -1.5, 'g', None, "-1.5"),
            ("v_nan", f64::NAN, 'g', None, "NaN"),
            ("v_inf", f64::INFINITY, 'g', None, "+Inf"),
            ("g4_frac", 1.5, 'g', Some(4), "1.5"),
            ("g4_hundred", 100.0, 'g', Some(4), "100"),
            ("g4_10k", 10000.0, 'g', Some(4), "1e+04"),
            ("g4_round", 1234.5678, 'g', Some(4), "1235"),
            ("g4_m", 12.345678, 'g', Some(4), "12.35"),
            ("g4_small", 0.00012344, 'g', Some(4), "0.0001234"),
            ("g4_zero", 0.0, 'g', Some(4), "0"),
            ("f2", 3.14659, 'f', Some(2), "3.15"),
            ("f0", 2.5, 'f', Some(0), "2"),
            ("f_shortest", 0.1, 'f', None, "0.1"),
            ("e3", 123456.0, 'e', Some(3), "1.235e+05"),
            ("e_shortest", 1.5e-7, 'e', None, "1.5e-07"),
            ("e_zero", 0.0, 'e', Some(2), "0.00e+00"),
        ];
        for (name, v, verb, prec, want) in cases {
            assert_eq!(format_float(*v, *verb, *prec), *want, "{name}");
        }
    }

    #[test]
    fn sprintf_table() {
        let cases: Vec<(&str, &str, Vec<Arg>, &str)> = vec![
            ("float2", "%.2f", vec![Arg::Float(3.14659)], "3.15"),
            ("pct", "%.1f%%", vec![Arg::Float(99.95)], "100.0%"),
            ("int", "%d items", vec![Arg::Int(42)], "42 items"),
            ("int_from_float", "%d", vec![Arg::Float(7.0)], "7"),
            (
                "width",
                "[%5s|%-5s]",
                vec![Arg::Str("ab".into()), Arg::Str("cd".into())],
                "[   ab|cd   ]",
            ),
            ("zero_pad", "%05.1f", vec![Arg::Float(-2.5)], "-02.5"),
            (
                "string_float",
                "%.3f",
                vec![Arg::Str("2.5".into())],
                "2.500",
            ),
            ("v_float", "%v", vec![Arg::Float(1e6)], "1e+06"),
            ("quote", "%q", vec![Arg::Str("a\"b".into())], "\"a\\\"b\""),
            ("hex", "%x", vec![Arg::Int(255)], "ff"),
            (
                "missing",
                "%s and %s",
                vec![Arg::Str("a".into())],
                "a and %!s(MISSING)",
            ),
            ("extra", "x", vec![Arg::Int(1)], "x%!(EXTRA 1)"),
            (
                "bad_verb",
                "%d",
                vec![Arg::Str("a".into())],
                "%!d(string=a)",
            ),
            ("plus", "%+d", vec![Arg::Int(3)], "+3"),
            ("g", "%g", vec![Arg::Float(0.5)], "0.5"),
        ];
        for (name, f, args, want) in cases {
            assert_eq!(sprintf(f, &args), want, "{name}");
        }
    }
}
