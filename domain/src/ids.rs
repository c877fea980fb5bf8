use compact_str::CompactString;

use crate::ParseError;

/// Longest identifier accepted from a caller. Bounded so keys stay cheap to index.
pub const ID_MAX_LEN: usize = 64;

fn parse_id(kind: &str, text: &str) -> Result<CompactString, ParseError> {
    if text.is_empty() {
        return Err(ParseError::new(
            "empty",
            format!("{kind} must not be empty"),
        ));
    }
    if text.len() > ID_MAX_LEN {
        return Err(ParseError::new(
            "too_long",
            format!("{kind} is {} bytes; the limit is {ID_MAX_LEN}", text.len()),
        ));
    }
    // An identifier holding a card number would put card data into every key. Identifiers
    // have a declared format, so only a scheme-issued number counts: a timestamp does not.
    if crate::find_pan(text, crate::PanRule::Identifier).is_some() {
        return Err(ParseError::new(
            "full_card_number",
            format!("{kind} holds a full card number; card numbers are never accepted"),
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(ParseError::new(
            "invalid_character",
            format!("{kind} may hold only ASCII letters, digits and - _ . : (found {bad:?})"),
        ));
    }
    Ok(CompactString::from(text))
}

macro_rules! opaque_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(CompactString);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, ParseError> {
                parse_id($kind, text).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ParseError;
            fn try_from(text: &str) -> Result<Self, ParseError> {
                $name::parse(text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// The payment app's own, opaque identifier of a customer.
    CustomerId,
    "customer id"
);
opaque_id!(
    /// The sender's identifier of one event; the idempotency key of ingestion.
    EventId,
    "event id"
);
opaque_id!(
    /// Identifier of a product in the catalogue.
    ProductId,
    "product id"
);
opaque_id!(
    /// Identifier of a merchant, as given by the acquirer.
    MerchantId,
    "merchant id"
);
opaque_id!(
    /// The payment app's identifier of the device a payment was made from (an app install).
    DeviceId,
    "device id"
);
opaque_id!(
    /// The account of a payment's counterparty as the bank knows it: an IBAN written without
    /// spaces, or the payment app's own reference.
    AccountRef,
    "account"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bounded_and_plain() {
        assert!(CustomerId::parse("c-000123").is_ok());
        assert_eq!(CustomerId::parse("").unwrap_err().code, "empty");
        assert_eq!(
            CustomerId::parse(&"x".repeat(65)).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            CustomerId::parse("a b").unwrap_err().code,
            "invalid_character"
        );
        assert_eq!(
            EventId::parse("4111111111111111").unwrap_err().code,
            "full_card_number"
        );
    }
}
