//! Budgets: a limit on one reported figure, judged PASS or OVER.
use std::collections::BTreeMap;

/// How a figure is held to its limit.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    AtMost,
    AtLeast,
    /// Its absolute value at most the limit (a change in %).
    Within,
}

/// One limit of issue 12 on one figure of the report.
#[derive(Debug, Clone)]
pub struct Budget {
    /// The figure's key in the report (`added_ttft_p99_ms`).
    pub key: &'static str,
    pub bound: Bound,
    pub limit: f64,
}

/// A budget judged against a run's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verdict {
    pub key: &'static str,
    /// `<= 25`, `>= 600`, `+-10`.
    pub limit: String,
    /// The figure (none when the run could not measure it: counted as over).
    pub value: Option<f64>,
    pub pass: bool,
}

impl Budget {
    pub fn at_most(key: &'static str, limit: f64) -> Self {
        Self {
            key,
            bound: Bound::AtMost,
            limit,
        }
    }

    pub fn at_least(key: &'static str, limit: f64) -> Self {
        Self {
            key,
            bound: Bound::AtLeast,
            limit,
        }
    }

    pub fn within(key: &'static str, limit: f64) -> Self {
        Self {
            key,
            bound: Bound::Within,
            limit,
        }
    }

    pub fn judge(&self, figures: &BTreeMap<String, f64>) -> Verdict {
        let value = figures.get(self.key).copied().filter(|v| v.is_finite());
        let (sign, pass) = match self.bound {
            Bound::AtMost => ("<=", value.is_some_and(|v| v <= self.limit)),
            Bound::AtLeast => (">=", value.is_some_and(|v| v >= self.limit)),
            Bound::Within => ("+-", value.is_some_and(|v| v.abs() <= self.limit)),
        };
        Verdict {
            key: self.key,
            limit: format!("{sign} {}", self.limit),
            value,
            pass,
        }
    }
}
