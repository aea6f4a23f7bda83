//! Metrics over CloudWatch (Query API 2010-08-01, `drivers.md` §5.2): namespace `AWS/EC2`, one
//! metric per `InstanceId` dimension value, whose properties are the metric names CloudWatch
//! lists for it; a metric shown by id carries Minimum / Maximum / Average samples over the last
//! hour (5-minute periods), as the original's driver asked for.

use crate::Ec2Driver;
use crate::client::{CLOUDWATCH, Call, Params};
use crate::endpoint;
use async_trait::async_trait;
use deltacloud_core::driver::Metrics;
use deltacloud_core::{
    Capability, Filter, Metric, MetricId, MetricProperty, MetricSample, RequestContext, Result,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// The metric capabilities this module serves.
pub(crate) const CAPABILITIES: &[Capability] = &[Capability::Metrics];

/// The namespace of instance metrics.
const NAMESPACE: &str = "AWS/EC2";
/// The dimension that names the instance.
const DIMENSION: &str = "InstanceId";
/// How far back samples go, and their period, in seconds.
const WINDOW: i64 = 3600;
const PERIOD: i64 = 300;

#[derive(Debug, Deserialize)]
pub struct Members<T> {
    #[serde(default = "Vec::new")]
    pub member: Vec<T>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Self { member: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMetricsResponse {
    pub list_metrics_result: ListMetricsResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMetricsResult {
    #[serde(default)]
    pub metrics: Members<WireMetric>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireMetric {
    pub metric_name: String,
    #[serde(default)]
    pub dimensions: Members<Dimension>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricStatisticsResponse {
    pub get_metric_statistics_result: GetMetricStatisticsResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricStatisticsResult {
    #[serde(default)]
    pub datapoints: Members<Datapoint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Datapoint {
    pub timestamp: String,
    #[serde(default)]
    pub minimum: Option<f64>,
    #[serde(default)]
    pub maximum: Option<f64>,
    #[serde(default)]
    pub average: Option<f64>,
    #[serde(default)]
    pub unit: Option<String>,
}

/// `2026-11-23T05:00:00Z` (or with fractions / offsets) as Unix seconds; 0 when unreadable.
fn unix_seconds(ts: &str) -> i64 {
    time::OffsetDateTime::parse(ts.trim(), &time::format_description::well_known::Rfc3339)
        .map_or(0, time::OffsetDateTime::unix_timestamp)
}

/// Whole seconds in UTC (`2026-11-23T05:00:00Z`), the form every CloudWatch accepts.
fn iso(t: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

impl Ec2Driver {
    async fn cw<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        action: &str,
        params: Params,
    ) -> Result<T> {
        let creds = ctx.credentials()?;
        let ep = endpoint::resolve_other(self.flavor(), ctx.provider.as_deref(), "mon")?;
        self.client
            .call_service(CLOUDWATCH, &ep, creds, action, params, Call::Read)
            .await
    }

    /// Metric names per instance id, following CloudWatch's pagination.
    async fn metric_names(
        &self,
        ctx: &RequestContext,
        instance: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<String>>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = Params::new().set("Namespace", NAMESPACE);
            params = params.set("Dimensions.member.1.Name", DIMENSION);
            params = params.opt("Dimensions.member.1.Value", instance);
            params = params.opt("NextToken", token.clone());
            let r: ListMetricsResponse = self.cw(ctx, "ListMetrics", params).await?;
            for m in r.list_metrics_result.metrics.member {
                for d in m.dimensions.member.iter().filter(|d| d.name == DIMENSION) {
                    let names = out.entry(d.value.clone()).or_default();
                    if !names.contains(&m.metric_name) {
                        names.push(m.metric_name.clone());
                    }
                }
            }
            match r.list_metrics_result.next_token.filter(|t| !t.is_empty()) {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => break,
            }
        }
        for names in out.values_mut() {
            names.sort();
        }
        Ok(out)
    }

    async fn samples(
        &self,
        ctx: &RequestContext,
        instance: &str,
        name: &str,
    ) -> Result<Vec<MetricSample>> {
        let now = time::OffsetDateTime::now_utc();
        let params = Params::new()
            .set("Namespace", NAMESPACE)
            .set("MetricName", name)
            .set("Dimensions.member.1.Name", DIMENSION)
            .set("Dimensions.member.1.Value", instance)
            .set("StartTime", iso(now - time::Duration::seconds(WINDOW)))
            // Whole seconds round down: a margin keeps the newest samples in the window.
            .set("EndTime", iso(now + time::Duration::seconds(60)))
            .set("Period", PERIOD.to_string())
            .list("Statistics.member", &["Minimum", "Maximum", "Average"]);
        let r: GetMetricStatisticsResponse = self.cw(ctx, "GetMetricStatistics", params).await?;
        let mut samples: Vec<MetricSample> = r
            .get_metric_statistics_result
            .datapoints
            .member
            .into_iter()
            .map(|d| MetricSample {
                minimum: d.minimum.unwrap_or_default(),
                maximum: d.maximum.unwrap_or_default(),
                average: d.average.unwrap_or_default(),
                timestamp: unix_seconds(&d.timestamp),
                unit: d.unit.unwrap_or_else(|| "None".to_owned()),
            })
            .collect();
        // Newest first, as the mock and the original list them.
        samples.sort_by_key(|s| std::cmp::Reverse(s.timestamp));
        Ok(samples)
    }
}

#[async_trait]
impl Metrics for Ec2Driver {
    async fn metrics(&self, ctx: &RequestContext, f: &Filter) -> Result<Vec<Metric>> {
        let names = self.metric_names(ctx, None).await?;
        Ok(names
            .into_iter()
            .filter(|(id, _)| f.pass_id(id))
            .map(|(id, names)| Metric {
                id: MetricId::new(id.clone()),
                entity: id,
                properties: names
                    .into_iter()
                    .map(|name| MetricProperty { name, values: None })
                    .collect(),
            })
            .collect())
    }

    async fn metric(&self, ctx: &RequestContext, id: &MetricId) -> Result<Option<Metric>> {
        let names = self.metric_names(ctx, Some(id.as_str())).await?;
        let Some(names) = names.get(id.as_str()) else {
            return Ok(None);
        };
        let mut properties = Vec::with_capacity(names.len());
        for name in names {
            properties.push(MetricProperty {
                name: name.clone(),
                values: Some(self.samples(ctx, id.as_str(), name).await?),
            });
        }
        Ok(Some(Metric {
            id: id.clone(),
            entity: id.to_string(),
            properties,
        }))
    }
}
