//! Market data: daily price tables read from CSV, the simple returns computed from them, and
//! the built-in long-run capital-market assumptions used when no price history is given.
//!
//! Conventions (those of PyPortfolioOpt 1.6.0, so that estimates agree with it):
//! - prices are daily closing prices, one row per trading date, one column per asset;
//! - a missing price (before listing, a suspension, a gap) is `None` and is never filled:
//!   a return needs both its price and the previous row's price (pandas
//!   `pct_change(fill_method=None)`), so a gap costs the return into it and the one after it;
//! - rows whose returns are all missing are dropped (`dropna(how="all")`), which always drops
//!   the first date.

use crate::{AdvisorError, DMatrix, DVector, Result};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::fmt;

/// Most price rows (dates) accepted from one CSV: 100 000 trading days is ~400 years.
pub const MAX_PRICE_ROWS: usize = 100_000;
/// Most assets (columns besides the date) accepted from one CSV.
pub const MAX_PRICE_ASSETS: usize = 2_000;
/// Most price cells (rows x assets) accepted from one CSV, to bound memory (16 bytes each).
pub const MAX_PRICE_CELLS: usize = 10_000_000;

/// Cell texts read as a missing price, as pandas `read_csv` does by default (the common ones).
const MISSING_TOKENS: [&str; 9] = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "#N/A", "-"];

/// Daily prices of several assets on common dates.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    /// Trading dates, strictly increasing.
    pub dates: Vec<NaiveDate>,
    /// Asset identifiers (tickers), unique, in column order.
    pub assets: Vec<String>,
    /// rows follow `dates`; None where the asset had no price (before listing, gaps)
    pub prices: Vec<Vec<Option<f64>>>,
}

impl PriceTable {
    /// CSV: header `date,<asset>...`; dates YYYY-MM-DD (also accept `YYYY-MM-DD HH:MM:SS`); empty cell = gap.
    /// Errors name line and column: field "prices", message "line 12, column 4 (AAPL): ...".
    ///
    /// The first header cell labels the date column and may be any text. Cells may carry
    /// surrounding spaces; `NA`, `N/A`, `NaN`, `null`, `#N/A` and `-` are gaps as well. Prices
    /// must be finite and positive (a zero price would make an infinite return); dates must be
    /// strictly increasing (returns are taken row to row). At most [`MAX_PRICE_ROWS`] rows,
    /// [`MAX_PRICE_ASSETS`] assets and [`MAX_PRICE_CELLS`] cells; at least one row.
    pub fn from_csv(reader: impl std::io::Read) -> Result<PriceTable> {
        let mut csv_reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let mut records = csv_reader.records();
        let header = match records.next() {
            Some(record) => record.map_err(csv_error)?,
            None => {
                return Err(prices_error(
                    "the CSV is empty: expected a header `date,<asset>...`",
                ))
            }
        };
        let assets = parse_header(&header)?;
        let mut table = PriceTable {
            dates: Vec::new(),
            assets,
            prices: Vec::new(),
        };
        for record in records {
            let record = record.map_err(csv_error)?;
            table.push_record(&record)?;
        }
        if table.dates.is_empty() {
            return Err(prices_error("the CSV has a header but no price rows"));
        }
        Ok(table)
    }

    /// Parses and appends one data record, checking limits, width and date order.
    fn push_record(&mut self, record: &csv::StringRecord) -> Result<()> {
        let line = record_line(record);
        if self.dates.len() >= MAX_PRICE_ROWS {
            return Err(prices_error(format!(
                "line {line}: more than {MAX_PRICE_ROWS} price rows"
            )));
        }
        if (self.dates.len() + 1) * self.assets.len() > MAX_PRICE_CELLS {
            return Err(prices_error(format!(
                "line {line}: more than {MAX_PRICE_CELLS} price cells"
            )));
        }
        let width = self.assets.len() + 1;
        if record.len() != width {
            return Err(prices_error(format!(
                "line {line}: {} fields, the header has {width}",
                record.len()
            )));
        }
        let date = parse_date(record.get(0).unwrap_or(""), line)?;
        if let Some(&previous) = self.dates.last() {
            if date <= previous {
                return Err(prices_error(format!(
                    "line {line}, column 1 (date): {date} is not after the previous date {previous}; dates must be strictly increasing"
                )));
            }
        }
        let row = (1..width)
            .map(|column| self.parse_cell(record.get(column).unwrap_or(""), line, column))
            .collect::<Result<Vec<_>>>()?;
        self.dates.push(date);
        self.prices.push(row);
        Ok(())
    }

    /// One price cell: a gap token is `None`; otherwise a finite positive number.
    fn parse_cell(&self, text: &str, line: u64, column: usize) -> Result<Option<f64>> {
        if MISSING_TOKENS.contains(&text) {
            return Ok(None);
        }
        let asset = &self.assets[column - 1];
        let at = || format!("line {line}, column {} ({asset})", column + 1);
        let value: f64 = text
            .parse()
            .map_err(|_| prices_error(format!("{}: '{text}' is not a number", at())))?;
        if !value.is_finite() || value <= 0.0 {
            return Err(prices_error(format!(
                "{}: price {text} must be finite and positive",
                at()
            )));
        }
        Ok(Some(value))
    }

    /// Simple returns `p[t] / p[t-1] - 1`, exactly as PyPortfolioOpt's `returns_from_prices`
    /// (pandas `pct_change(fill_method=None)` then `dropna(how="all")`): no forward filling, so
    /// a return is missing when either price is; rows with no return at all are dropped.
    pub fn returns(&self) -> ReturnTable {
        let (_, rows) = self.returns_with_dates();
        ReturnTable {
            assets: self.assets.clone(),
            rows,
        }
    }

    /// The dates of the rows that [`PriceTable::returns`] keeps (each return is dated by the
    /// later of its two prices), to align a benchmark series with them.
    pub fn return_dates(&self) -> Vec<NaiveDate> {
        self.returns_with_dates().0
    }

    fn returns_with_dates(&self) -> (Vec<NaiveDate>, Vec<Vec<Option<f64>>>) {
        let mut dates = Vec::new();
        let mut rows = Vec::new();
        for t in 1..self.prices.len() {
            let row: Vec<Option<f64>> = self.prices[t]
                .iter()
                .zip(&self.prices[t - 1])
                .map(|(now, before)| Some(now.as_ref()? / before.as_ref()? - 1.0))
                .collect();
            if row.iter().any(Option::is_some) {
                dates.push(self.dates[t]);
                rows.push(row);
            }
        }
        (dates, rows)
    }

    /// Last non-missing price per asset (`None` for an asset never priced), for turning
    /// weights into units.
    pub fn latest_prices(&self) -> Vec<Option<f64>> {
        (0..self.assets.len())
            .map(|j| self.prices.iter().rev().find_map(|row| row[j]))
            .collect()
    }

    /// The same dates restricted to the given asset columns, in the given order.
    ///
    /// Panics if an index is out of range (indices come from the caller's own lookups).
    pub fn select(&self, assets: &[usize]) -> PriceTable {
        PriceTable {
            dates: self.dates.clone(),
            assets: assets.iter().map(|&j| self.assets[j].clone()).collect(),
            prices: self
                .prices
                .iter()
                .map(|row| assets.iter().map(|&j| row[j]).collect())
                .collect(),
        }
    }
}

fn prices_error(message: impl Into<String>) -> AdvisorError {
    AdvisorError::invalid("prices", message)
}

fn record_line(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

fn csv_error(error: csv::Error) -> AdvisorError {
    let line = error.position().map_or(0, csv::Position::line);
    prices_error(format!("line {line}: unreadable CSV: {error}"))
}

/// Asset names from the header: non-empty and unique, within [`MAX_PRICE_ASSETS`].
fn parse_header(header: &csv::StringRecord) -> Result<Vec<String>> {
    let line = record_line(header);
    if header.len() < 2 {
        return Err(prices_error(format!(
            "line {line}: the header needs a date column and at least one asset"
        )));
    }
    if header.len() - 1 > MAX_PRICE_ASSETS {
        return Err(prices_error(format!(
            "line {line}: more than {MAX_PRICE_ASSETS} assets"
        )));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut assets = Vec::with_capacity(header.len() - 1);
    for (index, name) in header.iter().enumerate().skip(1) {
        let column = index + 1;
        if name.is_empty() {
            return Err(prices_error(format!(
                "line {line}, column {column}: empty asset name"
            )));
        }
        if let Some(first) = seen.insert(name, column) {
            return Err(prices_error(format!(
                "line {line}, column {column} ({name}): duplicate asset name, first in column {first}"
            )));
        }
        assets.push(name.to_string());
    }
    Ok(assets)
}

/// `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM:SS` whose time is ignored (daily data).
fn parse_date(text: &str, line: u64) -> Result<NaiveDate> {
    let day = text.split([' ', 'T']).next().unwrap_or("");
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok();
    let time_ok = match text.get(day.len() + 1..) {
        None => true,
        Some(time) => chrono::NaiveTime::parse_from_str(time, "%H:%M:%S").is_ok(),
    };
    match date {
        Some(date) if time_ok => Ok(date),
        _ => Err(prices_error(format!(
            "line {line}, column 1 (date): '{text}' is not a date YYYY-MM-DD"
        ))),
    }
}

/// Periodic (daily) simple returns, one row per period, one column per asset.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnTable {
    /// Asset identifiers, in column order.
    pub assets: Vec<String>,
    /// One row per period, each `assets.len()` long; `None` where the return is missing.
    pub rows: Vec<Vec<Option<f64>>>,
}

impl ReturnTable {
    /// A table with every return present, from a `T x n` matrix (rows are periods).
    ///
    /// Panics if `assets.len()` differs from the number of columns (a programming error).
    pub fn from_matrix(assets: Vec<String>, m: &DMatrix<f64>) -> ReturnTable {
        assert_eq!(assets.len(), m.ncols(), "one asset name per column");
        let rows = m
            .row_iter()
            .map(|row| row.iter().map(|&x| Some(x)).collect())
            .collect();
        ReturnTable { assets, rows }
    }

    /// Only the rows where every asset is present, as a `T' x n` matrix (scenarios for CVaR,
    /// HRP on complete data, ...).
    pub fn complete_rows(&self) -> DMatrix<f64> {
        let n = self.n_assets();
        let complete: Vec<&Vec<Option<f64>>> = self
            .rows
            .iter()
            .filter(|row| row.iter().all(Option::is_some))
            .collect();
        DMatrix::from_fn(complete.len(), n, |t, j| complete[t][j].unwrap_or(f64::NAN))
    }

    /// The returns of asset `j`, one per row. Panics if `j` is out of range.
    pub fn column(&self, j: usize) -> Vec<Option<f64>> {
        self.rows.iter().map(|row| row[j]).collect()
    }

    /// Number of assets (columns).
    pub fn n_assets(&self) -> usize {
        self.assets.len()
    }

    /// Number of periods (rows).
    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }

    /// Checks the shape (every row as wide as `assets`, at least one asset) and that every
    /// present return is finite and above -100 %. `field` names the input in the error.
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.assets.is_empty() {
            return Err(AdvisorError::invalid(field, "no assets"));
        }
        for (t, row) in self.rows.iter().enumerate() {
            if row.len() != self.assets.len() {
                return Err(AdvisorError::invalid(
                    field,
                    format!(
                        "row {t} has {} returns for {} assets",
                        row.len(),
                        self.assets.len()
                    ),
                ));
            }
            for (j, value) in row.iter().enumerate() {
                match value {
                    Some(x) if !x.is_finite() || *x <= -1.0 => {
                        return Err(AdvisorError::invalid(
                            field,
                            format!(
                            "row {t}, asset {j} ({}): return {x} is not finite or is at most -100%",
                            self.assets[j]
                        ),
                        ))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// The broad asset classes of the model portfolios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// Euro money-market funds and deposits.
    Cash,
    /// Euro-area government bonds, all maturities.
    GovernmentBonds,
    /// Euro investment-grade corporate bonds.
    CorporateBonds,
    /// Euro-area equities (the investor's home market).
    DomesticEquity,
    /// Developed-market equities outside the euro area, unhedged.
    GlobalEquity,
    /// Emerging-market equities, unhedged.
    EmergingEquity,
    /// Physical gold.
    Gold,
    /// Listed real estate (REITs).
    RealEstate,
}

impl AssetClass {
    /// Every class, in the order of [`CapitalMarketAssumptions::builtin`].
    pub const ALL: [AssetClass; 8] = [
        AssetClass::Cash,
        AssetClass::GovernmentBonds,
        AssetClass::CorporateBonds,
        AssetClass::DomesticEquity,
        AssetClass::GlobalEquity,
        AssetClass::EmergingEquity,
        AssetClass::Gold,
        AssetClass::RealEstate,
    ];

    /// The snake_case identifier used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetClass::Cash => "cash",
            AssetClass::GovernmentBonds => "government_bonds",
            AssetClass::CorporateBonds => "corporate_bonds",
            AssetClass::DomesticEquity => "domestic_equity",
            AssetClass::GlobalEquity => "global_equity",
            AssetClass::EmergingEquity => "emerging_equity",
            AssetClass::Gold => "gold",
            AssetClass::RealEstate => "real_estate",
        }
    }

    /// The class named by [`AssetClass::as_str`]; case, surrounding spaces and `-` or space
    /// for `_` are forgiven.
    pub fn parse(s: &str) -> Option<AssetClass> {
        let normal = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        AssetClass::ALL.into_iter().find(|c| c.as_str() == normal)
    }
}

impl fmt::Display for AssetClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Documented long-run assumptions (annual, nominal, EUR investor), each number with a one-line source/rationale comment.
///
/// Returns are arithmetic annual expected returns (the `mu` of mean-variance), volatilities
/// annual standard deviations, both as fractions (0.05 = 5 %).
#[derive(Debug, Clone, PartialEq)]
pub struct CapitalMarketAssumptions {
    /// The classes, in the order of the vectors and matrix below.
    pub classes: Vec<AssetClass>,
    /// Expected annual nominal return in EUR, as a fraction.
    pub expected_return: DVector<f64>,
    /// Annual volatility (standard deviation) in EUR, as a fraction.
    pub volatility: DVector<f64>,
    /// Correlation of annual returns; symmetric, unit diagonal, positive semidefinite.
    pub correlation: DMatrix<f64>,
}

impl CapitalMarketAssumptions {
    /// The built-in 10-15 year assumptions, in the order of [`AssetClass::ALL`]. They sit
    /// within the ranges published by large asset managers' long-term capital-market
    /// assumptions for a euro investor (building blocks: inflation ~2 %, current yields,
    /// dividend yield plus earnings growth), rounded; volatilities and correlations follow
    /// long-run (20+ year) history of the usual indices.
    pub fn builtin() -> Self {
        #[rustfmt::skip]
        let expected_return = [
            0.020, // cash: the ECB's neutral policy rate is estimated around 2 %
            0.028, // government bonds: euro-area yields ~2.5-3 % at ~7y duration; starting yield ~ return
            0.036, // corporate bonds: ~1 % IG spread over governments less ~0.2 % default losses
            0.068, // euro-area equity: ~3 % dividend yield + ~2 % inflation + ~1.5 % real growth, mild rerating
            0.066, // world ex-euro equity: lower yield, richer US valuations offset by growth
            0.075, // emerging equity: higher growth and cheaper valuations, compensating higher risk
            0.040, // gold: no cash flow; long-run return ~ inflation + ~2 % real (1971-2023 history)
            0.060, // listed real estate: ~4 % rental yield + inflation-linked growth, minus leverage costs
        ];
        #[rustfmt::skip]
        let volatility = [
            0.006, // cash: short-rate changes only
            0.055, // government bonds: Bloomberg Euro Treasury index, 20-year history
            0.060, // corporate bonds: Bloomberg Euro Aggregate Corporate, 20-year history
            0.180, // euro-area equity: EURO STOXX / MSCI EMU, 20-year history
            0.150, // world ex-euro equity: MSCI World in EUR; the dollar cushions euro-investor drawdowns
            0.210, // emerging equity: MSCI EM in EUR, 20-year history
            0.150, // gold: LBMA gold in EUR, 20-year history
            0.190, // listed real estate: FTSE EPRA Nareit Developed in EUR, 20-year history
        ];
        #[rustfmt::skip]
        let correlation = [
            // cash  govt  corp  dom   glob  em    gold  reit
            [1.00, 0.10, 0.10, 0.00, 0.00, 0.00, 0.00, 0.00], // cash: nearly uncorrelated with everything
            [0.10, 1.00, 0.75, 0.00, -0.05, 0.00, 0.20, 0.15], // government bonds: equity hedge, mild gold link
            [0.10, 0.75, 1.00, 0.30, 0.30, 0.30, 0.15, 0.35], // corporate bonds: rate duration plus credit (equity-like) spread
            [0.00, 0.00, 0.30, 1.00, 0.85, 0.70, 0.05, 0.70], // euro-area equity
            [0.00, -0.05, 0.30, 0.85, 1.00, 0.75, 0.10, 0.70], // world equity
            [0.00, 0.00, 0.30, 0.70, 0.75, 1.00, 0.20, 0.60], // emerging equity
            [0.00, 0.20, 0.15, 0.05, 0.10, 0.20, 1.00, 0.10], // gold: diversifier
            [0.00, 0.15, 0.35, 0.70, 0.70, 0.60, 0.10, 1.00], // listed real estate: equity-like with rate sensitivity
        ];
        CapitalMarketAssumptions {
            classes: AssetClass::ALL.to_vec(),
            expected_return: DVector::from_row_slice(&expected_return),
            volatility: DVector::from_row_slice(&volatility),
            correlation: DMatrix::from_fn(8, 8, |i, j| correlation[i][j]),
        }
    }

    /// Annual covariance `diag(vol) * corr * diag(vol)`.
    pub fn covariance(&self) -> DMatrix<f64> {
        let vol = &self.volatility;
        DMatrix::from_fn(vol.len(), vol.len(), |i, j| {
            vol[i] * self.correlation[(i, j)] * vol[j]
        })
    }

    /// Position of class `c` in `classes`, or `None` if absent.
    pub fn position(&self, c: AssetClass) -> Option<usize> {
        self.classes.iter().position(|&k| k == c)
    }

    /// Position of class `c` in `classes`. Panics if absent (never for [`Self::builtin`]);
    /// use [`Self::position`] for assumptions built elsewhere.
    pub fn index(&self, c: AssetClass) -> usize {
        self.position(c)
            .unwrap_or_else(|| panic!("asset class {c} is not in these assumptions"))
    }

    /// Checks shapes, finiteness, non-negative volatilities, a symmetric unit-diagonal
    /// correlation with entries in [-1, 1], and that the covariance is PSD.
    pub fn validate(&self) -> Result<()> {
        let n = self.classes.len();
        if self.expected_return.len() != n
            || self.volatility.len() != n
            || self.correlation.shape() != (n, n)
        {
            return Err(AdvisorError::invalid(
                "assumptions",
                "one return, volatility and correlation row per class",
            ));
        }
        if self.expected_return.iter().any(|x| !x.is_finite()) {
            return Err(AdvisorError::invalid(
                "assumptions.expected_return",
                "not finite",
            ));
        }
        if self.volatility.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(AdvisorError::invalid(
                "assumptions.volatility",
                "not finite or negative",
            ));
        }
        for i in 0..n {
            if self.correlation[(i, i)] != 1.0 {
                return Err(AdvisorError::invalid(
                    "assumptions.correlation",
                    format!("diagonal entry {i} is not 1"),
                ));
            }
            for j in 0..n {
                let c = self.correlation[(i, j)];
                if !(-1.0..=1.0).contains(&c) || c != self.correlation[(j, i)] {
                    return Err(AdvisorError::invalid(
                        "assumptions.correlation",
                        format!("entry ({i}, {j}) is not a symmetric correlation"),
                    ));
                }
            }
        }
        crate::covariance::validate_covariance(&self.correlation, "assumptions.correlation")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(csv: &str) -> Result<PriceTable> {
        PriceTable::from_csv(csv.as_bytes())
    }

    fn message(error: AdvisorError) -> String {
        match error {
            AdvisorError::InvalidInput { field, message } => {
                assert_eq!(field, "prices");
                message
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn reads_gaps_datetimes_and_missing_tokens() {
        let t =
            table("date,A,B\n2020-01-01,1.0,\n2020-01-02 00:00:00, 2.5 ,NaN\n2020-01-03,NA,4\n")
                .unwrap();
        assert_eq!(t.assets, ["A", "B"]);
        assert_eq!(t.dates[1], NaiveDate::from_ymd_opt(2020, 1, 2).unwrap());
        assert_eq!(
            t.prices,
            vec![
                vec![Some(1.0), None],
                vec![Some(2.5), None],
                vec![None, Some(4.0)]
            ]
        );
        // A UTF-8 byte-order mark (Excel exports) and CRLF line ends are accepted.
        let t = table("\u{feff}Date,X\r\n2020-01-01,3\r\n").unwrap();
        assert_eq!((t.assets[0].as_str(), t.prices[0][0]), ("X", Some(3.0)));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = message(table("date,A,B\n2020-01-01,1,2\n2020-01-02,1,x\n").unwrap_err());
        assert!(
            e.starts_with("line 3, column 3 (B): 'x' is not a number"),
            "{e}"
        );
        let e = message(table("date,A\n2020-01-01,0\n").unwrap_err());
        assert!(e.starts_with("line 2, column 2 (A): price 0"), "{e}");
        let e = message(table("date,A\n2020-01-02,1\n2020-01-01,1\n").unwrap_err());
        assert!(
            e.contains("line 3, column 1 (date)") && e.contains("strictly increasing"),
            "{e}"
        );
        let e = message(table("date,A\n01/02/2020,1\n").unwrap_err());
        assert!(e.starts_with("line 2, column 1 (date)"), "{e}");
        let e = message(table("date,A,B\n2020-01-01,1\n").unwrap_err());
        assert!(e.starts_with("line 2: 2 fields, the header has 3"), "{e}");
        let e = message(table("date,A,A\n").unwrap_err());
        assert!(e.contains("column 3 (A): duplicate"), "{e}");
        assert!(message(table("").unwrap_err()).contains("empty"));
        assert!(message(table("date,A\n").unwrap_err()).contains("no price rows"));
        assert!(message(table("date\n2020-01-01\n").unwrap_err()).contains("at least one asset"));
    }

    #[test]
    fn returns_follow_pct_change_without_filling_and_drop_empty_rows() {
        // pandas: prices.pct_change(fill_method=None).dropna(how="all")
        let t = table(
            "date,A,B\n2020-01-01,1,\n2020-01-02,2,\n2020-01-03,,10\n2020-01-06,3,11\n2020-01-07,6,\n",
        )
        .unwrap();
        let r = t.returns();
        assert_eq!(r.n_rows(), 3);
        assert_eq!(r.rows[0], vec![Some(1.0), None]);
        // 2020-01-03 has no return at all (A missing, B's first price): dropped.
        assert_eq!(r.rows[1][0], None);
        assert!((r.rows[1][1].unwrap() - 0.1).abs() < 1e-15);
        assert_eq!(r.rows[2], vec![Some(1.0), None]);
        let dates = t.return_dates();
        assert_eq!(dates.len(), 3);
        assert_eq!(dates[1], NaiveDate::from_ymd_opt(2020, 1, 6).unwrap());
    }

    #[test]
    fn latest_prices_and_select() {
        let t = table("date,A,B,C\n2020-01-01,1,5,\n2020-01-02,2,,\n").unwrap();
        assert_eq!(t.latest_prices(), vec![Some(2.0), Some(5.0), None]);
        let s = t.select(&[2, 0]);
        assert_eq!(s.assets, ["C", "A"]);
        assert_eq!(s.prices[1], vec![None, Some(2.0)]);
        assert_eq!(s.dates, t.dates);
    }

    #[test]
    fn return_table_views() {
        let m = DMatrix::from_row_slice(2, 2, &[0.01, 0.02, -0.01, 0.0]);
        let mut r = ReturnTable::from_matrix(vec!["A".into(), "B".into()], &m);
        assert_eq!(r.complete_rows(), m);
        r.rows.push(vec![None, Some(0.5)]);
        assert_eq!(r.complete_rows(), m);
        assert_eq!(r.column(1), vec![Some(0.02), Some(0.0), Some(0.5)]);
        assert_eq!((r.n_assets(), r.n_rows()), (2, 3));
        assert!(r.validate("returns").is_ok());
        r.rows[0][0] = Some(-1.0);
        assert!(r.validate("returns").is_err());
    }

    #[test]
    fn asset_class_names_round_trip() {
        for c in AssetClass::ALL {
            assert_eq!(AssetClass::parse(c.as_str()), Some(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(
            AssetClass::parse(" Real-Estate "),
            Some(AssetClass::RealEstate)
        );
        assert_eq!(AssetClass::parse("crypto"), None);
    }

    #[test]
    fn builtin_assumptions_are_valid_and_psd() {
        let cma = CapitalMarketAssumptions::builtin();
        cma.validate().unwrap();
        let min_eig = crate::covariance::min_eigenvalue(&cma.correlation);
        assert!(
            min_eig > 0.05,
            "correlation must be comfortably PD, min eigenvalue {min_eig}"
        );
        assert!(crate::covariance::is_positive_semidefinite(
            &cma.covariance()
        ));
        assert_eq!(cma.index(AssetClass::Gold), 6);
        // Risk and return rise together across the main building blocks.
        let cash = cma.index(AssetClass::Cash);
        let govt = cma.index(AssetClass::GovernmentBonds);
        let equity = cma.index(AssetClass::GlobalEquity);
        assert!(cma.expected_return[cash] < cma.expected_return[govt]);
        assert!(cma.expected_return[govt] < cma.expected_return[equity]);
        assert!(cma.volatility[cash] < cma.volatility[govt]);
        assert!(cma.volatility[govt] < cma.volatility[equity]);
        let cov = cma.covariance();
        assert!((cov[(equity, equity)] - 0.15 * 0.15).abs() < 1e-15);
    }
}
