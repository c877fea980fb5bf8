//! Sextant's domain vocabulary.
//!
//! Every type here is built by a parser (`parse`/`TryFrom`) that checks it once; a value that
//! exists is valid ("parse, don't validate"). The crate does no I/O and knows no wire format:
//! the `api` crate maps its JSON and CSV records onto these types.

mod customer;
mod error;
mod event;
mod fx;
mod ids;
mod money;
mod pan;
mod product;

pub use customer::{
    BirthYear, ChannelConsents, Consents, Customer, KycStatus, MarketingChannel, Occupation, Region,
};
pub use error::{FieldError, ParseError};
pub use event::{
    BehaviourEvent, BehaviourKind, Card, Channel, Counterparty, CountryCode, Direction, Event, Mcc,
    PaymentEvent, PaymentKind, PaymentStatus, SessionId, ShortText,
};
pub use fx::{
    convert_exact, AmountSource, ConvertError, MissingRate, Rate, RateTable, Unconverted,
    MAX_CONVERTIBLE,
};
pub use ids::{AccountRef, CustomerId, DeviceId, EventId, MerchantId, ProductId};
pub use money::{AmountMinor, Currency};
pub use pan::{
    contains_card_number, find_card_number, find_pan, find_pan_in_value, may_hold_pan, PanRule,
};
pub use product::{default_catalogue, Holding, Product, ProductKind, RiskLevel, RiskTolerance};

/// Declares a closed set of snake_case names with `as_str`, `parse` and `ALL`.
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable snake_case name used on the wire and in storage.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the snake_case name.
            pub fn parse(text: &str) -> Result<Self, $crate::ParseError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::ParseError::new(
                        "unknown_value",
                        // The rejected text is never repeated: it may be anything.
                        format!("must be one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
