//! MS-DOS date and time fields, as zip headers store them.

/// A DOS timestamp decoded into its parts; fields are not range-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosTime {
    /// Year, from 1980.
    pub year: u16,
    /// Month, 1 to 12 when valid.
    pub month: u8,
    /// Day, 1 to 31 when valid.
    pub day: u8,
    /// Hour.
    pub hour: u8,
    /// Minute.
    pub minute: u8,
    /// Second, always even.
    pub second: u8,
}

impl DosTime {
    /// Splits the two 16-bit fields.
    pub fn decode(date: u16, time: u16) -> DosTime {
        DosTime {
            year: 1980 + (date >> 9),
            month: ((date >> 5) & 0x0f) as u8,
            day: (date & 0x1f) as u8,
            hour: (time >> 11) as u8,
            minute: ((time >> 5) & 0x3f) as u8,
            second: ((time & 0x1f) * 2) as u8,
        }
    }

    /// Whether every part is in its calendar range.
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }
}

impl std::fmt::Display for DosTime {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_timestamp() {
        // 2010-09-05 04:12:00, from Info-ZIP's test archive.
        let time = DosTime::decode(0x3d25, 0x2180);
        assert_eq!(time.to_string(), "2010-09-05 04:12:00");
        assert!(time.is_valid());
    }

    #[test]
    fn zero_date_is_invalid() {
        assert!(!DosTime::decode(0, 0).is_valid());
    }
}
