//! The partition-heat model's verdicts (deterministic: generated traffic, no timing): at its target rate no path
//! puts more than half of DynamoDB's per-partition limit on any one partition, and each path makes the partner
//! and EventBridge calls its traffic implies, no more.

use switchyard_bench::scale::{self, EVENTBRIDGE, SBER, SMARTME};

#[tokio::test]
async fn ten_thousand_deliveries_a_second_from_one_source_heat_no_partition_past_half() {
    let heat = scale::webhook_one_source(10_000, 2048).await;
    assert!(heat.hottest_share() <= 0.5, "{heat:?}");
    // The layout before sharding put the whole second in one partition, many times its limit.
    assert!(heat.hottest_share_before() > 10.0, "{heat:?}");
    assert!(heat.hottest.0.starts_with("WHEVT#github#") || heat.hottest.0.starts_with("WHID#"), "{heat:?}");
    // One event out per delivery, ten to a PutEvents call.
    assert_eq!(heat.events_out, (10_000, 1_000), "{heat:?}");
    assert_eq!(heat.partner_calls.get(EVENTBRIDGE), Some(&1_000));
}

#[tokio::test]
async fn a_hundred_thousand_readings_a_second_over_as_many_meters_heat_no_partition_past_half() {
    let heat = scale::ingest_many_meters(100_000, 10).await;
    assert!(heat.hottest_share() <= 0.5, "{heat:?}");
    assert_eq!(heat.requests_per_s, 10_000);
    assert!(heat.partitions >= 100_000, "every meter its own partition: {heat:?}");
    // One "Meter Readings Stored" event per meter and post: EventBridge's default PutEvents quota in us-east-1
    // (10,000 calls a second) is what this rate reaches first.
    assert_eq!(heat.events_out, (100_000, 10_000), "{heat:?}");
}

#[tokio::test]
async fn five_thousand_sber_queries_and_a_thousand_state_pushes_a_second_heat_no_partition_past_half() {
    let queries = scale::sber_queries(5_000).await;
    assert!(queries.hottest_share() <= 0.5, "{queries:?}");
    assert!(queries.partner_calls.is_empty(), "a query is answered from the table: {queries:?}");
    let pushes = scale::state_pushes(1_000).await;
    assert!(pushes.hottest_share() <= 0.5, "{pushes:?}");
    // Each push reads its own meter's and user's partitions: nothing shared by all.
    assert!(pushes.partitions >= 1_000, "{pushes:?}");
    assert_eq!(pushes.partner_calls.get(SBER), Some(&1_000), "one state push per changed meter: {pushes:?}");
}

#[tokio::test]
async fn five_hundred_sber_commands_a_second_heat_no_partition_past_half() {
    let heat = scale::sber_commands(500).await;
    assert!(heat.hottest_share() <= 0.5, "{heat:?}");
    assert_eq!(heat.partner_calls.get(SMARTME), Some(&500), "{heat:?}");
}

#[tokio::test]
async fn two_hundred_sign_ins_a_second_heat_no_partition_past_half() {
    let heat = scale::sign_ins(200).await;
    assert!(heat.hottest_share() <= 0.5, "{heat:?}");
    assert_eq!(heat.requests_per_s, 200);
}
