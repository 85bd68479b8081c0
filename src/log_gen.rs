//! Realistic log lines for log-store benchmarks: a third each logfmt,
//! JSON (with a random-looking trace id) and plain text, every field
//! varying with the line's number.

/// Line `n`: one in 10,000 holds the word `needle`, one in 2,000,003 the
/// word `kestrel`.
pub fn line(n: u64) -> String {
    let level = ["info", "info", "info", "warn", "error", "debug"][(n % 6) as usize];
    let word = match n {
        _ if n % 2_000_003 == 1_000_001 => "kestrel",
        _ if n % 10_000 == 7 => "needle",
        _ => "served",
    };
    match n % 3 {
        0 => format!(
            "level={level} method=GET path=/api/v1/users/{} status={} duration={}ms bytes={} user=u{} msg=\"request {word}\"",
            n % 9973,
            [200, 200, 201, 404, 500][(n % 5) as usize],
            n % 997,
            n % 65_536,
            n % 1000
        ),
        1 => format!(
            "{{\"level\":\"{level}\",\"msg\":\"query {word}\",\"table\":\"orders\",\"rows\":{},\"took_ms\":{},\"trace_id\":\"{:032x}\"}}",
            n % 10_007,
            n % 2000,
            n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ),
        _ => format!(
            "{level} [worker-{}] processed batch {} in {} ms, {word} {} items from queue jobs-{}",
            n % 16,
            n,
            n % 733,
            n % 5000,
            n % 8
        ),
    }
}
