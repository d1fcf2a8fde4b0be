//! `scale`: the partition-heat model's table (see `switchyard_bench::scale`), for BENCHMARKS.md's "Scale".
//!
//! Usage: `scale` (run by `scripts/bench --scale`).

use switchyard_bench::scale::{self, Heat, PARTITION_READ_UNITS, PARTITION_WRITE_UNITS};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let paths: Vec<Heat> = vec![
        scale::webhook_one_source(10_000, 2048).await,
        scale::ingest_many_meters(100_000, 10).await,
        scale::sber_queries(5_000).await,
        scale::state_pushes(1_000).await,
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
}
