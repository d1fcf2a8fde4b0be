//! `scale`: the partition-heat model's tables (see `switchyard_bench::scale`), for BENCHMARKS.md's "Scale".
//!
//! Usage: `scale` (run by `scripts/bench --scale`).

use switchyard_bench::scale::{
    self, DYNAMODB_CALL_MS, Heat, PARTITION_READ_UNITS, PARTITION_WRITE_UNITS, PARTNER_CALL_MS,
};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let paths: Vec<Heat> = vec![
        scale::webhook_one_source(10_000, 2048).await,
        scale::ingest_many_meters(100_000, 10).await,
        scale::sber_queries(5_000).await,
        scale::sber_commands(500).await,
        scale::state_pushes(1_000).await,
        scale::sign_ins(200).await,
    ];
    println!(
        "Per-partition limits: {PARTITION_WRITE_UNITS} write units and {PARTITION_READ_UNITS} read units a second.\n"
    );
    println!(
        "| path | target | one request | hottest partition now (WCU/s, RCU/s) | share of its limit | before | share before | table WCU/s, RCU/s | partitions |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for heat in &paths {
        println!(
            "| {} | {}/s | {} | `{}` ({}, {}) | {:.0}% | `{}` ({}, {}) | {:.0}% | {}, {} | {} |",
            heat.path,
            heat.requests_per_s,
            heat.request,
            heat.hottest.0,
            heat.hottest.1.write,
            heat.hottest.1.read,
            heat.hottest_share() * 100.0,
            heat.hottest_before.0,
            heat.hottest_before.1.write,
            heat.hottest_before.1.read,
            heat.hottest_share_before() * 100.0,
            heat.table.write,
            heat.table.read,
            heat.partitions,
        );
    }
    println!(
        "\nLambda concurrency: the second's warm durations added up (the handlers' time here, plus {DYNAMODB_CALL_MS} ms a \
         DynamoDB call and {PARTNER_CALL_MS} ms a partner call, none overlapping).\n"
    );
    println!(
        "| path | DynamoDB calls/s | partner calls/s | events out/s (PutEvents calls/s) | handlers' time here (ms/s) | Lambda concurrency | $ per million requests (DynamoDB + Lambda + API) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for heat in &paths {
        let partners: Vec<String> = heat.partner_calls.iter().map(|(who, n)| format!("{who}: {n}")).collect();
        println!(
            "| {} | {} | {} | {} ({}) | {:.0} | {:.0} | {:.2} |",
            heat.path,
            heat.store_calls,
            if partners.is_empty() { "none".to_owned() } else { partners.join(", ") },
            heat.events_out.0,
            heat.events_out.1,
            heat.handler_time.as_secs_f64() * 1000.0,
            heat.concurrency(),
            dollars_per_million(heat),
        );
    }
}

/// On-demand prices in us-east-1 (as in "Cost per million requests"): DynamoDB per million write and read units,
/// arm64 Lambda per GB-second and per million invocations, HTTP API per million requests.
const WRITE_UNIT: f64 = 0.625;
const READ_UNIT: f64 = 0.125;
const GB_SECOND: f64 = 0.000_013_333_4;
const INVOCATION: f64 = 0.20;
const API_REQUEST: f64 = 1.00;

/// A million of the path's requests: its units, and its sandboxes' time at their memory (the concurrency
/// estimate's durations), invocations and API requests as the path bills them.
fn dollars_per_million(heat: &Heat) -> f64 {
    let per_request = |n: u64| n as f64 / heat.requests_per_s as f64;
    let dynamodb = per_request(heat.table.write) * WRITE_UNIT + per_request(heat.table.read) * READ_UNIT;
    let memory_gb = f64::from(heat.billing.memory_mb) / 1024.0;
    let seconds_per_request = heat.concurrency() / heat.requests_per_s as f64;
    let billing = heat.billing;
    dynamodb
        + seconds_per_request * memory_gb * GB_SECOND * 1e6
        + billing.invocations * INVOCATION
        + billing.api_requests * API_REQUEST
}
