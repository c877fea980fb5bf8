//! Reference exchange rates: a day's set replaces its earlier one exactly, the rates come
//! back as the exact decimals written, the weekend rule holds over stored rates, and every
//! write is audited.

use chrono::{NaiveDate, Utc};
use sextant_domain::{Currency, Rate};
use sextant_store::{AuditFilter, DailyRates, FxWrite};

use crate::common::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn rates(date: NaiveDate, rates: &[(&str, &str)]) -> DailyRates {
    DailyRates {
        date,
        rates: rates
            .iter()
            .map(|(c, r)| (Currency::parse(c).unwrap(), Rate::parse(r).unwrap()))
            .collect(),
    }
}

#[tokio::test]
async fn daily_rates_replace_convert_and_are_audited() {
    for (backend, test) in all_stores().await {
        let store = test.store.as_ref();
        let usd = Currency::parse("USD").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        // Friday the 6th and Monday the 9th, as the ECB publishes them.
        let first = store
            .put_fx_rates(
                &[
                    rates(day(6), &[("USD", "1.0820"), ("JPY", "161.23")]),
                    rates(day(9), &[("USD", "1.0850"), ("JPY", "160.90")]),
                ],
                "test",
                &by(),
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(
            first,
            FxWrite {
                days: 2,
                added: 4,
                ..FxWrite::default()
            },
            "{backend}"
        );
        let table = store.fx_rates(day(7), day(9)).await.unwrap();
        assert_eq!(table.len(), 4, "{backend}");
        // Saturday takes Friday's rate; the text comes back digit for digit.
        let (on, rate) = table.rate_on(usd, day(7)).unwrap();
        assert_eq!(
            (on, rate.to_string().as_str()),
            (day(6), "1.0820"),
            "{backend}"
        );
        assert_eq!(
            table.convert(10_000, jpy, Currency::EUR, day(8)),
            Ok(6_202),
            "{backend}: 10,000 JPY on Sunday at Friday's 161.23"
        );

        // A corrected publication for the 9th: USD changes, JPY is withdrawn.
        let second = store
            .put_fx_rates(
                &[rates(day(9), &[("USD", "1.0851")])],
                "test",
                &by(),
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(
            second,
            FxWrite {
                days: 1,
                changed: 1,
                removed: 1,
                ..FxWrite::default()
            },
            "{backend}"
        );
        let table = store.fx_rates(day(9), day(9)).await.unwrap();
        assert_eq!(table.rate_on(usd, day(9)).unwrap().1.to_string(), "1.0851");
        assert_eq!(
            table.rate_on(jpy, day(9)).unwrap().0,
            day(6),
            "{backend}: without the 9th's yen, Friday's applies"
        );
        // The same set again changes nothing.
        let again = store
            .put_fx_rates(
                &[rates(day(9), &[("USD", "1.0851")])],
                "test",
                &by(),
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(again.unchanged, 1, "{backend}");
        assert_eq!((again.added, again.changed, again.removed), (0, 0, 0));
        // Past the 7-day rule, nothing converts.
        let late = store.fx_rates(day(20), day(20)).await.unwrap();
        assert!(late.rate_on(usd, day(20)).is_err(), "{backend}");

        let entries = store
            .audit_entries(
                &AuditFilter {
                    action: Some("fx_rates.put".into()),
                    ..AuditFilter::default()
                },
                0,
                50,
            )
            .await
            .unwrap();
        assert_eq!(entries.len(), 3, "{backend}");
    }
}

#[tokio::test]
async fn base_currencies_and_unconverted_amounts_read_back_on_every_backend() {
    use sextant_domain::{
        AmountSource, ConvertError, EventId, MissingRate, ProductId, Unconverted,
    };
    use sextant_store::StoredProfile;
    for (backend, test) in all_stores().await {
        let store = test.store.as_ref();
        let jpy = Currency::parse("JPY").unwrap();
        let mut c1 = customer("c1");
        c1.base_currency = Currency::parse("CZK").unwrap();
        store.put_customer(&c1, &by(), Utc::now()).await.unwrap();
        store
            .put_customers(&[customer("c2")], &by(), Utc::now())
            .await
            .unwrap();
        let read = |id: &str| {
            let id = cid(id);
            async move { store.customer(&id).await.unwrap().unwrap().customer }
        };
        assert_eq!(read("c1").await, c1, "{backend}");
        assert_eq!(read("c2").await.base_currency, Currency::EUR, "{backend}");
        // A re-registration may move the account to another currency.
        c1.base_currency = Currency::EUR;
        store.put_customer(&c1, &by(), Utc::now()).await.unwrap();
        assert_eq!(read("c1").await.base_currency, Currency::EUR, "{backend}");

        let unconverted = vec![
            Unconverted {
                source: AmountSource::Payment(EventId::parse("p-1").unwrap()),
                amount_minor: 12_000,
                currency: jpy,
                date: day(7),
                error: ConvertError::Missing(MissingRate {
                    currency: "JPY",
                    date: day(7),
                }),
            },
            Unconverted {
                source: AmountSource::Holding(ProductId::parse("fund-global").unwrap()),
                amount_minor: 999_999_999_999,
                currency: Currency::parse("KWD").unwrap(),
                date: day(9),
                error: ConvertError::TooLarge,
            },
        ];
        let profile = StoredProfile {
            customer_id: cid("c1"),
            feature_version: 2,
            features: vec![1.0, 2.5],
            segment: None,
            embedding_model: None,
            as_of: Utc::now(),
            computed_at: Utc::now(),
            unconverted,
        };
        store
            .put_profiles(std::slice::from_ref(&profile), &by())
            .await
            .unwrap();
        let back = store.profile(&cid("c1")).await.unwrap().unwrap();
        assert_eq!(back.unconverted, profile.unconverted, "{backend}");
    }
}
