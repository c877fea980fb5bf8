use chrono::{DateTime, Datelike, Utc};

use crate::{string_enum, Currency, CustomerId, ParseError};

/// Year of birth; customers are adults (at least 18) and born after 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BirthYear(u16);

impl BirthYear {
    pub const MIN: i64 = 1900;
    pub const ADULT_AGE_YEARS: i64 = 18;

    /// Parses a birth year, judged against `today` so the check does not drift with the clock.
    pub fn parse(year: i64, today: DateTime<Utc>) -> Result<Self, ParseError> {
        let latest = i64::from(today.year()) - Self::ADULT_AGE_YEARS;
        if !(Self::MIN..=latest).contains(&year) {
            return Err(ParseError::new(
                "out_of_range",
                format!(
                    "birth year {year} must lie in {}..={latest} (an adult customer)",
                    Self::MIN
                ),
            ));
        }
        Ok(BirthYear(year as u16))
    }

    pub fn get(self) -> u16 {
        self.0
    }

    pub fn age_years(self, on: DateTime<Utc>) -> u16 {
        (on.year() as u16).saturating_sub(self.0)
    }
}

/// A region code chosen by the bank (e.g. a NUTS code or a district name), 1..=32 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let len = text.chars().count();
        if !(1..=32).contains(&len) {
            return Err(ParseError::new(
                "invalid_length",
                "region must have 1 to 32 characters",
            ));
        }
        if text.chars().any(|c| c.is_control()) {
            return Err(ParseError::new(
                "invalid_character",
                "region must not hold control characters",
            ));
        }
        Ok(Region(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_enum!(
    /// What the customer declared as their occupation at onboarding.
    Occupation {
        Employed = "employed",
        SelfEmployed = "self_employed",
        BusinessOwner = "business_owner",
        Student = "student",
        Retired = "retired",
        Unemployed = "unemployed",
        Other = "other",
    }
);

string_enum!(
    /// Know-your-customer state; credit and investment advice need `Verified`.
    KycStatus {
        Pending = "pending",
        Verified = "verified",
        Rejected = "rejected",
        Expired = "expired",
    }
);

string_enum!(
    /// A channel marketing may reach the customer on; each needs its own consent.
    MarketingChannel {
        Push = "push",
        Email = "email",
        Sms = "sms",
        InApp = "in_app",
    }
);

/// Marketing consent per channel. Absent means no consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelConsents {
    pub push: bool,
    pub email: bool,
    pub sms: bool,
    pub in_app: bool,
}

impl ChannelConsents {
    pub fn allows(&self, channel: MarketingChannel) -> bool {
        match channel {
            MarketingChannel::Push => self.push,
            MarketingChannel::Email => self.email,
            MarketingChannel::Sms => self.sms,
            MarketingChannel::InApp => self.in_app,
        }
    }

    pub fn set(&mut self, channel: MarketingChannel, granted: bool) {
        match channel {
            MarketingChannel::Push => self.push = granted,
            MarketingChannel::Email => self.email = granted,
            MarketingChannel::Sms => self.sms = granted,
            MarketingChannel::InApp => self.in_app = granted,
        }
    }
}

/// What the customer agreed their data may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Consents {
    /// Their payment and behaviour history may be turned into a profile.
    pub profiling: bool,
    pub marketing: ChannelConsents,
}

/// A customer as the payment app registers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub birth_year: BirthYear,
    pub region: Region,
    pub occupation: Occupation,
    pub kyc_status: KycStatus,
    pub consents: Consents,
    /// The currency of the customer's account: every monetary feature, credit figure and
    /// review figure about them is in it, foreign amounts converted at their own date's rate.
    pub base_currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn birth_year_requires_an_adult() {
        let today = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        assert!(BirthYear::parse(2008, today).is_ok());
        assert_eq!(
            BirthYear::parse(2009, today).unwrap_err().code,
            "out_of_range"
        );
        assert_eq!(
            BirthYear::parse(1899, today).unwrap_err().code,
            "out_of_range"
        );
        assert_eq!(BirthYear::parse(1990, today).unwrap().age_years(today), 36);
    }

    #[test]
    fn consents_are_per_channel() {
        let mut c = ChannelConsents::default();
        c.set(MarketingChannel::Email, true);
        assert!(c.allows(MarketingChannel::Email));
        assert!(!c.allows(MarketingChannel::Push));
        assert_eq!(Occupation::parse("student").unwrap(), Occupation::Student);
        assert_eq!(
            Occupation::parse("pilot").unwrap_err().code,
            "unknown_value"
        );
    }
}
