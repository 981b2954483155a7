//! Values as the report tables print them: dates (UTC, `YYYY-MM-DD`), durations
//! (`12m 03s`), percentages and rates, and stored text made safe to echo. Every
//! function takes any value without panicking, because the numbers come from a
//! database that other replicas, older versions or a person with `sqlite3` may
//! have written.

use crate::intent::slots::is_invisible;

/// What a table shows for a value that does not exist (no finished deployment,
/// nothing rated yet), rather than a misleading zero.
pub const NONE: &str = "-";

/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// The UTC date of `ms` milliseconds since the Unix epoch, `YYYY-MM-DD`.
pub fn date(ms: i64) -> String {
    // Euclidean division so that instants before 1970 fall on the day they
    // belong to (-1 ms is 1969-12-31), not on the day after.
    let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date of `days` since 1970-01-01, as (year, month,
/// day). Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html>): shift to an era
/// of 400 years starting on 0000-03-01, so that the leap day is the last day
/// of a year and every month length follows from one linear formula.
///
/// Exact for every `days` an i64 of milliseconds can produce (about ±292
/// million years), so no input overflows.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01
    let era = z.div_euclid(146_097); // 400-year eras; 146 097 days each
    let doe = z - era * 146_097; // day of era, [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March-based year, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are small by construction ([1, 31] and [1, 12]).
    (year, day_or_month(month), day_or_month(day))
}

fn day_or_month(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// A duration in its two largest units, the second zero-padded so a column of
/// them lines up by eye: `45s`, `12m 03s`, `1h 05m`, `2d 03h`. Rounds down to
/// the second; negative values (clocks that disagreed) read as `0s`.
pub fn duration(ms: i64) -> String {
    let secs = ms.max(0) / 1_000;
    let (days, hours, minutes, seconds) =
        (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    if days > 0 {
        format!("{days}d {hours:02}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

/// A ratio in [0, 1] as a whole percentage: `75%`. Rounds to the nearest, except
/// that only all reads as `100%` and only none as `0%`: 199 successes out of
/// 200 is `99%`, one failure in 1000 is `1%`, because those two ends are what
/// people act on.
pub fn percent(ratio: f64) -> String {
    if !ratio.is_finite() {
        return NONE.to_owned();
    }
    let ratio = ratio.clamp(0.0, 1.0);
    let mut whole = (ratio * 100.0).round();
    if whole >= 100.0 && ratio < 1.0 {
        whole = 99.0;
    } else if whole <= 0.0 && ratio > 0.0 {
        whole = 1.0;
    }
    format!("{whole:.0}%")
}

/// A rate per day with two decimals: `0.43`.
pub fn per_day(rate: f64) -> String {
    if rate.is_finite() {
        format!("{:.2}", rate.max(0.0))
    } else {
        NONE.to_owned()
    }
}

/// `value` formatted by `f`, or [`NONE`].
pub fn or_none<T>(value: Option<T>, f: impl FnOnce(T) -> String) -> String {
    value.map(f).unwrap_or_else(|| NONE.to_owned())
}

/// Stored text (a version, a user name, a reason) as one plain line of at most
/// `max_chars` characters (then `…`), fit for a table cell:
/// - line breaks, tabs and other control or invisible characters become
///   spaces: they would break the table, or disguise what the text says;
/// - `cell` (the template's column separator) becomes `|`, so data never adds
///   a column.
///
/// Mentions, links and formatting are the renderer's job: every value a
/// template prints goes through [`crate::render::echo::untrusted`].
pub fn plain(text: &str, max_chars: usize, cell: char) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    for (i, c) in text.trim().chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        out.push(if is_invisible(c) {
            ' '
        } else if c == cell {
            '|'
        } else {
            c
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of [`civil_from_days`] (Hinnant's `days_from_civil`), only
    /// to check it over whole 400-year cycles.
    fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
        let (month, day) = (i64::from(month), i64::from(day));
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn is_leap(year: i64) -> bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    #[test]
    fn known_dates_print_in_utc() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_735_689_600_000), "2025-01-01");
        assert_eq!(date(1_735_689_599_999), "2024-12-31");
        assert_eq!(date(951_782_400_000), "2000-02-29");
        assert_eq!(date(1_709_164_800_000), "2024-02-29");
        assert_eq!(date(4_107_542_400_000), "2100-03-01");
    }

    #[test]
    fn an_instant_before_1970_belongs_to_the_day_it_happened() {
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(-DAY_MS), "1969-12-31");
        assert_eq!(date(-DAY_MS - 1), "1969-12-30");
        assert_eq!(date(-2_208_988_800_000), "1900-01-01");
    }

    #[test]
    fn every_day_of_two_cycles_around_the_epoch_follows_the_one_before() {
        // 800 years either side of 2000-03-01: month lengths, leap years
        // (including 1900, 2000 and 2100) and the era boundaries all come by.
        let start = days_from_civil(1600, 3, 1) - 146_097;
        let end = days_from_civil(2400, 3, 1);
        let mut previous = civil_from_days(start - 1);
        for days in start..end {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
            let (py, pm, pd) = previous;
            let next_day = (py, pm, pd + 1) == (y, m, d);
            let next_month = d == 1 && ((py, pm + 1) == (y, m) || (py + 1, pm, m) == (y, 12, 1));
            assert!(next_day || next_month, "{py}-{pm}-{pd} then {y}-{m}-{d}");
            if m == 2 && d == 29 {
                assert!(is_leap(y), "{y}-02-29");
            }
            previous = (y, m, d);
        }
    }

    #[test]
    fn extreme_instants_format_without_panicking() {
        for ms in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1] {
            let text = date(ms);
            assert!(text.len() >= 10, "{text}");
        }
        assert_eq!(date(253_402_300_799_999), "9999-12-31");
    }

    #[test]
    fn durations_show_their_two_largest_units() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(999), "0s");
        assert_eq!(duration(45_000), "45s");
        assert_eq!(duration(60_000), "1m 00s");
        assert_eq!(duration(765_000), "12m 45s");
        assert_eq!(duration(723_999), "12m 03s");
        assert_eq!(duration(3_600_000), "1h 00m");
        assert_eq!(duration(45_930_000), "12h 45m");
        assert_eq!(duration(86_400_000 + 3 * 3_600_000 + 59_000), "1d 03h");
    }

    #[test]
    fn impossible_durations_do_not_panic() {
        assert_eq!(duration(-5_000), "0s");
        assert_eq!(duration(i64::MIN), "0s");
        assert!(duration(i64::MAX).ends_with('h'));
    }

    #[test]
    fn percentages_only_read_as_all_or_none_when_they_are() {
        assert_eq!(percent(0.75), "75%");
        assert_eq!(percent(2.0 / 3.0), "67%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(199.0 / 200.0), "99%");
        assert_eq!(percent(1.0 / 1000.0), "1%");
        assert_eq!(percent(f64::NAN), "-");
        assert_eq!(percent(7.0), "100%");
    }

    #[test]
    fn rates_per_day_have_two_decimals() {
        assert_eq!(per_day(3.0 / 7.0), "0.43");
        assert_eq!(per_day(0.0), "0.00");
        assert_eq!(per_day(12.0), "12.00");
        assert_eq!(per_day(f64::INFINITY), "-");
    }

    #[test]
    fn stored_text_is_one_plain_line() {
        assert_eq!(plain("P99\tlatency\nspike", 300, '│'), "P99 latency spike");
        assert_eq!(plain("a │ b", 300, '│'), "a | b");
        assert_eq!(plain("a\u{202E}b", 300, '│'), "a b");
        assert_eq!(plain("abcdef", 3, '│'), "abc…");
        assert_eq!(plain("  padded  ", 300, '│'), "padded");
    }
}
