//! Tabular data from CSV files: a header of column names, then one sample a line, every value
//! a number.
//!
//! [`Table::read`] takes the names of the target columns; every other column is a feature, in
//! the file's order, and their number must be the input width `IN`. Every error names the
//! file, and where it is about a value, its line (counting from 1, the header being line 1)
//! and its column (by name and number, counting from 1).
//!
//! ```no_run
//! use nn_core::data::Table;
//! // 30 features and the column `target`.
//! let table = Table::<30, 1>::read("data/breast-cancer/wdbc.csv", &["target"])?;
//! let labels: Vec<u8> = table.labels(2)?;
//! # Ok::<(), nn_core::data::CsvError>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

/// Everything that can go wrong reading a CSV file into a [`Table`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {reason}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system reported.
        reason: String,
    },
    /// The file has no header line.
    #[error("{}: the file is empty: expected a header line of column names", .path.display())]
    NoHeader {
        /// The file.
        path: PathBuf,
    },
    /// A target column is not in the header.
    #[error("{}: there is no column `{name}`; the header has {}", .path.display(), .columns.join(", "))]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        name: String,
        /// The header's columns.
        columns: Vec<String>,
    },
    /// The number of target columns asked for is not the output width.
    #[error("{} target columns were named, but the table has {expected} outputs", .found)]
    TargetCount {
        /// The output width `OUT`.
        expected: usize,
        /// The number of names given.
        found: usize,
    },
    /// The number of feature columns is not the input width.
    #[error(
        "{}: the header has {found} feature columns besides the targets, expected {expected} \
         (the network's inputs)",
        .path.display()
    )]
    FeatureCount {
        /// The file.
        path: PathBuf,
        /// The input width `IN`.
        expected: usize,
        /// The number of feature columns.
        found: usize,
    },
    /// A line has another number of fields than the header.
    #[error("{}, line {line}: {found} fields, expected {expected} as in the header", .path.display())]
    Width {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: u64,
        /// The header's number of columns.
        expected: usize,
        /// This line's.
        found: usize,
    },
    /// A value is not a finite number.
    #[error(
        "{}, line {line}, column {column} (`{name}`): `{value}` is not a finite number",
        .path.display()
    )]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: u64,
        /// The column, counting from 1.
        column: usize,
        /// The column's name.
        name: String,
        /// The text found.
        value: String,
    },
    /// A target is not a class label (a whole number from 0 to `classes - 1`).
    #[error(
        "{}, line {line}, column `{name}`: {value} is not a class label: expected a whole \
         number from 0 to {}",
        .path.display(),
        .classes.saturating_sub(1)
    )]
    NotALabel {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: u64,
        /// The target column's name.
        name: String,
        /// The value.
        value: f32,
        /// The number of classes.
        classes: usize,
    },
    /// The text is not valid CSV (a quote left open, invalid UTF-8).
    #[error("{}, line {line}: {reason}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: u64,
        /// What the CSV reader reported.
        reason: String,
    },
}

/// A table of samples read from a CSV file: `IN` feature columns and `OUT` target columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table<const IN: usize, const OUT: usize> {
    /// The feature columns' names, in the order of the inputs.
    pub features: Vec<String>,
    /// The target columns' names, in the order of the targets.
    pub target_names: Vec<String>,
    /// One input row per line.
    pub inputs: Vec<[f32; IN]>,
    /// One target row per line.
    pub targets: Vec<[f32; OUT]>,
    /// The line each sample was read from (counting from 1), for messages.
    pub lines: Vec<u64>,
    /// The file read.
    pub path: PathBuf,
}

/// The largest CSV file [`Table::read`] reads: 1 GiB.
pub const MAX_CSV_BYTES: u64 = 1 << 30;

impl<const IN: usize, const OUT: usize> Table<IN, OUT> {
    /// Reads `path`: a header line, then one sample a line; `targets` names the `OUT` target
    /// columns, the other `IN` columns are the features.
    ///
    /// # Errors
    ///
    /// Every [`CsvError`]: the file cannot be read (or is not a regular file, or is over
    /// [`MAX_CSV_BYTES`]), has no header, lacks a target column, has another number of
    /// features, a line of another width, a value that is not a finite number, or is not CSV.
    pub fn read(path: impl AsRef<Path>, targets: &[&str]) -> Result<Self, CsvError> {
        let path = path.as_ref();
        let io = |e: std::io::Error| CsvError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let file = crate::file_check::open_regular(path).map_err(io)?;
        let mut text = Vec::new();
        file.take(MAX_CSV_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_CSV_BYTES {
            return Err(CsvError::Io {
                path: path.to_path_buf(),
                reason: format!("the file is larger than {MAX_CSV_BYTES} bytes"),
            });
        }
        Self::parse(path, &text, targets)
    }

    /// As [`read`](Self::read), from the file's contents; `path` names it in errors.
    ///
    /// # Errors
    ///
    /// As for [`read`](Self::read), but for reading the file.
    pub fn parse(path: &Path, text: &[u8], targets: &[&str]) -> Result<Self, CsvError> {
        let owned = || path.to_path_buf();
        if targets.len() != OUT {
            return Err(CsvError::TargetCount {
                expected: OUT,
                found: targets.len(),
            });
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(text);
        let syntax = |e: csv::Error| {
            let line = e.position().map_or(1, csv::Position::line);
            match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => CsvError::Width {
                    path: owned(),
                    line,
                    expected: *expected_len as usize,
                    found: *len as usize,
                },
                _ => CsvError::Syntax {
                    path: owned(),
                    line,
                    reason: e.to_string(),
                },
            }
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(syntax)?
            .iter()
            .map(str::to_owned)
            .collect();
        if header.is_empty() || header.iter().all(String::is_empty) {
            return Err(CsvError::NoHeader { path: owned() });
        }
        let mut target_at = Vec::with_capacity(OUT);
        for name in targets {
            match header.iter().position(|h| h == name) {
                Some(i) => target_at.push(i),
                None => {
                    return Err(CsvError::MissingColumn {
                        path: owned(),
                        name: (*name).to_owned(),
                        columns: header.clone(),
                    })
                }
            }
        }
        let feature_at: Vec<usize> = (0..header.len())
            .filter(|i| !target_at.contains(i))
            .collect();
        if feature_at.len() != IN {
            return Err(CsvError::FeatureCount {
                path: owned(),
                expected: IN,
                found: feature_at.len(),
            });
        }
        let mut table = Table {
            features: feature_at.iter().map(|&i| header[i].clone()).collect(),
            target_names: target_at.iter().map(|&i| header[i].clone()).collect(),
            path: owned(),
            ..Table::default()
        };
        for record in reader.records() {
            let record = record.map_err(syntax)?;
            let line = record.position().map_or(0, csv::Position::line);
            let value = |i: usize| -> Result<f32, CsvError> {
                let text = record.get(i).unwrap_or("");
                match text.parse::<f32>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ => Err(CsvError::NotANumber {
                        path: owned(),
                        line,
                        column: i + 1,
                        name: header[i].clone(),
                        value: text.to_owned(),
                    }),
                }
            };
            let mut x = [0.0f32; IN];
            for (v, &i) in x.iter_mut().zip(&feature_at) {
                *v = value(i)?;
            }
            let mut y = [0.0f32; OUT];
            for (v, &i) in y.iter_mut().zip(&target_at) {
                *v = value(i)?;
            }
            table.inputs.push(x);
            table.targets.push(y);
            table.lines.push(line);
        }
        Ok(table)
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The first target column as class labels for `classes` classes.
    ///
    /// # Errors
    ///
    /// [`CsvError::NotALabel`] for a value that is not a whole number from 0 to `classes - 1`,
    /// naming its line.
    pub fn labels(&self, classes: usize) -> Result<Vec<u8>, CsvError> {
        let name = self.target_names.first().cloned().unwrap_or_default();
        self.targets
            .iter()
            .zip(&self.lines)
            .map(|(y, &line)| {
                let v = y.first().copied().unwrap_or(f32::NAN);
                if v.fract() == 0.0 && v >= 0.0 && (v as usize) < classes.min(256) {
                    Ok(v as u8)
                } else {
                    Err(CsvError::NotALabel {
                        path: self.path.clone(),
                        line,
                        name: name.clone(),
                        value: v,
                        classes,
                    })
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn_test_support::assert_mentions;

    fn parse<const IN: usize, const OUT: usize>(
        text: &str,
        targets: &[&str],
    ) -> Result<Table<IN, OUT>, CsvError> {
        Table::parse(Path::new("t.csv"), text.as_bytes(), targets)
    }

    #[test]
    fn a_table_reads_features_and_targets_by_name() {
        let t = parse::<2, 1>("a, y ,b\n1,0,2.5\n-3e2, 1 ,4\n", &["y"]).unwrap();
        assert_eq!(t.features, ["a", "b"]);
        assert_eq!(t.target_names, ["y"]);
        assert_eq!(t.inputs, [[1.0, 2.5], [-300.0, 4.0]]);
        assert_eq!(t.targets, [[0.0], [1.0]]);
        assert_eq!(t.lines, [2, 3]);
        assert_eq!(t.labels(2), Ok(vec![0, 1]));
        let err = t.labels(1).unwrap_err();
        assert_mentions(&err.to_string(), &["t.csv", "line 3", "`y`", "from 0 to 0"]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = parse::<2, 1>("a,y,b\n1,0,2\n1,x,2\n", &["y"]).unwrap_err();
        assert_eq!(
            err,
            CsvError::NotANumber {
                path: "t.csv".into(),
                line: 3,
                column: 2,
                name: "y".into(),
                value: "x".into()
            }
        );
        assert_mentions(
            &err.to_string(),
            &["t.csv", "line 3", "column 2 (`y`)", "`x`"],
        );
        let err = parse::<2, 1>("a,y,b\n1,0,2\n1,0\n", &["y"]).unwrap_err();
        assert!(
            matches!(
                err,
                CsvError::Width {
                    line: 3,
                    expected: 3,
                    found: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse::<2, 1>("a,y,b\n1,0,inf\n", &["y"]).unwrap_err();
        assert!(
            matches!(err, CsvError::NotANumber { column: 3, .. }),
            "{err:?}"
        );
        let err = parse::<2, 1>("a,b,c\n", &["y"]).unwrap_err();
        assert_mentions(&err.to_string(), &["no column `y`", "a, b, c"]);
        let err = parse::<3, 1>("a,y,b\n", &["y"]).unwrap_err();
        assert!(matches!(
            err,
            CsvError::FeatureCount {
                expected: 3,
                found: 2,
                ..
            }
        ));
        assert!(matches!(
            parse::<2, 1>("", &["y"]),
            Err(CsvError::NoHeader { .. })
        ));
        assert!(matches!(
            parse::<2, 2>("a,y,b\n", &["y"]),
            Err(CsvError::TargetCount {
                expected: 2,
                found: 1
            })
        ));
        let err = Table::<1, 1>::read("/nonexistent/t.csv", &["y"]).unwrap_err();
        assert_mentions(&err.to_string(), &["/nonexistent/t.csv"]);
    }
}
