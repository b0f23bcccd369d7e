//! The UTC date and time of now, for history entries and run ids, without a date crate: the
//! civil-from-days conversion of the proleptic Gregorian calendar (H. Hinnant's algorithm).

use std::time::{SystemTime, UNIX_EPOCH};

/// (year, month 1-12, day 1-31) of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a time in seconds since the epoch.
pub fn iso_utc(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// Seconds since the epoch now (0 if the clock is before it).
pub fn now_seconds() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A run id made of the time and the commit: `20261201T021305Z-<commit>`, safe in file names.
pub fn default_run_id(seconds: i64, commit: &str) -> String {
    let compact: String = iso_utc(seconds).chars().filter(|c| *c != '-' && *c != ':').collect();
    let commit: String = commit.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("{compact}-{commit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 1970-01-01 is day 0; 2000-03-01 is day 11017 (30 years of 365 days + 7 leap days = 10957,
        // plus Jan 31 + Feb 29 = 60); 2026-12-01T02:13:05Z = 1795918385 s (2026-12-01 is day 20788).
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(iso_utc(20_788 * 86_400 + 2 * 3600 + 13 * 60 + 5), "2026-12-01T02:13:05Z");
        assert_eq!(default_run_id(20_788 * 86_400 + 7985, "496f40c-dirty"), "20261201T021305Z-496f40c-dirty");
    }
}
