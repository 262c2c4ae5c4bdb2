//! Submission files: one row per 5 s window, `row_id` = `<file stem>_<end second>`, then one
//! score column per taxonomy class.
//!
//! A solution file (`test_solution.csv`) has the same shape with 0/1 targets, so one reader
//! serves both. [`Submission::order_like`] puts rows in `sample_submission.csv` order.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use ndarray::{Array2, ArrayView1};
use stsg_core::LabelSet;

use crate::PipelineError;
use crate::data::CsvTable;

/// The `row_id` of the window of `stem` ending at `end_s` seconds: `<stem>_<end second>`.
///
/// End times are whole seconds in BirdCLEF (5, 10, ...); other values are rounded to the
/// nearest second.
pub fn row_id(stem: &str, end_s: f64) -> String {
    format!("{stem}_{}", end_s.round() as i64)
}

/// Scores (or 0/1 targets) per window and class.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// Class names in column order.
    pub labels: LabelSet,
    /// One `row_id` per row.
    pub row_ids: Vec<String>,
    /// `rows x classes`.
    pub scores: Array2<f32>,
}

impl Submission {
    /// An empty submission over `labels`.
    pub fn new(labels: LabelSet) -> Self {
        let n = labels.len();
        Self {
            labels,
            row_ids: Vec::new(),
            scores: Array2::zeros((0, n)),
        }
    }

    /// Appends rows; `scores` must have one column per class.
    ///
    /// # Errors
    /// [`PipelineError::Evaluation`] when the row or column counts disagree.
    pub fn push_rows(
        &mut self,
        row_ids: impl IntoIterator<Item = String>,
        scores: &Array2<f32>,
    ) -> Result<(), PipelineError> {
        let ids: Vec<String> = row_ids.into_iter().collect();
        if ids.len() != scores.nrows() || scores.ncols() != self.labels.len() {
            return Err(PipelineError::Evaluation(format!(
                "expected {} rows x {} classes, got {} row ids and {}x{} scores",
                ids.len(),
                self.labels.len(),
                ids.len(),
                scores.nrows(),
                scores.ncols()
            )));
        }
        self.scores
            .append(ndarray::Axis(0), scores.view())
            .map_err(|e| PipelineError::Evaluation(e.to_string()))?;
        self.row_ids.extend(ids);
        Ok(())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.row_ids.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.row_ids.is_empty()
    }

    /// Reorders rows to follow the `row_id` column of `sample_submission.csv`.
    ///
    /// Rows of the sample that have no prediction (their soundscape is missing or was
    /// skipped) get `fill` scores for every class, so the file stays complete; rows predicted
    /// but absent from the sample go after the sample's rows, in their current order. Returns
    /// the number of filled rows and of appended rows.
    ///
    /// # Errors
    /// [`PipelineError::MissingColumn`] / [`PipelineError::Csv`] for an unreadable sample file.
    pub fn order_like(
        &mut self,
        sample_submission: &Path,
        fill: ArrayView1<'_, f32>,
    ) -> Result<(usize, usize), PipelineError> {
        let mut table = CsvTable::open(sample_submission)?;
        let col = table.column("row_id")?;
        let sample_ids: Vec<String> = table
            .records()?
            .iter()
            .map(|r| r.get(col).unwrap_or_default().trim().to_string())
            .collect();

        let index: HashMap<&str, usize> = self
            .row_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let mut order: Vec<Option<usize>> = sample_ids
            .iter()
            .map(|id| index.get(id.as_str()).copied())
            .collect();
        let in_sample: std::collections::HashSet<&str> =
            sample_ids.iter().map(String::as_str).collect();
        let extra: Vec<usize> = (0..self.len())
            .filter(|&i| !in_sample.contains(self.row_ids[i].as_str()))
            .collect();
        let filled = order.iter().filter(|o| o.is_none()).count();
        let appended = extra.len();
        order.extend(extra.into_iter().map(Some));

        let mut row_ids = Vec::with_capacity(order.len());
        let mut scores = Array2::zeros((order.len(), self.labels.len()));
        for (dst, src) in order.iter().enumerate() {
            match src {
                Some(i) => {
                    row_ids.push(self.row_ids[*i].clone());
                    scores.row_mut(dst).assign(&self.scores.row(*i));
                }
                None => {
                    row_ids.push(sample_ids[dst].clone());
                    scores.row_mut(dst).assign(&fill);
                }
            }
        }
        self.row_ids = row_ids;
        self.scores = scores;
        Ok((filled, appended))
    }

    /// Writes the CSV atomically: header `row_id,<class>...`, scores with up to 6 decimals.
    ///
    /// # Errors
    /// [`PipelineError::Io`] naming the file.
    pub fn write_csv(&self, path: &Path) -> Result<(), PipelineError> {
        stsg_core::artifact::write_atomic_with(path, |file| {
            let mut out = std::io::BufWriter::new(file);
            write!(out, "row_id")?;
            for name in self.labels.names() {
                write!(out, ",{name}")?;
            }
            writeln!(out)?;
            for (id, row) in self.row_ids.iter().zip(self.scores.rows()) {
                write!(out, "{id}")?;
                for v in row {
                    write!(out, ",{}", format_score(*v))?;
                }
                writeln!(out)?;
            }
            out.flush()
        })
        .map_err(|e| match e {
            stsg_core::CoreError::Io { path, source } => PipelineError::Io { path, source },
            other => PipelineError::Evaluation(other.to_string()),
        })
    }

    /// Reads a submission or solution CSV: a `row_id` column, then one numeric column per class.
    ///
    /// # Errors
    /// [`PipelineError::MissingColumn`] without `row_id`, [`PipelineError::Csv`] for a
    /// non-numeric or non-finite value (naming line and column) or duplicate columns.
    pub fn read_csv(path: &Path) -> Result<Self, PipelineError> {
        let mut table = CsvTable::open(path)?;
        let id_col = table.column("row_id")?;
        let class_cols: Vec<usize> = (0..table.header.len()).filter(|&c| c != id_col).collect();
        let labels = LabelSet::new(class_cols.iter().map(|&c| table.header[c].clone())).map_err(
            |source| PipelineError::Labels {
                path: path.to_path_buf(),
                source,
            },
        )?;
        let records = table.records()?;
        let mut row_ids = Vec::with_capacity(records.len());
        let mut scores = Array2::zeros((records.len(), class_cols.len()));
        for (r, record) in records.iter().enumerate() {
            row_ids.push(record.get(id_col).unwrap_or_default().trim().to_string());
            for (j, &c) in class_cols.iter().enumerate() {
                let cell = record.get(c).unwrap_or_default().trim();
                let value: f32 = cell
                    .parse()
                    .ok()
                    .filter(|v: &f32| v.is_finite())
                    .ok_or_else(|| PipelineError::Csv {
                        path: path.to_path_buf(),
                        line: record.position().map(|p| p.line()),
                        message: format!(
                            "column {:?}: {cell:?} is not a finite number",
                            table.header[c]
                        ),
                    })?;
                scores[[r, j]] = value;
            }
        }
        Ok(Self {
            labels,
            row_ids,
            scores,
        })
    }
}

/// Formats a score compactly: integers without decimals, others with up to 6 decimals.
/// Formats a score with the shortest decimal that reads back as the same `f32`, so that the
/// ranking a metric sees in the file equals the ranking in memory (rounding to a fixed number
/// of decimals turned most small scores into ties at 0).
fn format_score(v: f32) -> String {
    format!("{v}")
}

/// Macro ROC-AUC of a submission against a solution.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SubmissionScore {
    /// Mean ROC-AUC over the classes with at least one positive (the Kaggle BirdCLEF rule).
    pub macro_auc: f64,
    /// Classes that entered the mean.
    pub n_scored_classes: usize,
    /// Rows compared.
    pub n_rows: usize,
    /// Per-class ROC-AUC by class name, `None` for classes without positives or negatives.
    pub per_class: Vec<(String, Option<f64>)>,
}

/// Scores `submission` against `solution`, matching rows by `row_id` and columns by name.
///
/// Every solution row and column must be in the submission; extra submission rows and columns
/// are ignored.
///
/// # Errors
/// [`PipelineError::Evaluation`] naming the first missing rows or columns, or when no class of
/// the solution has a positive row.
pub fn score_submission(
    submission: &Submission,
    solution: &Submission,
) -> Result<SubmissionScore, PipelineError> {
    let rows: HashMap<&str, usize> = submission
        .row_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let missing_rows: Vec<&str> = solution
        .row_ids
        .iter()
        .filter(|id| !rows.contains_key(id.as_str()))
        .map(String::as_str)
        .collect();
    if !missing_rows.is_empty() {
        return Err(PipelineError::Evaluation(format!(
            "{} solution rows are missing from the submission (first: {})",
            missing_rows.len(),
            missing_rows
                .iter()
                .take(3)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut columns = Vec::with_capacity(solution.labels.len());
    let mut missing_cols = Vec::new();
    for name in solution.labels.names() {
        match submission.labels.index_of(name) {
            Ok(c) => columns.push(c),
            Err(_) => missing_cols.push(name.as_str()),
        }
    }
    if !missing_cols.is_empty() {
        return Err(PipelineError::Evaluation(format!(
            "{} solution columns are missing from the submission (first: {})",
            missing_cols.len(),
            missing_cols
                .iter()
                .take(3)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut aligned = Array2::<f32>::zeros(solution.scores.raw_dim());
    for (r, id) in solution.row_ids.iter().enumerate() {
        let src = rows[id.as_str()];
        for (j, &c) in columns.iter().enumerate() {
            aligned[[r, j]] = submission.scores[[src, c]];
        }
    }
    let truth = solution.scores.mapv(|v| if v > 0.5 { 1.0 } else { 0.0 });
    let per_class_auc = class_aucs(&truth, &aligned);
    let scored: Vec<f64> = per_class_auc
        .iter()
        .zip(truth.columns())
        .filter(|(_, col)| col.iter().any(|&v| v > 0.5))
        .filter_map(|(auc, _)| *auc)
        .collect();
    if scored.is_empty() {
        return Err(PipelineError::Evaluation(
            "no class of the solution has both positive and negative rows".to_string(),
        ));
    }
    Ok(SubmissionScore {
        macro_auc: scored.iter().sum::<f64>() / scored.len() as f64,
        n_scored_classes: scored.len(),
        n_rows: solution.len(),
        per_class: solution
            .labels
            .names()
            .iter()
            .cloned()
            .zip(per_class_auc)
            .collect(),
    })
}

/// ROC-AUC of each column; `None` where a column lacks positives or negatives.
fn class_aucs(truth: &Array2<f32>, scores: &Array2<f32>) -> Vec<Option<f64>> {
    truth
        .columns()
        .into_iter()
        .zip(scores.columns())
        .map(|(t, s)| {
            let y: Vec<bool> = t.iter().map(|&v| v > 0.5).collect();
            let s: Vec<f32> = s.to_vec();
            stsg_head::metrics::roc_auc(&y, &s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    fn labels() -> LabelSet {
        LabelSet::new(["a", "b"]).unwrap()
    }

    #[test]
    fn scores_keep_full_precision() {
        for v in [0.0f32, 1.0, 0.5, 1.2345e-7, 3.0e-12, 0.999_999_9] {
            let text = format_score(v);
            assert_eq!(text.parse::<f32>().unwrap(), v, "{v} written as {text}");
        }
    }

    #[test]
    fn row_id_uses_end_second() {
        assert_eq!(row_id("mix_000", 5.0), "mix_000_5");
        assert_eq!(row_id("x", 60.0), "x_60");
    }

    #[test]
    fn csv_round_trip_keeps_rows_and_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        let mut sub = Submission::new(labels());
        sub.push_rows(
            ["f_5".to_string(), "f_10".to_string()],
            &array![[0.25, 1.0], [0.0, 0.123456]],
        )
        .unwrap();
        sub.write_csv(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "row_id,a,b\nf_5,0.25,1\nf_10,0,0.123456\n");
        let back = Submission::read_csv(&path).unwrap();
        assert_eq!(back, sub);
    }

    #[test]
    fn order_follows_sample_and_fills_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let sample = dir.path().join("sample.csv");
        std::fs::write(&sample, "row_id,a,b\ng_5,0,0\nf_10,0,0\nf_5,0,0\n").unwrap();
        let mut sub = Submission::new(labels());
        sub.push_rows(
            ["f_5".into(), "f_10".into(), "h_5".into()],
            &array![[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]],
        )
        .unwrap();
        let (filled, appended) = sub.order_like(&sample, array![0.5, 0.5].view()).unwrap();
        assert_eq!((filled, appended), (1, 1));
        assert_eq!(sub.row_ids, ["g_5", "f_10", "f_5", "h_5"]);
        assert_eq!(sub.scores.column(0).to_vec(), [0.5, 2.0, 1.0, 3.0]);
    }

    #[test]
    fn non_numeric_cell_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        std::fs::write(&path, "row_id,a,b\nf_5,0,x\n").unwrap();
        let err = Submission::read_csv(&path).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("\"b\""), "{text}");
    }

    #[test]
    fn score_matches_by_row_id_and_name() {
        let solution = Submission {
            labels: labels(),
            row_ids: vec!["r1".into(), "r2".into(), "r3".into()],
            scores: array![[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
        };
        // Columns and rows in another order; class a ranks r1 first (AUC 1), class b has no
        // positive and is skipped.
        let submission = Submission {
            labels: LabelSet::new(["b", "a"]).unwrap(),
            row_ids: vec!["r3".into(), "r2".into(), "r1".into()],
            scores: array![[0.9, 0.1], [0.5, 0.2], [0.1, 0.8]],
        };
        let score = score_submission(&submission, &solution).unwrap();
        assert_eq!(score.macro_auc, 1.0);
        assert_eq!(score.n_scored_classes, 1);
        assert_eq!(score.per_class[1], ("b".to_string(), None));
    }

    #[test]
    fn missing_rows_and_columns_are_errors() {
        let solution = Submission {
            labels: labels(),
            row_ids: vec!["r1".into(), "r2".into()],
            scores: array![[1.0, 0.0], [0.0, 1.0]],
        };
        let short = Submission {
            labels: labels(),
            row_ids: vec!["r1".into()],
            scores: array![[1.0, 0.0]],
        };
        let err = score_submission(&short, &solution).unwrap_err();
        assert!(err.to_string().contains("r2"), "{err}");
        let narrow = Submission {
            labels: LabelSet::new(["a"]).unwrap(),
            row_ids: vec!["r1".into(), "r2".into()],
            scores: array![[1.0], [0.0]],
        };
        let err = score_submission(&narrow, &solution).unwrap_err();
        assert!(err.to_string().contains("columns"), "{err}");
    }
}
