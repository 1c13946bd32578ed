//! What the bench measures with: a latency histogram, a process's CPU time and peak RSS from
//! `/proc`, CPU pinning, and the `placedAt` timestamps the servers embed in each event.

use std::time::SystemTime;

/// A latency histogram in microseconds: exact below 128 µs, then 64 buckets per power of two
/// (about 1.6 % wide), up to about 2^40 µs.
#[derive(Clone, Debug)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
}

const EXACT: u64 = 128;
const SUB_BUCKETS: u64 = 64;
const MAX_EXPONENT: u32 = 40;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: vec![0; (EXACT + u64::from(MAX_EXPONENT - 6) * SUB_BUCKETS) as usize],
            count: 0,
        }
    }
}

impl Histogram {
    fn index(micros: u64) -> usize {
        if micros < EXACT {
            return micros as usize;
        }
        let exponent = (63 - micros.leading_zeros()).min(MAX_EXPONENT - 1);
        let mantissa = (micros >> (exponent - 6)).min(2 * SUB_BUCKETS - 1);
        (EXACT + u64::from(exponent - 7) * SUB_BUCKETS + (mantissa - SUB_BUCKETS)) as usize
    }

    /// The smallest value of bucket `index`.
    fn value(index: usize) -> u64 {
        let index = index as u64;
        if index < EXACT {
            return index;
        }
        let exponent = (index - EXACT) / SUB_BUCKETS + 7;
        let mantissa = (index - EXACT) % SUB_BUCKETS + SUB_BUCKETS;
        mantissa << (exponent - 6)
    }

    pub fn record(&mut self, micros: u64) {
        self.buckets[Self::index(micros)] += 1;
        self.count += 1;
    }

    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The value at quantile `q` (0..=1), in microseconds; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((self.count as f64 * q).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::value(index);
            }
        }
        Self::value(self.buckets.len() - 1)
    }
}

/// The CPU time (user + system, all threads) process `pid` has used, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14 and stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (utime + stime) as f64 / ticks as f64)
}

/// The peak resident set size of process `pid` (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPUs this process may run on, in order.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the kernel writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

/// Pin the calling thread (and the threads it starts afterwards) to `cpu`.
pub fn pin_to(cpu: usize) -> Result<(), String> {
    // SAFETY: as above; CPU_SET ignores CPUs past the set's size.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result == 0 {
        Ok(())
    } else {
        Err(format!(
            "cannot pin to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        ))
    }
}

/// Now, in nanoseconds since the Unix epoch (the clock the servers stamp `placedAt` with).
pub fn now_nanos() -> i64 {
    match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// An RFC 3339 date-time (`2026-11-24T10:00:00.123456789+00:00`, any number of fraction
/// digits, `Z` or an offset) in nanoseconds since the Unix epoch.
pub fn parse_rfc3339_nanos(text: &[u8]) -> Option<i64> {
    let digits = |from: usize, to: usize| -> Option<i64> {
        text.get(from..to)?.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    let mut at = 19;
    let mut fraction = 0i64;
    let mut places = 0;
    if text.get(at) == Some(&b'.') {
        at += 1;
        while let Some(c) = text.get(at).filter(|c| c.is_ascii_digit()) {
            if places < 9 {
                fraction = fraction * 10 + i64::from(c - b'0');
                places += 1;
            }
            at += 1;
        }
    }
    for _ in places..9 {
        fraction *= 10;
    }
    let offset = match text.get(at)? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let minutes = digits(at + 1, at + 3)? * 60 + digits(at + 4, at + 6)?;
            if *sign == b'-' {
                -minutes * 60
            } else {
                minutes * 60
            }
        }
        _ => return None,
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(seconds * 1_000_000_000 + fraction)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years, March-based years).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_like_chrono() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2026-11-24T10:00:00Z",
            "2026-11-24T10:00:00.123456789+00:00",
            "2024-02-29T23:59:59.5-05:30",
            "2000-03-01T00:00:00.000001+01:00",
        ] {
            let expected = chrono::DateTime::parse_from_rfc3339(text)
                .unwrap()
                .timestamp_nanos_opt()
                .unwrap();
            assert_eq!(
                parse_rfc3339_nanos(text.as_bytes()),
                Some(expected),
                "{text}"
            );
        }
        assert_eq!(parse_rfc3339_nanos(b"2026-11-24"), None);
    }

    #[test]
    fn histogram_quantiles_are_within_a_bucket() {
        let mut histogram = Histogram::default();
        for micros in 1..=100_000 {
            histogram.record(micros);
        }
        let p50 = histogram.quantile(0.5) as f64;
        let p99 = histogram.quantile(0.99) as f64;
        assert!((p50 / 50_000.0 - 1.0).abs() < 0.02, "{p50}");
        assert!((p99 / 99_000.0 - 1.0).abs() < 0.02, "{p99}");
        assert_eq!(histogram.count(), 100_000);
        assert_eq!(Histogram::default().quantile(0.5), 0);
    }
}
