//! Reader of the PKDD'99 Berka bank data (`../shared/data/berka/`): turns the raw pre-loan
//! transactions of each loan's account into Sextant's own customers and payment events, so
//! the real data goes through exactly the profiling pipeline the service runs.
//!
//! Files used: `loan_354.csv` (the loans), `loan.asc` (their status: A and C good, B and D
//! bad), `trans_preloan_354.csv` (transactions before each loan), `disp.asc` + `client.asc`
//! (the account owner's birth date), `district.asc` (region names).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sextant_domain::{
    AmountMinor, BirthYear, Channel, Consents, CountryCode, Currency, Customer, CustomerId,
    Direction, EventId, KycStatus, Mcc, Occupation, PaymentEvent, PaymentKind, PaymentStatus,
    Region,
};

/// One loan with its applicant's history before the loan date.
pub struct BerkaLoan {
    pub customer: Customer,
    pub payments: Vec<PaymentEvent>,
    /// The loan date: features are computed as of it.
    pub as_of: DateTime<Utc>,
    /// Status B (finished, unpaid) or D (running, in debt).
    pub bad: bool,
}

fn read(dir: &Path, name: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let path = dir.join(name);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(true)
        .flexible(true)
        .from_path(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
        rows.push(
            record
                .iter()
                .map(|f| f.trim().trim_matches('"').to_owned())
                .collect(),
        );
    }
    Ok(rows)
}

/// Berka dates are YYMMDD in the 1990s.
fn date(text: &str) -> anyhow::Result<DateTime<Utc>> {
    let n: u32 = text.parse().with_context(|| format!("bad date {text}"))?;
    let day = NaiveDate::from_ymd_opt(1900 + (n / 10_000) as i32, (n / 100) % 100, n % 100)
        .with_context(|| format!("bad date {text}"))?;
    Ok(Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).expect("noon exists")))
}

/// Birth numbers are YYMMDD with 50 added to the month for women.
fn birth_year(birth_number: &str) -> anyhow::Result<i64> {
    let n: u32 = birth_number
        .parse()
        .with_context(|| format!("bad birth number {birth_number}"))?;
    Ok(1900 + i64::from(n / 10_000))
}

fn minor(amount: &str) -> anyhow::Result<i64> {
    let value: f64 = amount
        .parse()
        .with_context(|| format!("bad amount {amount}"))?;
    Ok((value * 100.0).round() as i64)
}

/// Maps a Berka transaction onto a payment kind, channel and MCC.
fn classify(
    credit: bool,
    operation: &str,
    k_symbol: &str,
) -> (PaymentKind, Channel, Option<&'static str>) {
    if credit {
        return match operation {
            "collection from another bank" => (PaymentKind::Salary, Channel::P2p, None),
            "credit in cash" => (PaymentKind::TransferIn, Channel::InStore, None),
            _ => (PaymentKind::TransferIn, Channel::Online, None),
        };
    }
    match (operation, k_symbol) {
        (_, "payment for statement")
        | (_, "household")
        | (_, "sanction interest if negative balance") => {
            (PaymentKind::Bill, Channel::Online, None)
        }
        (_, "insurrance payment") => (PaymentKind::Bill, Channel::Online, Some("6300")),
        (_, "loan payment") | (_, "leasing") => (PaymentKind::LoanRepayment, Channel::Online, None),
        ("withdrawal in cash", _) => (PaymentKind::Atm, Channel::InStore, Some("6011")),
        ("credit card withdrawal", _) => (PaymentKind::Purchase, Channel::InStore, Some("5999")),
        _ => (PaymentKind::TransferOut, Channel::Online, None),
    }
}

/// Loads the 354 loans with their applicants' pre-loan transactions.
pub fn load(dir: &Path, today: DateTime<Utc>) -> anyhow::Result<Vec<BerkaLoan>> {
    let status: HashMap<String, String> = read(dir, "loan.asc")?
        .into_iter()
        .map(|r| (r[0].clone(), r[6].clone()))
        .collect();
    let districts: HashMap<String, String> = read(dir, "district.asc")?
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let clients: HashMap<String, (String, String)> = read(dir, "client.asc")?
        .into_iter()
        .map(|r| (r[0].clone(), (r[1].clone(), r[2].clone())))
        .collect();
    let owners: HashMap<String, String> = read(dir, "disp.asc")?
        .into_iter()
        .filter(|r| r[3] == "OWNER")
        .map(|r| (r[2].clone(), r[1].clone()))
        .collect();

    let mut by_account: HashMap<String, Vec<Vec<String>>> = HashMap::new();
    for row in read(dir, "trans_preloan_354.csv")? {
        by_account.entry(row[1].clone()).or_default().push(row);
    }

    let mut loans = Vec::new();
    for row in read(dir, "loan_354.csv")? {
        let (loan_id, account) = (&row[0], &row[1]);
        let state = status
            .get(loan_id)
            .with_context(|| format!("loan {loan_id} has no status in loan.asc"))?;
        let client = owners
            .get(account)
            .with_context(|| format!("account {account} has no owner"))?;
        let (birth_number, district) = clients
            .get(client)
            .with_context(|| format!("client {client} is missing"))?;
        let region = districts.get(district).map_or("unknown", String::as_str);
        let customer_id =
            CustomerId::parse(&format!("berka-{account}")).map_err(|e| anyhow::anyhow!("{e}"))?;
        let customer = Customer {
            id: customer_id.clone(),
            birth_year: BirthYear::parse(birth_year(birth_number)?, today)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            region: Region::parse(&region.chars().take(32).collect::<String>())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            occupation: Occupation::Other,
            kyc_status: KycStatus::Verified,
            consents: Consents {
                profiling: true,
                ..Consents::default()
            },
            base_currency: Currency::parse("CZK").expect("CZK is supported"),
        };
        let mut payments = Vec::new();
        for t in by_account
            .get(account)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let amount = minor(&t[5])?;
            if amount <= 0 {
                continue;
            }
            let credit = t[3] == "credit";
            let (kind, channel, mcc) = classify(credit, &t[4], &t[7]);
            payments.push(PaymentEvent {
                event_id: EventId::parse(&format!("berka-t{}", t[0]))
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                customer_id: customer_id.clone(),
                occurred_at: date(&t[2])?,
                amount: AmountMinor::new(amount).map_err(|e| anyhow::anyhow!("{e}"))?,
                currency: Currency::parse("CZK").expect("CZK is supported"),
                direction: if credit {
                    Direction::Credit
                } else {
                    Direction::Debit
                },
                kind,
                channel,
                merchant_id: None,
                mcc: mcc.map(|m| Mcc::parse(m).expect("built-in MCCs are valid")),
                country: CountryCode::parse("CZ").expect("valid"),
                card: None,
                status: PaymentStatus::Completed,
                balance_after_minor: Some(minor(&t[6])?),
                counterparty: None,
                device_id: None,
                refund_of: None,
            });
        }
        payments.sort_by_key(|p| p.occurred_at);
        loans.push(BerkaLoan {
            customer,
            payments,
            as_of: date(&row[2])?,
            bad: matches!(state.as_str(), "B" | "D"),
        });
    }
    Ok(loans)
}

/// Every loan's applicant profiled as of the loan date (all catalogue features), and whether
/// the loan went bad.
pub fn profiled(dir: &Path) -> anyhow::Result<(Vec<Vec<f64>>, Vec<bool>)> {
    let loans = load(dir, Utc::now())?;
    let features = loans
        .iter()
        .map(|l| {
            let history = sextant_profiling::CustomerHistory {
                customer: &l.customer,
                payments: &l.payments,
                behaviour: &[],
                holdings: &[],
                // Every Berka amount is in the accounts' crowns.
                rates: &sextant_domain::RateTable::new(),
                loyalty: &sextant_loyalty::Activity::default(),
            };
            sextant_profiling::compute_features(&history, l.as_of).values
        })
        .collect();
    Ok((features, loans.iter().map(|l| l.bad).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_birth_numbers_follow_the_berka_conventions() {
        assert_eq!(
            date("970103").unwrap().format("%Y-%m-%d").to_string(),
            "1997-01-03"
        );
        assert_eq!(
            birth_year("706213").unwrap(),
            1970,
            "women have 50 added to the month"
        );
        assert!(date("971340").is_err());
        assert_eq!(minor("15800.00").unwrap(), 1_580_000);
    }

    #[test]
    fn transactions_map_onto_payment_kinds() {
        assert_eq!(
            classify(false, "withdrawal in cash", "").0,
            PaymentKind::Atm
        );
        assert_eq!(
            classify(false, "remittance to another bank", "household").0,
            PaymentKind::Bill
        );
        assert_eq!(
            classify(false, "remittance to another bank", "loan payment").0,
            PaymentKind::LoanRepayment
        );
        assert_eq!(
            classify(true, "collection from another bank", "").0,
            PaymentKind::Salary
        );
        assert_eq!(
            classify(false, "credit card withdrawal", "").0,
            PaymentKind::Purchase
        );
    }
}
