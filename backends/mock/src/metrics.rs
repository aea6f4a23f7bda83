//! Metrics (`mock-driver.md` §2.11): derived from the caller's instances, nothing is stored.

use crate::MockDriver;
use async_trait::async_trait;
use deltacloud_core::driver::Metrics;
use deltacloud_core::{
    Filter, Instance, Metric, MetricId, MetricProperty, MetricSample, RequestContext, Result,
};
use rand::Rng as _;

/// The property names of every mock metric, sorted by name.
pub const METRIC_NAMES: [&str; 9] = [
    "cpuUtilization",
    "diskReadRequestCount",
    "diskReadSector",
    "diskWriteRequestCount",
    "diskWriteSector",
    "nicInputByte",
    "nicInputPacket",
    "nicOutputByte",
    "nicOutputPacket",
];

/// Samples taken per property by [`Metrics::metric`].
pub const SAMPLES: i64 = 6;

fn unit_for(name: &str) -> &'static str {
    if name.contains("Utilization") {
        "Percent"
    } else if name.contains("Byte") {
        "Bytes"
    } else if name.contains("Sector") || name.contains("Count") || name.contains("Packet") {
        "Count"
    } else {
        "None"
    }
}

/// Six samples, newest first: minimum 1–49, maximum 50–99, average their mean (integer division,
/// except `cpuUtilization`, whose values are fractions: ÷ 100).
fn samples(name: &str, now: i64) -> Vec<MetricSample> {
    let mut rng = rand::rng();
    (0..SAMPLES)
        .map(|k| {
            let min: i64 = rng.random_range(1..50);
            let max: i64 = rng.random_range(50..100);
            #[allow(clippy::cast_precision_loss)]
            let (minimum, maximum, average) = if name == "cpuUtilization" {
                let (a, b) = (min as f64 / 100.0, max as f64 / 100.0);
                (a, b, (a + b) / 2.0)
            } else {
                (min as f64, max as f64, ((min + max) / 2) as f64)
            };
            MetricSample {
                minimum,
                maximum,
                average,
                timestamp: now - k,
                unit: unit_for(name).to_owned(),
            }
        })
        .collect()
}

fn metric_for(i: &Instance, with_values: bool) -> Metric {
    let now = crate::util::now_secs();
    Metric {
        id: MetricId::new(i.id.to_string()),
        // The entity is the instance name, the id when it has none.
        entity: i.name.clone().unwrap_or_else(|| i.id.to_string()),
        properties: METRIC_NAMES
            .iter()
            .map(|n| MetricProperty {
                name: (*n).to_owned(),
                values: with_values.then(|| samples(n, now)),
            })
            .collect(),
    }
}

#[async_trait]
impl Metrics for MockDriver {
    /// One metric per visible instance, without values.
    async fn metrics(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Metric>> {
        let user = self.authenticate(ctx)?.to_owned();
        let all = self.visible_instances(&user, None).await?;
        Ok(all
            .iter()
            .filter(|i| f.pass_id(&i.id))
            .map(|i| metric_for(i, false))
            .collect())
    }

    /// The metric of instance `id` with generated samples; `None` for an unknown id. (The
    /// original returned the *first* instance's metric whatever the id; on the seed the common
    /// `metrics/inst0` is unaffected.)
    async fn metric(&self, ctx: &RequestContext, id: &MetricId) -> Result<Option<Metric>> {
        let user = self.authenticate(ctx)?.to_owned();
        let found = self.visible_instances(&user, Some(id.to_string())).await?;
        Ok(found.first().map(|i| metric_for(i, true)))
    }
}
