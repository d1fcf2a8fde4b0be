//! Cold start per function, as Lambda would see it: each release binary starts against the runtime-API emulator
//! with a deployed function's environment (table and secrets on moto_server), and we time
//! - init: process start until its first `GET /2018-06-01/runtime/invocation/next`,
//! - the first invocation and the fifth (warm),
//! - peak RSS (`VmHWM`) after the fifth,
//!
//! over `RUNS` starts each, next to a bare `lambda_runtime` hello world built with the same profile.
//!
//! Usage: `coldstart BIN_DIR RUNS` (needs `MOTO_ENDPOINT`); prints a Markdown table and writes JSON to stdout's
//! last line prefixed `json:`.

use std::time::{Duration, Instant};
use switchyard_bench::{peak_rss_kb, quantile, seed_sber_link};
use testkit::lambda::runtime::{FunctionProcess, RuntimeApi};

/// Each function with the event it is invoked with (a representative, answered request).
const CASES: [(&str, &str); 8] = [
    ("hello", "config/get.json"),
    ("config", "config/get.json"),
    ("register", "register/bad-token.json"),
    ("user", "user/devices.json"),
    ("ingest", "ingest/sample.json"),
    ("webhook", "webhook/github-signed.json"),
    ("token", "token/authorize-get.json"),
    // A changed latest state of a meter whose owner Sber linked: one state push to a fake Sber on loopback.
    ("notify", "notify/reading.json"),
];

struct Run {
    init_ms: f64,
    first_ms: f64,
    fifth_ms: f64,
    rss_kb: u64,
}

async fn run_once(binary: &str, name: &str, env: &[(String, String)], event: &serde_json::Value) -> Run {
    let runtime = RuntimeApi::start().await;
    let process = FunctionProcess::spawn(binary, &runtime, name, env);
    let polled = runtime.first_poll(Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let init_ms = polled.duration_since(process.started).as_secs_f64() * 1000.0;
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        runtime.invoke(event.clone(), Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let rss_kb = peak_rss_kb(process.child.id());
    process.stop().await;
    Run { init_ms, first_ms: latencies[0], fifth_ms: latencies[4], rss_kb }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bin_dir = args.next().unwrap_or_else(|| "target/release".into());
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let local = testkit::aws::harness::local_secrets();
    let secrets: Vec<(&str, serde_json::Value)> =
        local.as_object().expect("secrets object").iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    // Each function as the default environment's translated template configures it, on a stack of its own.
    let translated = testkit::aws::template::Translated::load("default");
    let api_key = local["sber"]["api_key"].as_str().expect("sber api_key").to_owned();
    let sber = testkit::partners::sber_api::FakeSber::start(&format!("Bearer {api_key}")).await;
    let mut rows = Vec::new();
    let mut baseline = 0.0;
    println!(
        "| function | init median ms | init p90 ms | init / hello | 1st invoke median (p90) ms | 5th invoke median (p90) ms | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, event_file) in CASES {
        let binary = format!("{bin_dir}/{name}");
        let text =
            std::fs::read_to_string(testkit::lambda::sample_requests::events_dir().join(event_file)).expect("event");
        let event: serde_json::Value = serde_json::from_str(&text).expect("event JSON");
        let env = if name == "hello" {
            testkit::aws::moto::aws_env()
        } else if name == "notify" {
            let parameters = [("SberApiUrl", sber.url.as_str())];
            let deployment = testkit::aws::harness::Deployment::create(&translated, name, &secrets, &parameters).await;
            seed_sber_link(&deployment.store, &event).await;
            deployment.process_env()
        } else {
            // The sample smart-me event dates from 2019.
            let parameters = [("SmartMeRetentionDays", "36500")];
            testkit::aws::harness::Deployment::create(&translated, name, &secrets, &parameters).await.process_env()
        };
        let mut results = Vec::new();
        for _ in 0..runs {
            results.push(run_once(&binary, name, &env, &event).await);
        }
        let pick = |f: fn(&Run) -> f64| results.iter().map(f).collect::<Vec<_>>();
        let (init, first, fifth) = (pick(|r| r.init_ms), pick(|r| r.first_ms), pick(|r| r.fifth_ms));
        let init_median = quantile(&init, 0.5);
        if name == "hello" {
            baseline = init_median;
        }
        let rss_mib = results.iter().map(|r| r.rss_kb).max().unwrap_or(0) as f64 / 1024.0;
        println!(
            "| {name} | {:.2} | {:.2} | {:.2}x | {:.2} ({:.2}) | {:.2} ({:.2}) | {:.1} |",
            init_median,
            quantile(&init, 0.9),
            init_median / baseline,
            quantile(&first, 0.5),
            quantile(&first, 0.9),
            quantile(&fifth, 0.5),
            quantile(&fifth, 0.9),
            rss_mib
        );
        rows.push(serde_json::json!({
            "function": name, "runs": runs,
            "init_ms": {"median": init_median, "p90": quantile(&init, 0.9)},
            "init_ratio_to_hello": init_median / baseline,
            "first_invoke_ms": {"median": quantile(&first, 0.5), "p90": quantile(&first, 0.9)},
            "fifth_invoke_ms": {"median": quantile(&fifth, 0.5), "p90": quantile(&fifth, 0.9)},
            "peak_rss_mib": rss_mib,
        }));
    }
    println!("json: {}", serde_json::Value::Array(rows));
}
