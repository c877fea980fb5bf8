use chrono::{DateTime, Utc};

use crate::{
    string_enum, AccountRef, AmountMinor, Currency, CustomerId, DeviceId, EventId, MerchantId,
    ParseError, ProductId,
};

string_enum!(
    /// Which way money moved, seen from the customer's account.
    Direction { Debit = "debit", Credit = "credit" }
);

string_enum!(
    /// What a payment was.
    PaymentKind {
        Purchase = "purchase",
        Salary = "salary",
        TransferIn = "transfer_in",
        TransferOut = "transfer_out",
        Bill = "bill",
        Atm = "atm",
        Refund = "refund",
        LoanRepayment = "loan_repayment",
        Investment = "investment",
        Instalment = "instalment",
    }
);

impl PaymentKind {
    /// The direction a payment of this kind must have; `None` where both occur.
    pub fn required_direction(self) -> Option<Direction> {
        match self {
            PaymentKind::Salary | PaymentKind::TransferIn | PaymentKind::Refund => {
                Some(Direction::Credit)
            }
            PaymentKind::Purchase
            | PaymentKind::TransferOut
            | PaymentKind::Bill
            | PaymentKind::Atm
            | PaymentKind::LoanRepayment
            | PaymentKind::Instalment => Some(Direction::Debit),
            PaymentKind::Investment => None,
        }
    }
}

string_enum!(
    /// How the payment ended. A failed payment (refused for lack of funds, a returned direct
    /// debit) is kept: it is a strong signal of financial stress.
    PaymentStatus { Completed = "completed", Failed = "failed" }
);

string_enum!(
    /// Where the payment happened.
    Channel {
        Online = "online",
        InStore = "in_store",
        Transit = "transit",
        P2p = "p2p",
        CrossBorder = "cross_border",
    }
);

string_enum!(
    /// What the customer did in the app.
    BehaviourKind {
        AppOpen = "app_open",
        ScreenView = "screen_view",
        ProductView = "product_view",
        OfferImpression = "offer_impression",
        OfferClick = "offer_click",
        OfferDismiss = "offer_dismiss",
        /// The customer took up an offered product (reported by the back end).
        OfferConversion = "offer_conversion",
        Search = "search",
    }
);

/// ISO 3166-1 alpha-2 country code (shape checked, two upper-case letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let b = text.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(ParseError::new(
                "invalid_country",
                "country must be an ISO 3166-1 alpha-2 code such as CZ",
            ));
        }
        Ok(CountryCode([b[0], b[1]]))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("country codes are ASCII")
    }
}

/// ISO 18245 merchant category code, 0000..=9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mcc(u16);

impl Mcc {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(
                "invalid_mcc",
                "mcc must be four digits, e.g. 5411",
            ));
        }
        Ok(Mcc(text.parse().expect("four digits parse")))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl std::fmt::Display for Mcc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// The only card data Sextant keeps (PCI DSS): the issuer BIN and the last four digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Card {
    bin: [u8; 8],
    bin_len: u8,
    last4: [u8; 4],
}

impl Card {
    /// `bin` is 6 or 8 digits, `last4` exactly 4 digits.
    pub fn parse(bin: &str, last4: &str) -> Result<Self, ParseError> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !(bin.len() == 6 || bin.len() == 8) || !digits(bin) {
            return Err(ParseError::new(
                "invalid_bin",
                "card BIN must be 6 or 8 digits",
            ));
        }
        if last4.len() != 4 || !digits(last4) {
            return Err(ParseError::new(
                "invalid_last4",
                "card last4 must be exactly 4 digits",
            ));
        }
        let mut card = Card {
            bin: [0; 8],
            bin_len: bin.len() as u8,
            last4: [0; 4],
        };
        card.bin[..bin.len()].copy_from_slice(bin.as_bytes());
        card.last4.copy_from_slice(last4.as_bytes());
        Ok(card)
    }

    pub fn bin(&self) -> &str {
        std::str::from_utf8(&self.bin[..usize::from(self.bin_len)]).expect("digits")
    }

    pub fn last4(&self) -> &str {
        std::str::from_utf8(&self.last4).expect("digits")
    }

    /// How the card may be shown: BIN, a mask, and the last four.
    pub fn masked(&self) -> String {
        format!("{}******{}", self.bin(), self.last4())
    }
}

/// Free text from a caller (a search query, a screen name): 1..=200 characters, no control
/// characters, never a card number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortText(String);

impl ShortText {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let len = text.chars().count();
        if len == 0 || len > Self::MAX_CHARS {
            return Err(ParseError::new(
                "invalid_length",
                format!("text must have 1 to {} characters", Self::MAX_CHARS),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(ParseError::new(
                "invalid_character",
                "text must not hold control characters",
            ));
        }
        if crate::contains_card_number(text) {
            return Err(ParseError::new(
                "full_card_number",
                "text holds a full card number; card numbers are never accepted",
            ));
        }
        Ok(ShortText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An app session identifier (same rules as other opaque identifiers).
pub type SessionId = EventId;

/// The other party of a transfer, a salary or a bill: who paid the customer or whom they
/// paid. Personal data: stored sealed under the customer's key, like merchants and cards.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Counterparty {
    /// As the payment order gives it (a person's or an organisation's name).
    pub name: Option<ShortText>,
    pub account: Option<AccountRef>,
}

impl Counterparty {
    /// What tells one counterparty from another: the account when there is one, else the
    /// name with case and spacing folded.
    pub fn key(&self) -> Option<String> {
        if let Some(account) = &self.account {
            return Some(format!("a:{}", account.as_str()));
        }
        let name = self.name.as_ref()?;
        let folded: Vec<String> = name
            .as_str()
            .split_whitespace()
            .map(|w| w.to_lowercase())
            .collect();
        Some(format!("n:{}", folded.join(" ")))
    }
}

/// One payment on the customer's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    pub event_id: EventId,
    pub customer_id: CustomerId,
    pub occurred_at: DateTime<Utc>,
    pub amount: AmountMinor,
    pub currency: Currency,
    pub direction: Direction,
    pub kind: PaymentKind,
    pub channel: Channel,
    pub merchant_id: Option<MerchantId>,
    pub mcc: Option<Mcc>,
    pub country: CountryCode,
    pub card: Option<Card>,
    pub status: PaymentStatus,
    /// Account balance right after the payment, when the sender knows it (may be negative in
    /// an overdraft).
    pub balance_after_minor: Option<i64>,
    /// Who was paid or paid in, when the payment order names them.
    pub counterparty: Option<Counterparty>,
    /// The device the customer made the payment from, when made in the app.
    pub device_id: Option<DeviceId>,
    /// For a refund or chargeback: the purchase it gives money back for.
    pub refund_of: Option<EventId>,
}

impl PaymentEvent {
    /// Cross-field rules, checked after each field parsed: returns (field, error).
    pub fn check(&self) -> Result<(), (&'static str, ParseError)> {
        if let Some(required) = self.kind.required_direction() {
            if required != self.direction {
                return Err((
                    "direction",
                    ParseError::new(
                        "direction_mismatch",
                        format!("a `{}` payment must be `{}`", self.kind, required),
                    ),
                ));
            }
        }
        if self
            .counterparty
            .as_ref()
            .is_some_and(|c| c.name.is_none() && c.account.is_none())
        {
            return Err((
                "counterparty",
                ParseError::new(
                    "required",
                    "a counterparty needs its name, its account or both",
                ),
            ));
        }
        if self.refund_of.is_some() && self.kind != PaymentKind::Refund {
            return Err((
                "refund_of",
                ParseError::new(
                    "not_a_refund",
                    "only a refund can name the purchase it refunds",
                ),
            ));
        }
        if self.refund_of.as_ref() == Some(&self.event_id) {
            return Err((
                "refund_of",
                ParseError::new("refunds_itself", "a refund cannot refund itself"),
            ));
        }
        if self.kind == PaymentKind::Purchase && self.mcc.is_none() {
            return Err((
                "mcc",
                ParseError::new(
                    "required",
                    "a purchase must carry its merchant category code",
                ),
            ));
        }
        Ok(())
    }
}

/// One thing the customer did in the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehaviourEvent {
    pub event_id: EventId,
    pub customer_id: CustomerId,
    pub occurred_at: DateTime<Utc>,
    pub kind: BehaviourKind,
    pub session_id: Option<SessionId>,
    pub screen: Option<ShortText>,
    pub product_id: Option<ProductId>,
    pub offer_id: Option<EventId>,
    pub query: Option<ShortText>,
}

impl BehaviourEvent {
    /// Cross-field rules: what each kind must carry.
    pub fn check(&self) -> Result<(), (&'static str, ParseError)> {
        let missing = |field: &'static str| {
            Err((
                field,
                ParseError::new(
                    "required",
                    format!("a `{}` event must carry `{field}`", self.kind),
                ),
            ))
        };
        match self.kind {
            BehaviourKind::ProductView if self.product_id.is_none() => missing("product_id"),
            BehaviourKind::OfferImpression
            | BehaviourKind::OfferClick
            | BehaviourKind::OfferDismiss
            | BehaviourKind::OfferConversion
                if self.offer_id.is_none() =>
            {
                missing("offer_id")
            }
            BehaviourKind::Search if self.query.is_none() => missing("query"),
            _ => Ok(()),
        }
    }
}

/// Any event the payment app sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Payment(PaymentEvent),
    Behaviour(BehaviourEvent),
}

impl Event {
    pub fn event_id(&self) -> &EventId {
        match self {
            Event::Payment(p) => &p.event_id,
            Event::Behaviour(b) => &b.event_id,
        }
    }

    pub fn customer_id(&self) -> &CustomerId {
        match self {
            Event::Payment(p) => &p.customer_id,
            Event::Behaviour(b) => &b.customer_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_keeps_only_bin_and_last4() {
        let card = Card::parse("411111", "1111").unwrap();
        assert_eq!(card.masked(), "411111******1111");
        assert_eq!(
            Card::parse("41111", "1111").unwrap_err().code,
            "invalid_bin"
        );
        assert_eq!(
            Card::parse("411111", "111").unwrap_err().code,
            "invalid_last4"
        );
    }
}
