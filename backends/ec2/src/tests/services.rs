//! ELB and CloudWatch: answers in the services' own shapes (`member` lists, the
//! `<ErrorResponse>` error document) parsed into the core model, from canned servers.

use super::*;
use crate::client::classify_status;
use deltacloud_core::driver::{LoadBalancers, Metrics};
use deltacloud_core::{ErrorKind, Filter, LoadBalancerId, MetricId};
use deltacloud_testkit::{Fault, FaultServer};

const LBS: &str = r#"<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/">
  <DescribeLoadBalancersResult><LoadBalancerDescriptions><member>
    <LoadBalancerName>web</LoadBalancerName>
    <DNSName>web-1234.us-east-1.elb.amazonaws.com</DNSName>
    <CreatedTime>2026-11-23T05:00:00.000Z</CreatedTime>
    <ListenerDescriptions><member><Listener>
      <Protocol>HTTP</Protocol><LoadBalancerPort>80</LoadBalancerPort><InstancePort>8080</InstancePort>
    </Listener><PolicyNames/></member></ListenerDescriptions>
    <Instances><member><InstanceId>i-1</InstanceId></member><member><InstanceId>i-2</InstanceId></member></Instances>
    <AvailabilityZones><member>us-east-1a</member><member>us-east-1b</member></AvailabilityZones>
  </member></LoadBalancerDescriptions></DescribeLoadBalancersResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</DescribeLoadBalancersResponse>"#;

#[tokio::test]
async fn load_balancers_parse_into_the_model() {
    let s = FaultServer::start(Fault::Status(200, LBS.into())).unwrap();
    let d = driver(Duration::from_secs(2));
    let lbs = d
        .load_balancers(&ctx(&s.base_url()), &Filter::default())
        .await
        .unwrap();
    assert_eq!(lbs.len(), 1);
    let lb = &lbs[0];
    assert_eq!(lb.id, LoadBalancerId::new("web"));
    assert_eq!(lb.realms.len(), 2);
    assert_eq!(lb.instances.len(), 2);
    assert_eq!(lb.listeners[0].instance_port, "8080");
    assert_eq!(
        lb.public_addresses,
        ["web-1234.us-east-1.elb.amazonaws.com"]
    );
}

#[test]
fn service_error_documents_are_classified() {
    let doc = r#"<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/"><Error><Type>Sender</Type><Code>LoadBalancerNotFound</Code><Message>There is no ACTIVE Load Balancer named 'x'</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
    let c = classify_status(400, doc);
    assert_eq!(c.error.kind(), ErrorKind::NotFound);
    assert_eq!(c.code, "LoadBalancerNotFound");
    assert!(c.error.message().contains("no ACTIVE Load Balancer"));
    let doc = r#"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"#;
    assert_eq!(
        classify_status(400, doc).error.kind(),
        ErrorKind::ProviderThrottled
    );
}

#[tokio::test]
async fn a_missing_load_balancer_is_none_in_a_list_and_404_alone() {
    let doc = r#"<ErrorResponse><Error><Type>Sender</Type><Code>LoadBalancerNotFound</Code><Message>nope</Message></Error></ErrorResponse>"#;
    let s = FaultServer::start(Fault::Status(400, doc.into())).unwrap();
    let d = driver(Duration::from_secs(2));
    let lbs = d
        .load_balancers(&ctx(&s.base_url()), &Filter::by_id("nope"))
        .await
        .unwrap();
    assert!(lbs.is_empty());
    let e = d
        .destroy_load_balancer(&ctx(&s.base_url()), &LoadBalancerId::new("nope"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

const METRICS: &str = r#"<ListMetricsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ListMetricsResult><Metrics>
  <member><MetricName>CPUUtilization</MetricName><Namespace>AWS/EC2</Namespace><Dimensions><member><Name>InstanceId</Name><Value>i-1</Value></member></Dimensions></member>
  <member><MetricName>NetworkIn</MetricName><Namespace>AWS/EC2</Namespace><Dimensions><member><Name>InstanceId</Name><Value>i-1</Value></member></Dimensions></member>
  <member><MetricName>CPUUtilization</MetricName><Namespace>AWS/EC2</Namespace><Dimensions><member><Name>InstanceId</Name><Value>i-2</Value></member></Dimensions></member>
  <member><MetricName>CPUUtilization</MetricName><Namespace>AWS/EC2</Namespace><Dimensions><member><Name>ImageId</Name><Value>ami-1</Value></member></Dimensions></member>
</Metrics></ListMetricsResult></ListMetricsResponse>"#;

#[tokio::test]
async fn metrics_are_grouped_by_instance() {
    let s = FaultServer::start(Fault::Status(200, METRICS.into())).unwrap();
    let d = driver(Duration::from_secs(2));
    let ms = d
        .metrics(&ctx(&s.base_url()), &Filter::default())
        .await
        .unwrap();
    let ids: Vec<&str> = ms.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["i-1", "i-2"]);
    let names: Vec<&str> = ms[0].properties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["CPUUtilization", "NetworkIn"]);
    assert!(ms[0].properties.iter().all(|p| p.values.is_none()));
    // An instance CloudWatch knows nothing of has no metric.
    let none = d
        .metric(&ctx(&s.base_url()), &MetricId::new("i-9"))
        .await
        .unwrap();
    assert!(none.is_none());
}
