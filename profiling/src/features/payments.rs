//! Payments: income, spending, balance, debt, failures and habits, in one pass.
//!
//! Definitions shared by several features:
//! - *income*: completed credits of kind `salary` or `transfer_in`. Every transfer in counts
//!   (family money is a student's income); a one-off (a loan disbursement) moves the mean but
//!   barely the median, which is why the income estimate is a median.
//! - *spending*: completed debits of kind purchase, bill, atm, loan_repayment, instalment, and
//!   transfer_out sent person-to-person, less completed refunds. Other transfers out and
//!   investments move money between the customer's own pots and are not consumption.
//! - *categorised spending*: completed debits that carry an MCC.
//! - *everyday debits*: completed purchases, ATM withdrawals and P2P transfers out.

use sextant_domain::{
    Channel, CountryCode, Currency, Direction, EventId, PaymentEvent, PaymentKind, PaymentStatus,
};
use sextant_hash::fnv1a64;

use super::clock::MONTHS;
use super::holdings::HoldingsSummary;
use super::money::ToBase;
use super::stats::{coefficient_of_variation, entropy_bits, median};
use super::{ratio_or, Clock, Values};
use crate::catalogue::F;
use crate::categories::{self, Category, COUNT as CATEGORIES};

/// Distinct foreign countries tracked; more than this many in a year is already "very many".
const MAX_COUNTRIES: usize = 32;
/// Distinct currencies tracked (every supported one fits).
const MAX_CURRENCIES: usize = 32;
/// Buffers are reported in months within these bounds; beyond them the number stops meaning
/// anything and would swamp standardised comparisons.
const BUFFER_MONTHS_MIN: f64 = -24.0;
const BUFFER_MONTHS_MAX: f64 = 120.0;
const SAVINGS_RATE_MIN: f64 = -2.0;
const DEBT_SERVICE_MAX: f64 = 10.0;
/// Reported when no purchase falls within a year.
const NO_RECENT_PURCHASE_DAYS: f64 = 365.0;

/// Sums per month-long period (index 0 = the latest), restricted to observed periods later.
#[derive(Debug, Default)]
struct Monthly {
    income: [i128; MONTHS],
    salary: [i128; MONTHS],
    income_credits: [u32; MONTHS],
    spend: [i128; MONTHS],
    debt_due: [i128; MONTHS],
    invest_out: [i128; MONTHS],
    invest_in: [i128; MONTHS],
    purchases: [u32; MONTHS],
}

/// A balance observation: when, which event (the tie-break for equal times), the balance.
type BalancePoint<'a> = (i64, &'a EventId, i64);

#[derive(Debug, Default)]
pub(super) struct PaymentSummary<'a> {
    pub first_ms: Option<i64>,
    observed_months: usize,
    monthly: Monthly,
    spend_30d: i128,
    spend_90d: i128,
    spend_365d: i128,
    category_365d: [i128; CATEGORIES],
    cash_365d: i128,
    purchase_sum_365d: i128,
    purchase_count_365d: u32,
    last_purchase_ms: Option<i64>,
    bnpl_90d: u32,
    bnpl_365d: u32,
    bnpl_amount_365d: i128,
    failed_90d: u32,
    failed_365d: u32,
    failed_obligations_365d: u32,
    everyday_365d: u32,
    online_365d: u32,
    cross_border_365d: u32,
    /// Everyday debits by amount in the base currency: all, cross-border, in another currency.
    everyday_amount_365d: i128,
    cross_border_amount_365d: i128,
    foreign_currency_amount_365d: i128,
    currencies: Vec<Currency>,
    transit_365d: u32,
    p2p_365d: u32,
    countries: Vec<CountryCode>,
    merchant_hashes: Vec<u64>,
    latest_balance: Option<BalancePoint<'a>>,
    min_balance_90d: Option<i64>,
    /// The latest observation at or before the 90-day window opens: the balance it opened on.
    balance_before_90d: Option<BalancePoint<'a>>,
    balance_points_90d: Vec<BalancePoint<'a>>,
    start_90d_ms: i64,
    as_of_ms: i64,
    days_since_purchase: f64,
}

/// Amounts are converted to the base currency by `to_base` (only those inside a window are
/// needed). A payment it cannot convert still counts wherever payments are counted, but its
/// amount is in no sum.
pub(super) fn summarise<'a>(
    payments: &'a [PaymentEvent],
    clock: &Clock,
    to_base: &mut ToBase,
) -> PaymentSummary<'a> {
    let mut s = PaymentSummary {
        merchant_hashes: Vec::with_capacity(payments.len().min(4_096)),
        ..PaymentSummary::default()
    };
    let windows_open_ms = clock.start_365d_ms.min(clock.month_ends_ms[MONTHS]);
    for p in payments {
        let t = p.occurred_at.timestamp_millis();
        if t > clock.as_of_ms {
            continue;
        }
        s.first_ms = Some(s.first_ms.map_or(t, |f| f.min(t)));
        s.balance(p, t, clock);
        if t <= windows_open_ms {
            continue;
        }
        let amount = to_base.payment(p);
        s.obligation(p, amount, t, clock);
        match p.status {
            PaymentStatus::Failed => s.failure(p, t, clock),
            PaymentStatus::Completed => s.completed(p, amount, t, clock, to_base.base()),
        }
    }
    s.observed_months = clock.observed_months(s.first_ms);
    s.start_90d_ms = clock.start_90d_ms;
    s.as_of_ms = clock.as_of_ms;
    s.days_since_purchase = s.last_purchase_ms.map_or(NO_RECENT_PURCHASE_DAYS, |t| {
        clock.days_since(t).min(NO_RECENT_PURCHASE_DAYS)
    });
    s
}

fn later(a: &BalancePoint, b: &BalancePoint) -> bool {
    (a.0, a.1) > (b.0, b.1)
}

impl<'a> PaymentSummary<'a> {
    fn balance(&mut self, p: &'a PaymentEvent, t: i64, clock: &Clock) {
        let Some(balance) = p.balance_after_minor else {
            return;
        };
        let point = (t, &p.event_id, balance);
        if self
            .latest_balance
            .as_ref()
            .is_none_or(|l| later(&point, l))
        {
            self.latest_balance = Some(point);
        }
        if clock.in_90d(t) {
            self.min_balance_90d = Some(self.min_balance_90d.map_or(balance, |m| m.min(balance)));
            self.balance_points_90d.push(point);
        } else if self
            .balance_before_90d
            .as_ref()
            .is_none_or(|b| later(&point, b))
        {
            self.balance_before_90d = Some(point);
        }
    }

    /// Loan repayments and instalments count as due whether or not they went through: a
    /// failed one is still owed.
    fn obligation(&mut self, p: &PaymentEvent, amount: Option<i128>, t: i64, clock: &Clock) {
        if !matches!(p.kind, PaymentKind::LoanRepayment | PaymentKind::Instalment) {
            return;
        }
        let amount = amount.unwrap_or(0);
        if let Some(m) = clock.month_of(t) {
            self.monthly.debt_due[m] += amount;
        }
        if p.kind == PaymentKind::Instalment && clock.in_365d(t) {
            self.bnpl_365d += 1;
            self.bnpl_amount_365d += amount;
            self.bnpl_90d += u32::from(clock.in_90d(t));
        }
    }

    fn failure(&mut self, p: &PaymentEvent, t: i64, clock: &Clock) {
        if !clock.in_365d(t) {
            return;
        }
        self.failed_365d += 1;
        self.failed_90d += u32::from(clock.in_90d(t));
        let obligation = matches!(
            p.kind,
            PaymentKind::Bill | PaymentKind::LoanRepayment | PaymentKind::Instalment
        );
        self.failed_obligations_365d += u32::from(obligation);
    }

    /// `amount` is `None` when it could not be converted: counted, not summed.
    fn completed(
        &mut self,
        p: &PaymentEvent,
        amount: Option<i128>,
        t: i64,
        clock: &Clock,
        base: Currency,
    ) {
        let month = clock.month_of(t);
        match p.direction {
            Direction::Credit => self.credit(p, amount.unwrap_or(0), month, t, clock),
            Direction::Debit => self.debit(p, amount, month, t, clock, base),
        }
    }

    fn credit(
        &mut self,
        p: &PaymentEvent,
        amount: i128,
        month: Option<usize>,
        t: i64,
        clock: &Clock,
    ) {
        match p.kind {
            PaymentKind::Salary | PaymentKind::TransferIn => {
                if let Some(m) = month {
                    self.monthly.income[m] += amount;
                    self.monthly.income_credits[m] += 1;
                    if p.kind == PaymentKind::Salary {
                        self.monthly.salary[m] += amount;
                    }
                }
            }
            PaymentKind::Refund => self.add_spend(-amount, month, t, clock),
            PaymentKind::Investment => {
                if let Some(m) = month {
                    self.monthly.invest_in[m] += amount;
                }
            }
            _ => {}
        }
    }

    fn debit(
        &mut self,
        p: &PaymentEvent,
        converted: Option<i128>,
        month: Option<usize>,
        t: i64,
        clock: &Clock,
        base: Currency,
    ) {
        let amount = converted.unwrap_or(0);
        let p2p_out = p.kind == PaymentKind::TransferOut && p.channel == Channel::P2p;
        match p.kind {
            PaymentKind::Investment => {
                if let Some(m) = month {
                    self.monthly.invest_out[m] += amount;
                }
            }
            PaymentKind::Purchase
            | PaymentKind::Bill
            | PaymentKind::Atm
            | PaymentKind::LoanRepayment
            | PaymentKind::Instalment => self.add_spend(amount, month, t, clock),
            PaymentKind::TransferOut if p2p_out => self.add_spend(amount, month, t, clock),
            _ => {}
        }
        if p.kind == PaymentKind::Purchase {
            if let Some(m) = month {
                self.monthly.purchases[m] += 1;
            }
            self.last_purchase_ms = Some(self.last_purchase_ms.map_or(t, |l| l.max(t)));
        }
        if !clock.in_365d(t) {
            return;
        }
        if let Some(mcc) = p.mcc {
            self.category_365d[categories::of_mcc(mcc).index()] += amount;
        }
        if p.kind == PaymentKind::Atm {
            self.cash_365d += amount;
        }
        // The mean ticket is over the purchases whose amount is known.
        if p.kind == PaymentKind::Purchase && converted.is_some() {
            self.purchase_sum_365d += amount;
            self.purchase_count_365d += 1;
        }
        if matches!(p.kind, PaymentKind::Purchase | PaymentKind::Atm) || p2p_out {
            self.everyday(p, amount, base);
        }
        if let Some(merchant) = &p.merchant_id {
            self.merchant_hashes
                .push(fnv1a64(merchant.as_str().as_bytes()));
        }
    }

    fn add_spend(&mut self, amount: i128, month: Option<usize>, t: i64, clock: &Clock) {
        if let Some(m) = month {
            self.monthly.spend[m] += amount;
        }
        if clock.in_365d(t) {
            self.spend_365d += amount;
            if clock.in_90d(t) {
                self.spend_90d += amount;
                if clock.in_30d(t) {
                    self.spend_30d += amount;
                }
            }
        }
    }

    fn everyday(&mut self, p: &PaymentEvent, amount: i128, base: Currency) {
        self.everyday_365d += 1;
        self.everyday_amount_365d += amount;
        if p.currency != base {
            self.foreign_currency_amount_365d += amount;
        }
        if self.currencies.len() < MAX_CURRENCIES && !self.currencies.contains(&p.currency) {
            self.currencies.push(p.currency);
        }
        if p.channel == Channel::CrossBorder {
            self.cross_border_amount_365d += amount;
        }
        match p.channel {
            Channel::Online => self.online_365d += 1,
            Channel::Transit => self.transit_365d += 1,
            Channel::P2p => self.p2p_365d += 1,
            Channel::CrossBorder => {
                self.cross_border_365d += 1;
                if self.countries.len() < MAX_COUNTRIES && !self.countries.contains(&p.country) {
                    self.countries.push(p.country);
                }
            }
            Channel::InStore => {}
        }
    }
}

/// `numerator` over a monthly amount, in months, clamped; a positive numerator over nothing
/// is reported as the maximum (money and no outgoings), a non-positive one as zero.
fn months_of(numerator: f64, per_month: f64, min: f64) -> f64 {
    let fallback = if numerator > 0.0 {
        BUFFER_MONTHS_MAX
    } else {
        0.0
    };
    ratio_or(numerator, per_month, fallback).clamp(min, BUFFER_MONTHS_MAX)
}

/// Monthly figures over the observed periods.
struct PerMonth {
    income: f64,
    spend: f64,
}

impl PaymentSummary<'_> {
    pub fn write(mut self, values: &mut Values, holdings: &HoldingsSummary) {
        let per_month = self.write_monthly(values);
        self.write_spending(values);
        self.write_balance(values, holdings, &per_month);
        self.write_debt(values, holdings, &per_month);
        self.write_habits(values);
    }

    fn write_monthly(&self, values: &mut Values) -> PerMonth {
        let n = self.observed_months;
        let m = &self.monthly;
        let months = n.max(1) as f64;
        let sum = |a: &[i128; MONTHS]| a[..n].iter().sum::<i128>() as f64;
        let count = |a: &[u32; MONTHS]| f64::from(a[..n].iter().sum::<u32>());

        let mut income = [0.0; MONTHS];
        for (dst, src) in income.iter_mut().zip(&m.income[..n]) {
            *dst = *src as f64;
        }
        let income = &mut income[..n];
        let with_income = income.iter().filter(|v| **v > 0.0).count();
        values.set(F::IncomeCv, coefficient_of_variation(income));
        values.set(
            F::IncomeMonthShare,
            ratio_or(with_income as f64, n as f64, 0.0),
        );
        let income_per_month = median(income);
        values.set(F::IncomePerMonthMinor, income_per_month);
        values.set(F::IncomeCreditsPerMonth, count(&m.income_credits) / months);
        let income_total = sum(&m.income);
        values.set(
            F::SalaryIncomeShare,
            ratio_or(sum(&m.salary), income_total, 0.0),
        );

        let spend_total = sum(&m.spend).max(0.0);
        let spend_per_month = spend_total / months;
        values.set(F::SpendPerMonthMinor, spend_per_month);
        let recent = n.min(3);
        let recent_per_month =
            (m.spend[..recent].iter().sum::<i128>() as f64).max(0.0) / recent.max(1) as f64;
        values.set(
            F::SpendTrendRatio,
            ratio_or(recent_per_month, spend_per_month, 1.0),
        );
        let no_income_rate = if spend_total > 0.0 {
            SAVINGS_RATE_MIN
        } else {
            0.0
        };
        let savings_rate = ratio_or(income_total - spend_total, income_total, no_income_rate);
        values.set(F::SavingsRate, savings_rate.clamp(SAVINGS_RATE_MIN, 1.0));

        let debt_per_month = sum(&m.debt_due) / months;
        let no_income_debt = if debt_per_month > 0.0 {
            DEBT_SERVICE_MAX
        } else {
            0.0
        };
        let dsr = ratio_or(debt_per_month, income_per_month, no_income_debt);
        values.set(F::DebtServiceRatio, dsr.clamp(0.0, DEBT_SERVICE_MAX));
        values.set(F::PurchasesPerMonth, count(&m.purchases) / months);
        let invest_out = sum(&m.invest_out) / months;
        values.set(F::InvestmentOutPerMonthMinor, invest_out);
        values.set(F::InvestmentInPerMonthMinor, sum(&m.invest_in) / months);
        let no_income_share = if invest_out > 0.0 { 1.0 } else { 0.0 };
        let share = ratio_or(invest_out, income_per_month, no_income_share);
        values.set(F::InvestmentIncomeShare, share.clamp(0.0, 1.0));
        PerMonth {
            income: income_per_month,
            spend: spend_per_month,
        }
    }

    fn write_spending(&self, values: &mut Values) {
        let spend_365d = (self.spend_365d as f64).max(0.0);
        values.set(F::Spend30dMinor, (self.spend_30d as f64).max(0.0));
        values.set(F::Spend90dMinor, (self.spend_90d as f64).max(0.0));
        values.set(F::Spend365dMinor, spend_365d);
        let cash_share = ratio_or(self.cash_365d as f64, spend_365d, 0.0);
        values.set(F::CashShare365d, cash_share.clamp(0.0, 1.0));
        let total = self.category_365d.iter().sum::<i128>() as f64;
        let (mut essential, mut discretionary) = (0.0, 0.0);
        for c in Category::ALL {
            let share = ratio_or(self.category_365d[c.index()] as f64, total, 0.0);
            values.set_offset(F::ShareGroceries, c.index(), share);
            if c.is_essential() {
                essential += share;
            } else if c.is_discretionary() {
                discretionary += share;
            }
        }
        values.set(F::EssentialShare365d, essential.min(1.0));
        values.set(F::DiscretionaryShare365d, discretionary.min(1.0));
    }

    fn write_balance(&mut self, values: &mut Values, holdings: &HoldingsSummary, pm: &PerMonth) {
        let latest = self.latest_balance.map_or(0, |(_, _, b)| b) as f64;
        values.set(F::BalanceLatestMinor, latest);
        // Months of outgoings; with no spending seen, months of income stand in.
        let per_month = if pm.spend > 0.0 { pm.spend } else { pm.income };
        let buffer = if self.latest_balance.is_some() {
            months_of(latest, per_month, BUFFER_MONTHS_MIN)
        } else {
            0.0
        };
        values.set(F::BufferMonths, buffer);
        values.set(
            F::BalanceMin90dMinor,
            self.min_balance_90d.unwrap_or(0) as f64,
        );
        let liquid = latest.max(0.0) + holdings.assets_minor() as f64;
        values.set(F::LiquidAssetsMonths, months_of(liquid, per_month, 0.0));
        values.set(F::OverdraftDayShare90d, self.overdraft_share());
    }

    /// Share of the observed part of the 90-day window the balance spent below zero, the
    /// balance holding between observations. Observation starts when the window opens if the
    /// opening balance is known, otherwise at the first payment inside it.
    fn overdraft_share(&mut self) -> f64 {
        let points = &mut self.balance_points_90d;
        points.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut current = self.balance_before_90d.map(|(_, _, b)| b);
        let mut since_ms = self.start_90d_ms;
        let (mut observed_ms, mut negative_ms) = (0i64, 0i64);
        let ends = points
            .iter()
            .map(|&(t, _, b)| (t, Some(b)))
            .chain(std::iter::once((self.as_of_ms, None)));
        for (t, next) in ends {
            if let Some(b) = current {
                let span = (t - since_ms).max(0);
                observed_ms += span;
                if b < 0 {
                    negative_ms += span;
                }
            }
            since_ms = t;
            current = next.or(current);
        }
        ratio_or(negative_ms as f64, observed_ms as f64, 0.0)
    }

    fn write_debt(&self, values: &mut Values, holdings: &HoldingsSummary, pm: &PerMonth) {
        values.set(F::BnplPayments90d, f64::from(self.bnpl_90d));
        values.set(F::BnplPayments365d, f64::from(self.bnpl_365d));
        values.set(F::BnplAmount365dMinor, self.bnpl_amount_365d as f64);
        let owed = holdings.credit_owed_minor as f64;
        values.set(F::CreditOwedMonths, months_of(owed, pm.income, 0.0));
        values.set(F::FailedPayments90d, f64::from(self.failed_90d));
        values.set(F::FailedPayments365d, f64::from(self.failed_365d));
        values.set(
            F::FailedObligations365d,
            f64::from(self.failed_obligations_365d),
        );
    }

    fn write_habits(&mut self, values: &mut Values) {
        let everyday = f64::from(self.everyday_365d);
        let share = |count: u32| ratio_or(f64::from(count), everyday, 0.0);
        values.set(F::OnlineShare365d, share(self.online_365d));
        values.set(F::CrossBorderShare365d, share(self.cross_border_365d));
        values.set(F::TransitShare365d, share(self.transit_365d));
        values.set(F::P2pShare365d, share(self.p2p_365d));
        values.set(F::ForeignCountries365d, self.countries.len() as f64);
        let everyday_amount = self.everyday_amount_365d as f64;
        let amount_share = |part: i128| ratio_or(part as f64, everyday_amount, 0.0).clamp(0.0, 1.0);
        values.set(
            F::CrossBorderSpendShare365d,
            amount_share(self.cross_border_amount_365d),
        );
        values.set(
            F::ForeignCurrencySpendShare365d,
            amount_share(self.foreign_currency_amount_365d),
        );
        values.set(F::Currencies365d, self.currencies.len() as f64);
        values.set(
            F::MerchantEntropy365dBits,
            entropy_bits(&mut self.merchant_hashes),
        );
        values.set(F::DaysSinceLastPurchase, self.days_since_purchase);
        values.set(
            F::TicketMeanMinor,
            ratio_or(
                self.purchase_sum_365d as f64,
                f64::from(self.purchase_count_365d),
                0.0,
            ),
        );
    }
}
