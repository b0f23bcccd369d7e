//! The one error type of the metrics module, and the input checks that produce it.
//!
//! scikit-learn reacts to bad input in several ways: it raises for non-finite scores or
//! mismatched lengths, but only *warns* for a single-class label vector and returns `nan`
//! rates (and so a `nan` AUC). A `nan` that travels silently into a results table is worse
//! than a refusal, so every one of these cases is an `Err` here.

use std::fmt;

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsError {
    /// Two arrays that must pair up element by element have different lengths.
    LengthMismatch { what: &'static str, left: usize, right: usize },
    /// An array that must hold at least `needed` values holds fewer.
    TooShort { what: &'static str, len: usize, needed: usize },
    /// `nan` or `±inf` in an input (the first offending position is reported).
    NonFinite { what: &'static str, index: usize, value: f64 },
    /// A label that is neither 0.0 nor 1.0.
    InvalidLabel { index: usize, value: f64 },
    /// Only one class present: a ROC curve (and hence every spike metric) is undefined.
    SingleClass { positives: usize, negatives: usize },
    /// `auc`'s x values go up and down, so the trapezoid sum is not an area: `x[rise] >
    /// x[rise - 1]` and `x[fall] < x[fall - 1]` (the first such indices).
    NotMonotonic { rise: usize, fall: usize },
    /// A parameter (not data) outside its domain, e.g. a `nan` desired false-positive rate.
    InvalidParameter { what: &'static str, value: f64 },
    /// Values that must vary are all equal (a zero standard deviation to divide by).
    Constant { what: &'static str },
    /// A flat array's length is not a whole number of rows of the given width.
    NotRectangular { what: &'static str, len: usize, row_len: usize },
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthMismatch { what, left, right } => {
                write!(f, "{what}: lengths differ ({left} vs {right})")
            }
            Self::TooShort { what, len, needed } => {
                write!(f, "{what}: {len} values, at least {needed} needed")
            }
            Self::NonFinite { what, index, value } => {
                write!(f, "{what}: non-finite value {value} at index {index}")
            }
            Self::InvalidLabel { index, value } => {
                write!(f, "labels must be 0 or 1, found {value} at index {index}")
            }
            Self::SingleClass { positives, negatives } => write!(
                f,
                "ROC curve undefined: labels hold a single class \
                 ({positives} positives, {negatives} negatives)"
            ),
            Self::NotMonotonic { rise, fall } => write!(
                f,
                "auc: x is neither non-decreasing nor non-increasing \
                 (first rise at index {rise}, first fall at index {fall})"
            ),
            Self::InvalidParameter { what, value } => write!(f, "{what}: invalid value {value}"),
            Self::Constant { what } => write!(f, "{what}: all values are equal"),
            Self::NotRectangular { what, len, row_len } => {
                write!(f, "{what}: length {len} is not a multiple of the row length {row_len}")
            }
        }
    }
}

impl std::error::Error for MetricsError {}

/// Both arrays have the same length.
pub(crate) fn check_same_len(what: &'static str, a: &[f64], b: &[f64]) -> Result<(), MetricsError> {
    if a.len() != b.len() {
        return Err(MetricsError::LengthMismatch { what, left: a.len(), right: b.len() });
    }
    Ok(())
}

/// At least `needed` values.
pub(crate) fn check_min_len(what: &'static str, a: &[f64], needed: usize) -> Result<(), MetricsError> {
    if a.len() < needed {
        return Err(MetricsError::TooShort { what, len: a.len(), needed });
    }
    Ok(())
}

/// Every value finite.
pub(crate) fn check_finite(what: &'static str, a: &[f64]) -> Result<(), MetricsError> {
    match a.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(MetricsError::NonFinite { what, index, value: a[index] }),
        None => Ok(()),
    }
}
