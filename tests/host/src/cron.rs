//! Six-field cron expressions (`sec min hour day-of-month month day-of-week`),
//! the format the Spin cron trigger uses. Supports `*`, numbers, `a-b`
//! ranges, `,` lists and `/n` steps; day-of-week 0–7 with 0 and 7 = Sunday.
//! When both day fields are restricted, either may match (classic cron).

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    seconds: Vec<bool>,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    days_any: bool,
    weekdays_any: bool,
}

fn field(text: &str, min: u32, max: u32, what: &str) -> Result<(Vec<bool>, bool)> {
    let mut set = vec![false; max as usize + 1];
    let any = text == "*" || text == "?";
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .with_context(|| format!("bad step in {what} {text:?}"))?,
            ),
            None => (part, 1),
        };
        if step == 0 {
            bail!("step 0 in {what} {text:?}");
        }
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse()?, b.parse()?)
        } else {
            let v: u32 = range
                .parse()
                .with_context(|| format!("bad {what} {text:?}"))?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            bail!("{what} {text:?} out of range {min}-{max}");
        }
        let mut v = lo;
        while v <= hi {
            set[v as usize] = true;
            v += step;
        }
    }
    Ok((set, any))
}

impl Schedule {
    /// Parses a six-field expression.
    pub fn parse(expr: &str) -> Result<Self> {
        let parts: Vec<&str> = expr.split_whitespace().collect();
        if parts.len() != 6 {
            bail!("cron expression {expr:?} must have 6 fields (sec min hour day month weekday)");
        }
        let (seconds, _) = field(parts[0], 0, 59, "second")?;
        let (minutes, _) = field(parts[1], 0, 59, "minute")?;
        let (hours, _) = field(parts[2], 0, 23, "hour")?;
        let (days, days_any) = field(parts[3], 1, 31, "day of month")?;
        let (months, _) = field(parts[4], 1, 12, "month")?;
        let (mut weekdays, weekdays_any) = field(parts[5], 0, 7, "day of week")?;
        if weekdays[7] {
            weekdays[0] = true;
            weekdays[7] = false;
        }
        Ok(Self {
            seconds,
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_any,
            weekdays_any,
        })
    }

    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = self.days[t.day() as usize];
        let dow = self.weekdays[t.weekday().num_days_from_sunday() as usize];
        match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        }
    }

    /// The first firing strictly after `after` (within four years).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = after + Duration::seconds(1);
        let mut day = Utc
            .with_ymd_and_hms(start.year(), start.month(), start.day(), 0, 0, 0)
            .single()?;
        for _ in 0..(366 * 4) {
            if self.months[day.month() as usize] && self.day_matches(&day) {
                for h in (0..24).filter(|h| self.hours[*h as usize]) {
                    for m in (0..60).filter(|m| self.minutes[*m as usize]) {
                        for s in (0..60).filter(|s| self.seconds[*s as usize]) {
                            let t = day.with_hour(h)?.with_minute(m)?.with_second(s)?;
                            if t >= start {
                                return Some(t);
                            }
                        }
                    }
                }
            }
            day += Duration::days(1);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_minute() {
        let s = Schedule::parse("0 * * * * *").unwrap();
        assert_eq!(
            s.next_after(t("2026-11-24T10:00:00Z")),
            Some(t("2026-11-24T10:01:00Z"))
        );
        assert_eq!(
            s.next_after(t("2026-11-24T10:00:59Z")),
            Some(t("2026-11-24T10:01:00Z"))
        );
    }

    #[test]
    fn steps_ranges_lists() {
        let s = Schedule::parse("*/15 0-1 3,4 * * *").unwrap();
        assert_eq!(
            s.next_after(t("2026-11-24T03:00:00Z")),
            Some(t("2026-11-24T03:00:15Z"))
        );
        assert_eq!(
            s.next_after(t("2026-11-24T03:01:45Z")),
            Some(t("2026-11-24T04:00:00Z"))
        );
        assert_eq!(
            s.next_after(t("2026-11-24T04:01:45Z")),
            Some(t("2026-11-25T03:00:00Z"))
        );
    }

    #[test]
    fn weekdays_and_days() {
        // 2026-11-24 is a Tuesday; next Sunday is the 29th.
        let sunday = Schedule::parse("0 0 12 * * 0").unwrap();
        assert_eq!(
            sunday.next_after(t("2026-11-24T00:00:00Z")),
            Some(t("2026-11-29T12:00:00Z"))
        );
        let seven = Schedule::parse("0 0 12 * * 7").unwrap();
        assert_eq!(seven, sunday);
        let first = Schedule::parse("0 30 2 1 * *").unwrap();
        assert_eq!(
            first.next_after(t("2026-11-24T00:00:00Z")),
            Some(t("2026-12-01T02:30:00Z"))
        );
    }

    #[test]
    fn rejects_bad_expressions() {
        for bad in [
            "* * * * *",
            "60 * * * * *",
            "* * 24 * * *",
            "*/0 * * * * *",
            "a * * * * *",
            "5-1 * * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }
}
