//! A table of mixed numeric and categorical columns, parsed from delimited text.
//!
//! The crate does no file I/O: callers open the file and hand over any `Read`. Parsing is
//! forgiving about the dialect (delimiter and header are detected when not given) and strict
//! about the content: a ragged row or an unparsable declared-numeric cell is an error that
//! names its line and column, never a silently shifted table.

use std::collections::{BTreeSet, HashSet};
use std::io::Read;

use crate::ModelError;

/// Largest input accepted, so a wrong file cannot exhaust memory.
pub const MAX_INPUT_BYTES: usize = 1 << 30;
/// Most columns a table may have.
pub const MAX_COLUMNS: usize = 10_000;
/// Lines looked at when sniffing the delimiter.
const SNIFF_LINES: usize = 50;
/// Delimiters tried by the sniffer, in order of preference on ties; runs of whitespace are
/// the fallback (the UCI German credit layout).
const SNIFF_CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Cells that mean "no value".
const MISSING_TOKENS: [&str; 3] = ["", "NA", "?"];
/// Values of a target column taken as the positive class when none is named
/// (compared case-insensitively).
const POSITIVE_WORDS: [&str; 5] = ["1", "yes", "true", "bad", "default"];

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Numbers; NaN marks a missing value.
    Numeric(Vec<f64>),
    /// Labels; `None` marks a missing value.
    Categorical(Vec<Option<String>>),
}

impl ColumnData {
    fn len(&self) -> usize {
        match self {
            ColumnData::Numeric(values) => values.len(),
            ColumnData::Categorical(values) => values.len(),
        }
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data: ColumnData,
}

/// Columns of equal length.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
}

/// How to read a table. `Default` detects everything.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Cell separator; `None` sniffs among `,` `;` tab `|` and runs of whitespace.
    /// `Some(b' ')` means runs of whitespace.
    pub delimiter: Option<u8>,
    /// Whether the first row names the columns; `None` detects: a header when the first row
    /// has a non-numeric cell in a column whose other cells are all numeric. A table whose
    /// columns are all categorical cannot be told apart from its header, so say so there.
    pub header: Option<bool>,
    /// Columns to leave out.
    pub drop: Vec<String>,
    /// Columns read as categorical whatever their content.
    pub categorical: Vec<String>,
    /// Columns read as numeric; a cell that does not parse is an error.
    pub numeric: Vec<String>,
}

/// How a line is cut into cells.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Splitter {
    Byte(u8),
    Whitespace,
}

impl Table {
    /// Parses delimited text. Without a header, columns are named `c1..cN`. Empty cells,
    /// `NA` and `?` are missing. A column is numeric when every present cell parses as a
    /// finite number and it has more than two distinct values, or when it is declared
    /// numeric; otherwise categorical. Blank lines are skipped; line numbers in errors count
    /// from 1 in the input. Errors that concern an option rather than a line (an unknown
    /// column name) report line 0.
    pub fn parse(reader: impl Read, options: &TableOptions) -> Result<Table, ModelError> {
        let text = read_text(reader)?;
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(index, line)| (index + 1, line.trim_end_matches('\r')))
            .filter(|(_, line)| !line.trim().is_empty())
            .collect();
        if lines.is_empty() {
            return Err(ModelError::EmptyData("parse a table"));
        }
        let splitter = match options.delimiter {
            Some(b' ') => Splitter::Whitespace,
            Some(byte) => Splitter::Byte(byte),
            None => sniff(&lines),
        };
        let mut rows: Vec<Vec<String>> = Vec::with_capacity(lines.len());
        for &(line_number, line) in &lines {
            let cells = split(line, splitter);
            if let Some(first) = rows.first() {
                if cells.len() != first.len() {
                    return Err(parse_error(
                        line_number,
                        cells.len().min(first.len()) + 1,
                        format!("{} cells, expected {}", cells.len(), first.len()),
                    ));
                }
            } else if cells.len() > MAX_COLUMNS {
                return Err(ModelError::TooLarge {
                    what: "column count",
                    limit: MAX_COLUMNS,
                    found: cells.len(),
                });
            }
            rows.push(cells);
        }
        let has_header = options.header.unwrap_or_else(|| detect_header(&rows));
        let names: Vec<String> = if has_header {
            rows[0]
                .iter()
                .enumerate()
                .map(|(j, name)| {
                    if name.is_empty() {
                        format!("c{}", j + 1)
                    } else {
                        name.clone()
                    }
                })
                .collect()
        } else {
            (1..=rows[0].len()).map(|j| format!("c{j}")).collect()
        };
        let mut seen = HashSet::new();
        for (j, name) in names.iter().enumerate() {
            if !seen.insert(name.as_str()) {
                return Err(parse_error(
                    lines[0].0,
                    j + 1,
                    format!("duplicate column name {name:?}"),
                ));
            }
        }
        for (list, option) in [
            (&options.drop, "drop"),
            (&options.categorical, "categorical"),
            (&options.numeric, "numeric"),
        ] {
            if let Some(unknown) = list.iter().find(|name| !seen.contains(name.as_str())) {
                return Err(parse_error(
                    0,
                    0,
                    format!("no column named {unknown:?} (option {option})"),
                ));
            }
        }
        let body_start = usize::from(has_header);
        let body = &rows[body_start..];
        let body_lines: Vec<usize> = lines[body_start..].iter().map(|l| l.0).collect();
        let mut columns = Vec::with_capacity(names.len());
        for (j, name) in names.into_iter().enumerate() {
            if options.drop.contains(&name) {
                continue;
            }
            let cells: Vec<Option<&str>> = body
                .iter()
                .map(|row| Some(row[j].as_str()).filter(|cell| !is_missing(cell)))
                .collect();
            let data = if options.categorical.contains(&name) {
                categorical(&cells)
            } else if options.numeric.contains(&name) {
                ColumnData::Numeric(numeric(&cells).map_err(|row| {
                    parse_error(
                        body_lines[row],
                        j + 1,
                        format!("{:?} is not a number (column {name:?})", body[row][j]),
                    )
                })?)
            } else {
                match numeric(&cells) {
                    Ok(values) if distinct_count(&values) > 2 => ColumnData::Numeric(values),
                    _ => categorical(&cells),
                }
            };
            columns.push(Column { name, data });
        }
        Ok(Table { columns })
    }

    /// Number of rows (0 for a table without columns).
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, |column| column.data.len())
    }

    /// The column named `name`, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }

    /// Removes the column `name` and returns it as labels, `true` for the positive class.
    ///
    /// With `positive` given, a row is positive when its value equals it (numerically for a
    /// numeric column). Otherwise the value `1` (or `yes`, `true`, `bad`, `default`, any case)
    /// is positive, provided the column holds exactly two distinct values; two values neither
    /// of which is such a word is an error asking for `--positive`. A missing target value is
    /// an error. The table is left unchanged on error.
    pub fn take_target(
        &mut self,
        name: &str,
        positive: Option<&str>,
    ) -> Result<Vec<bool>, ModelError> {
        self.take_target_labelled(name, positive)
            .map(|(labels, _)| labels)
    }

    /// [`Table::take_target`], also returning the value taken as positive (as given, or
    /// the word found; a number in its shortest form, e.g. `2`).
    pub fn take_target_labelled(
        &mut self,
        name: &str,
        positive: Option<&str>,
    ) -> Result<(Vec<bool>, String), ModelError> {
        let index = self
            .columns
            .iter()
            .position(|column| column.name == name)
            .ok_or_else(|| parse_error(0, 0, format!("no target column named {name:?}")))?;
        let keys: Vec<String> = match &self.columns[index].data {
            ColumnData::Numeric(values) => values
                .iter()
                .map(|v| {
                    if v.is_nan() {
                        String::new()
                    } else {
                        v.to_string()
                    }
                })
                .collect(),
            ColumnData::Categorical(values) => values
                .iter()
                .map(|v| v.clone().unwrap_or_default())
                .collect(),
        };
        if let Some(row) = keys.iter().position(String::is_empty) {
            return Err(parse_error(
                0,
                index + 1,
                format!("target {name:?} is missing in data row {}", row + 1),
            ));
        }
        let positive_key = match positive {
            Some(value) => match &self.columns[index].data {
                ColumnData::Numeric(_) => value
                    .trim()
                    .parse::<f64>()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| value.to_string()),
                ColumnData::Categorical(_) => value.to_string(),
            },
            None => {
                let distinct: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
                let words: Vec<&str> = distinct
                    .iter()
                    .copied()
                    .filter(|value| {
                        POSITIVE_WORDS
                            .iter()
                            .any(|word| value.eq_ignore_ascii_case(word))
                    })
                    .collect();
                if distinct.len() != 2 || words.len() != 1 {
                    return Err(parse_error(
                        0,
                        index + 1,
                        format!(
                            "target {name:?} has values {distinct:?}; name the positive (bad) \
                             value with --positive"
                        ),
                    ));
                }
                words[0].to_string()
            }
        };
        self.columns.remove(index);
        let labels = keys.iter().map(|key| *key == positive_key).collect();
        Ok((labels, positive_key))
    }

    /// A new table of the given rows, in the given order (repeats allowed).
    ///
    /// # Panics
    /// If a row index is out of range.
    pub fn select_rows(&self, rows: &[usize]) -> Table {
        let columns = self
            .columns
            .iter()
            .map(|column| Column {
                name: column.name.clone(),
                data: match &column.data {
                    ColumnData::Numeric(values) => {
                        ColumnData::Numeric(rows.iter().map(|&r| values[r]).collect())
                    }
                    ColumnData::Categorical(values) => {
                        ColumnData::Categorical(rows.iter().map(|&r| values[r].clone()).collect())
                    }
                },
            })
            .collect();
        Table { columns }
    }
}

fn parse_error(line: usize, column: usize, message: String) -> ModelError {
    ModelError::Parse {
        line,
        column,
        message,
    }
}

fn read_text(reader: impl Read) -> Result<String, ModelError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| parse_error(0, 0, format!("read failed: {error}")))?;
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ModelError::TooLarge {
            what: "table input in bytes",
            limit: MAX_INPUT_BYTES,
            found: bytes.len(),
        });
    }
    String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        parse_error(line, column, "not valid UTF-8".to_string())
    })
}

/// The delimiter that cuts the first lines into the same number (more than one) of cells,
/// preferring more cells; runs of whitespace when no single byte does.
fn sniff(lines: &[(usize, &str)]) -> Splitter {
    let sample = &lines[..lines.len().min(SNIFF_LINES)];
    let consistent = |splitter: Splitter| {
        let first = split(sample[0].1, splitter).len();
        (first > 1 && sample.iter().all(|l| split(l.1, splitter).len() == first)).then_some(first)
    };
    let mut best: Option<(usize, Splitter)> = None;
    for byte in SNIFF_CANDIDATES {
        if let Some(count) = consistent(Splitter::Byte(byte)) {
            if best.is_none_or(|(most, _)| count > most) {
                best = Some((count, Splitter::Byte(byte)));
            }
        }
    }
    match best {
        Some((_, splitter)) => splitter,
        None if consistent(Splitter::Whitespace).is_some() => Splitter::Whitespace,
        None => Splitter::Byte(b','),
    }
}

/// Cuts one line into trimmed cells. With a byte delimiter, a cell may be quoted with `"`
/// (a doubled `""` inside is a quote), so it can hold the delimiter.
fn split(line: &str, splitter: Splitter) -> Vec<String> {
    let delimiter = match splitter {
        Splitter::Whitespace => return line.split_whitespace().map(str::to_string).collect(),
        Splitter::Byte(byte) => byte as char,
    };
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            c if c == delimiter && !quoted => {
                cells.push(cell.trim().to_string());
                cell.clear();
            }
            c => cell.push(c),
        }
    }
    cells.push(cell.trim().to_string());
    cells
}

fn is_missing(cell: &str) -> bool {
    MISSING_TOKENS.contains(&cell)
}

fn parse_number(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The header rule: some column has a non-numeric first cell and only numbers below.
fn detect_header(rows: &[Vec<String>]) -> bool {
    if rows.len() < 2 {
        return false;
    }
    (0..rows[0].len()).any(|j| {
        let first = &rows[0][j];
        let mut below = rows[1..].iter().map(|row| row[j].as_str());
        !is_missing(first)
            && parse_number(first).is_none()
            && below.clone().any(|cell| !is_missing(cell))
            && below.all(|cell| is_missing(cell) || parse_number(cell).is_some())
    })
}

/// Numbers, NaN for missing; `Err(row)` names the first cell that is not a number.
fn numeric(cells: &[Option<&str>]) -> Result<Vec<f64>, usize> {
    cells
        .iter()
        .enumerate()
        .map(|(row, cell)| match cell {
            None => Ok(f64::NAN),
            Some(text) => parse_number(text).ok_or(row),
        })
        .collect()
}

fn categorical(cells: &[Option<&str>]) -> ColumnData {
    ColumnData::Categorical(cells.iter().map(|c| c.map(str::to_string)).collect())
}

fn distinct_count(values: &[f64]) -> usize {
    let mut present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    present.sort_by(f64::total_cmp);
    present.dedup();
    present.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, options: &TableOptions) -> Result<Table, ModelError> {
        Table::parse(text.as_bytes(), options)
    }

    fn names(table: &Table) -> Vec<&str> {
        table.columns.iter().map(|c| c.name.as_str()).collect()
    }

    fn is_numeric(table: &Table, name: &str) -> bool {
        matches!(table.column(name).unwrap().data, ColumnData::Numeric(_))
    }

    #[test]
    fn comma_with_header_is_detected() {
        let table = parse(
            "id,age,city\n1,30,Paris\n2,41,Rome\n3,55,Oslo\n",
            &TableOptions::default(),
        )
        .unwrap();
        assert_eq!(names(&table), ["id", "age", "city"]);
        assert_eq!(table.n_rows(), 3);
        assert!(is_numeric(&table, "age"));
        assert!(!is_numeric(&table, "city"));
    }

    #[test]
    fn semicolon_and_quotes() {
        let table = parse(
            "a;b;c\r\n1,5;\"x;y\";7\r\n2,5;z;8\r\n3,5;\"w\";9\r\n",
            &TableOptions::default(),
        )
        .unwrap();
        assert_eq!(names(&table), ["a", "b", "c"]);
        // "1,5" is not a number here: the comma is a decimal comma, so the column stays text.
        assert_eq!(
            table.column("b").unwrap().data,
            ColumnData::Categorical(vec![Some("x;y".into()), Some("z".into()), Some("w".into())])
        );
        assert!(is_numeric(&table, "c"));
    }

    #[test]
    fn space_separated_without_header_like_uci_german() {
        let text = "A11 6 A34 1169 1\nA12  48 A32 5951 2\nA14 12 A34 2096 1\nA11 42 A32 7882 1\n";
        let table = parse(text, &TableOptions::default()).unwrap();
        assert_eq!(names(&table), ["c1", "c2", "c3", "c4", "c5"]);
        assert_eq!(table.n_rows(), 4);
        assert!(is_numeric(&table, "c2"));
        assert!(!is_numeric(&table, "c1"));
        // Two distinct values: categorical unless declared.
        assert!(!is_numeric(&table, "c5"));
    }

    #[test]
    fn missing_tokens_and_declared_kinds() {
        let text = "x,y,z,w\n1,a,NA,0\n?,b,2,1\n3,,4,0\n5,a,6,1\n";
        let options = TableOptions {
            numeric: vec!["w".into()],
            categorical: vec!["z".into()],
            drop: vec![],
            ..TableOptions::default()
        };
        let table = parse(text, &options).unwrap();
        match &table.column("x").unwrap().data {
            ColumnData::Numeric(v) => {
                assert_eq!(v[0], 1.0);
                assert!(v[1].is_nan());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            table.column("y").unwrap().data,
            ColumnData::Categorical(vec![
                Some("a".into()),
                Some("b".into()),
                None,
                Some("a".into())
            ])
        );
        assert_eq!(
            table.column("z").unwrap().data,
            ColumnData::Categorical(vec![
                None,
                Some("2".into()),
                Some("4".into()),
                Some("6".into())
            ])
        );
        assert_eq!(
            table.column("w").unwrap().data,
            ColumnData::Numeric(vec![0.0, 1.0, 0.0, 1.0])
        );
        let dropped = parse(
            text,
            &TableOptions {
                drop: vec!["y".into()],
                ..TableOptions::default()
            },
        )
        .unwrap();
        assert_eq!(names(&dropped), ["x", "z", "w"]);
    }

    #[test]
    fn explicit_header_and_delimiter() {
        let text = "p|q\n1|2\n";
        let with = parse(
            text,
            &TableOptions {
                delimiter: Some(b'|'),
                header: Some(true),
                ..TableOptions::default()
            },
        )
        .unwrap();
        assert_eq!(names(&with), ["p", "q"]);
        assert_eq!(with.n_rows(), 1);
        let without = parse(
            text,
            &TableOptions {
                header: Some(false),
                ..TableOptions::default()
            },
        )
        .unwrap();
        assert_eq!(names(&without), ["c1", "c2"]);
        assert_eq!(without.n_rows(), 2);
    }

    #[test]
    fn errors_name_line_and_column() {
        let ragged = parse("a,b,c\n1,2,3\n\n4,5\n", &TableOptions::default());
        assert!(
            matches!(
                ragged,
                Err(ModelError::Parse {
                    line: 4,
                    column: 3,
                    ..
                })
            ),
            "{ragged:?}"
        );
        let declared = parse(
            "a,b\n1,2\n3,x\n",
            &TableOptions {
                numeric: vec!["b".into()],
                ..TableOptions::default()
            },
        );
        assert!(
            matches!(
                declared,
                Err(ModelError::Parse {
                    line: 3,
                    column: 2,
                    ..
                })
            ),
            "{declared:?}"
        );
        let unknown = parse(
            "a,b\n1,2\n",
            &TableOptions {
                drop: vec!["nope".into()],
                ..TableOptions::default()
            },
        );
        assert!(matches!(unknown, Err(ModelError::Parse { line: 0, .. })));
        assert!(matches!(
            parse("\n\n", &TableOptions::default()),
            Err(ModelError::EmptyData(_))
        ));
        let bad_utf8 = Table::parse(&b"a,b\n1,\xff\n"[..], &TableOptions::default());
        assert!(matches!(
            bad_utf8,
            Err(ModelError::Parse {
                line: 2,
                column: 3,
                ..
            })
        ));
    }

    #[test]
    fn take_target_rules() {
        let text = "x,t,u,v,k\n1,yes,good,1,0\n2,no,bad,2,1\n3,yes,good,1,2\n";
        let mut table = parse(text, &TableOptions::default()).unwrap();
        assert_eq!(table.take_target("t", None).unwrap(), [true, false, true]);
        assert!(table.column("t").is_none());
        assert_eq!(table.take_target("u", None).unwrap(), [false, true, false]);
        // Values 1 and 2: "1" is the rule's positive; UCI German wants "2", given explicitly.
        assert_eq!(
            table.take_target("v", Some("2")).unwrap(),
            [false, true, false]
        );
        // Numeric column (three values): positive given numerically.
        assert!(is_numeric(&table, "k"));
        assert_eq!(
            table.take_target("k", Some("1.0")).unwrap(),
            [false, true, false]
        );

        let mut unclear = parse("a,b\nx,1\ny,2\nx,3\n", &TableOptions::default()).unwrap();
        let error = unclear.take_target("a", None).unwrap_err();
        assert!(error.to_string().contains("--positive"), "{error}");
        assert!(unclear.column("a").is_some());
        assert!(unclear.take_target("b", None).is_err(), "three values");
        assert!(unclear.take_target("missing", None).is_err());

        let mut with_gap = parse("a,t\n1,1\n2,\n3,0\n", &TableOptions::default()).unwrap();
        assert!(with_gap.take_target("t", None).is_err());
    }

    #[test]
    fn select_rows_keeps_kinds_and_order() {
        let table = parse("a,b\n1,x\n2,y\n3,z\n", &TableOptions::default()).unwrap();
        let picked = table.select_rows(&[2, 0]);
        assert_eq!(
            picked.column("a").unwrap().data,
            ColumnData::Numeric(vec![3.0, 1.0])
        );
        assert_eq!(
            picked.column("b").unwrap().data,
            ColumnData::Categorical(vec![Some("z".into()), Some("x".into())])
        );
        assert_eq!(picked.n_rows(), 2);
    }
}
