//! Percentiles of one run's timings, and medians over runs.
use std::collections::BTreeMap;

/// The percentiles every timing is reported at.
pub const PERCENTILES: [(&str, f64); 3] = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99)];

/// The nearest-rank percentile `p` (0..=1) of `values`; none when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Adds `{name}_{p50,p90,p99}_ms` of `values` (milliseconds) to `figures`.
pub fn add_percentiles(figures: &mut BTreeMap<String, f64>, name: &str, values: &[f64]) {
    for (label, p) in PERCENTILES {
        if let Some(v) = percentile(values, p) {
            figures.insert(format!("{name}_{label}_ms"), v);
        }
    }
}

/// For each figure, the median of the runs that have it.
pub fn medians(runs: &[BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let mut keys: Vec<&String> = runs.iter().flat_map(|r| r.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let values: Vec<f64> = runs.iter().filter_map(|r| r.get(k).copied()).collect();
            median(&values).map(|m| (k.clone(), m))
        })
        .collect()
}

/// The median (the mean of the middle two of an even count).
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}
