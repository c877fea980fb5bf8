//! The payment record: one payment as `POST /v1/events`, `sextant import` and
//! `sextant generate` carry it, checked field by field into a [`PaymentEvent`].

use super::*;

/// Card data as it may be sent: the BIN and the last four digits, never the full number.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardRecord {
    /// The issuer's BIN: 6 or 8 digits.
    #[schema(value_type = String, example = "411111", pattern = "^([0-9]{6}|[0-9]{8})$")]
    pub bin: CompactString,
    /// The last four digits.
    #[schema(value_type = String, example = "1234", pattern = "^[0-9]{4}$")]
    pub last4: CompactString,
}

/// Who was paid or paid in: a name, an account, or both.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterpartyRecord {
    /// As the payment order gives it: 1 to 200 characters, never a card number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "Jana Novakova", min_length = 1, max_length = 200)]
    pub name: Option<CompactString>,
    /// An IBAN without spaces, or the payment app's own reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>,
        example = "CZ6508000000192000145399",
        pattern = "^[A-Za-z0-9._:-]{1,64}$"
    )]
    pub account: Option<CompactString>,
}

/// Tag of a payment record.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PaymentTag {
    Payment,
}

/// One payment on a customer's account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRecord {
    #[serde(rename = "type")]
    pub tag: PaymentTag,
    /// The sender's id of the event (an opaque id, never a card number); re-sending the same
    /// id is acknowledged and never stored twice.
    #[schema(value_type = String, example = "p1-42", pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub event_id: CompactString,
    /// An opaque id, never a card number.
    #[schema(value_type = String, example = "c0000001", pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub customer_id: CompactString,
    /// RFC 3339, not more than a day in the future (the schema cannot state that bound).
    #[schema(value_type = String, example = "2026-05-01T12:30:00Z", format = DateTime)]
    pub occurred_at: CompactString,
    /// Positive, in the currency's minor unit, at most twelve digits.
    #[schema(example = 1250, minimum = 1, maximum = 999_999_999_999_i64)]
    pub amount_minor: i64,
    /// A supported ISO 4217 currency.
    #[schema(schema_with = crate::schema::currency)]
    pub currency: CompactString,
    /// debit or credit, as `kind` requires (not expressible in the schema)
    #[schema(schema_with = crate::schema::payment_direction)]
    pub direction: CompactString,
    /// purchase, salary, transfer_in, transfer_out, bill, atm, refund, loan_repayment, investment, instalment
    #[schema(schema_with = crate::schema::payment_kind)]
    pub kind: CompactString,
    /// online, in_store, transit, p2p, cross_border
    #[schema(schema_with = crate::schema::payment_channel)]
    pub channel: CompactString,
    /// An opaque id, never a card number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub merchant_id: Option<CompactString>,
    /// Four digits; required for purchases (a rule the schema cannot state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "5411", pattern = "^[0-9]{4}$")]
    pub mcc: Option<CompactString>,
    /// ISO 3166-1 alpha-2: two upper-case letters.
    #[schema(value_type = String, example = "CZ", pattern = "^[A-Z]{2}$")]
    pub country: CompactString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardRecord>,
    /// completed (default) or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::schema::payment_status)]
    pub status: Option<CompactString>,
    /// Balance right after the payment, at most twelve digits either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = -999_999_999_999_i64, maximum = 999_999_999_999_i64)]
    pub balance_after_minor: Option<i64>,
    /// Who was paid or paid in (transfers, salaries, bills); screened against the sanctions
    /// list in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<CounterpartyRecord>,
    /// The app install the payment was made from: an opaque id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "dv-7f3a9c", pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub device_id: Option<CompactString>,
    /// For a refund or chargeback: the `event_id` of the purchase it gives money back for.
    /// The purchase's loyalty points are taken back in proportion to the money refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "p1-41", pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub refund_of: Option<CompactString>,
}

/// Largest account balance accepted, either sign: twelve digits, like amounts.
const BALANCE_LIMIT_MINOR: i64 = AmountMinor::MAX;

impl PaymentRecord {
    pub fn into_domain(self) -> Result<PaymentEvent, Vec<FieldError>> {
        let mut e = Errors::default();
        let event_id = e.take("event_id", EventId::parse(&self.event_id));
        let customer_id = e.take("customer_id", CustomerId::parse(&self.customer_id));
        let occurred_at = e.take("occurred_at", parse_event_time(&self.occurred_at));
        let amount = e.take("amount_minor", AmountMinor::new(self.amount_minor));
        let currency = e.take("currency", Currency::parse(&self.currency));
        let direction = e.take("direction", Direction::parse(&self.direction));
        let kind = e.take("kind", PaymentKind::parse(&self.kind));
        let channel = e.take("channel", Channel::parse(&self.channel));
        let merchant_id = e.take_opt(
            "merchant_id",
            self.merchant_id.as_deref(),
            MerchantId::parse,
        );
        let mcc = e.take_opt("mcc", self.mcc.as_deref(), Mcc::parse);
        let country = e.take("country", CountryCode::parse(&self.country));
        let card = match &self.card {
            None => Some(None),
            Some(c) => e.take("card", Card::parse(&c.bin, &c.last4)).map(Some),
        };
        let status = e.take_opt("status", self.status.as_deref(), PaymentStatus::parse);
        let counterparty = match &self.counterparty {
            None => Some(None),
            Some(c) => {
                let name = e.take_opt("counterparty.name", c.name.as_deref(), ShortText::parse);
                let account = e.take_opt(
                    "counterparty.account",
                    c.account.as_deref(),
                    AccountRef::parse,
                );
                match (name, account) {
                    (Some(name), Some(account)) => Some(Some(Counterparty { name, account })),
                    _ => None,
                }
            }
        };
        let device_id = e.take_opt("device_id", self.device_id.as_deref(), DeviceId::parse);
        let refund_of = e.take_opt("refund_of", self.refund_of.as_deref(), EventId::parse);
        if let Some(balance) = self.balance_after_minor {
            if !(-BALANCE_LIMIT_MINOR..=BALANCE_LIMIT_MINOR).contains(&balance) {
                e.0.push(
                    ParseError::new(
                        "too_large",
                        format!("balance beyond +-{BALANCE_LIMIT_MINOR}"),
                    )
                    .at("balance_after_minor"),
                );
            }
        }
        let (
            Some(event_id),
            Some(customer_id),
            Some(occurred_at),
            Some(amount),
            Some(currency),
            Some(direction),
            Some(kind),
            Some(channel),
            Some(merchant_id),
            Some(mcc),
            Some(country),
            Some(card),
            Some(status),
            Some(counterparty),
            Some(device_id),
            Some(refund_of),
        ) = (
            event_id,
            customer_id,
            occurred_at,
            amount,
            currency,
            direction,
            kind,
            channel,
            merchant_id,
            mcc,
            country,
            card,
            status,
            counterparty,
            device_id,
            refund_of,
        )
        else {
            return Err(e.0);
        };
        if !e.0.is_empty() {
            return Err(e.0);
        }
        let payment = PaymentEvent {
            event_id,
            customer_id,
            occurred_at,
            amount,
            currency,
            direction,
            kind,
            channel,
            merchant_id,
            mcc,
            country,
            card,
            status: status.unwrap_or(PaymentStatus::Completed),
            balance_after_minor: self.balance_after_minor,
            counterparty,
            device_id,
            refund_of,
        };
        payment
            .check()
            .map_err(|(field, err)| vec![err.at(field)])?;
        Ok(payment)
    }

    pub fn from_domain(p: &PaymentEvent) -> Self {
        PaymentRecord {
            tag: PaymentTag::Payment,
            event_id: p.event_id.to_compact_string(),
            customer_id: p.customer_id.to_compact_string(),
            occurred_at: format_timestamp(p.occurred_at).into(),
            amount_minor: p.amount.get(),
            currency: p.currency.to_compact_string(),
            direction: p.direction.as_str().into(),
            kind: p.kind.as_str().into(),
            channel: p.channel.as_str().into(),
            merchant_id: p
                .merchant_id
                .as_ref()
                .map(ToCompactString::to_compact_string),
            mcc: p.mcc.map(|m| m.to_compact_string()),
            country: p.country.as_str().into(),
            card: p.card.map(|c| CardRecord {
                bin: c.bin().into(),
                last4: c.last4().into(),
            }),
            status: (p.status != PaymentStatus::Completed).then(|| p.status.as_str().into()),
            balance_after_minor: p.balance_after_minor,
            counterparty: p.counterparty.as_ref().map(|c| CounterpartyRecord {
                name: c.name.as_ref().map(|n| n.as_str().into()),
                account: c.account.as_ref().map(|a| a.as_str().into()),
            }),
            device_id: p.device_id.as_ref().map(|d| d.as_str().into()),
            refund_of: p.refund_of.as_ref().map(|r| r.as_str().into()),
        }
    }
}
