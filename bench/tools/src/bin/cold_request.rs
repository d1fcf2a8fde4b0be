//! The cold request as Lambda sees it (`scripts/bench --cold`): each function's release binary starts with the
//! event already waiting, in a CPU share like Lambda's for its memory size, and talks to DynamoDB and Secrets
//! Manager over TLS. Measured per start:
//! - init: process start until its first `GET /2018-06-01/runtime/invocation/next`,
//! - first invocation: from there until its answer (the event does the function's real work),
//! - cold request: the two together, what a partner waits for after idle,
//! - the fifth invocation (warm) and peak RSS.
//!
//! Next to the functions, in the same run and the same share, the shapes a user would otherwise deploy:
//! a bare `lambda_runtime` hello (the floor), the naive Rust shape (`bench/naive`) and Python 3.11 with boto3
//! (`bench/python/bootstrap.py`), both doing ingest's first call.
//!
//! The CPU share is a fresh cgroup v1 `cpu` quota per start, proportional to the memory size (Lambda gives one
//! vCPU at 1,769 MB, proportionally less below): `sh` joins the group, and when released `exec`s the function, so
//! the share holds from the first instruction and the join is not timed. AWS is moto_server behind HTTPS fronts,
//! one per service (a cold start opens a connection to each), with an RSA chain shaped like AWS's from a test root
//! that only these processes trust.
//!
//! Usage: `cold_request BIN_DIR RUNS [CASE...]` as root (needs `MOTO_ENDPOINT`); prints a Markdown table and a
//! last line of JSON prefixed `json:`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use switchyard_bench::{peak_rss_kb, quantile, seed_sber_link};
use testkit::lambda::runtime::{FunctionProcess, RuntimeApi};

/// Lambda's memory for one full vCPU.
const MB_PER_VCPU: f64 = 1769.0;
/// The kernel's default CFS period; the quota is the share of it.
const PERIOD_US: u64 = 100_000;
const CGROUP_CPU: &str = "/sys/fs/cgroup/cpu";
/// cgroup v1 mounts the CPU accounting controller apart: the same group there counts the CPU time used.
const CGROUP_CPUACCT: &str = "/sys/fs/cgroup/cpuacct";

/// Who runs, with which event. The functions' events are the ones `scripts/bench`'s warm table uses.
const CASES: [(&str, Shape, &str); 10] = [
    ("hello", Shape::Reference, "config/get.json"),
    ("naive", Shape::Reference, "ingest/sample.json"),
    ("python", Shape::Python, "ingest/sample.json"),
    ("config", Shape::Function, "config/get.json"),
    ("register", Shape::Function, "register/bad-token.json"),
    ("user", Shape::Function, "user/devices.json"),
    ("ingest", Shape::Function, "ingest/sample.json"),
    ("webhook", Shape::Function, "webhook/github-signed.json"),
    ("token", Shape::Function, "token/authorize-get.json"),
    ("notify", Shape::Function, "notify/reading.json"),
];

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// A binary of `bench/`, configured as ingest is.
    Reference,
    /// `bench/python/bootstrap.py` under the test tools' Python 3.11 (it has boto3), configured as ingest is.
    Python,
    /// One of ours, configured by the translated template.
    Function,
}

struct Run {
    /// The first answer's HTTP status (`-` for a stream batch).
    status: Option<u16>,
    init_ms: f64,
    first_ms: f64,
    cold_ms: f64,
    /// CPU time the process had used when it answered (what the quota rations), and time it spent throttled.
    cold_cpu: CpuUse,
    warm_ms: f64,
    rss_kb: u64,
}

/// A fresh cgroup v1 `cpu` group per start, with the quota Lambda's share at `memory_mb` amounts to (a new group
/// starts with its whole quota, as a new sandbox does, whatever the previous start used), and a `cpuacct` group of
/// the same name that counts what the process used. Removed when dropped (the process has exited by then).
struct CpuShare {
    cpu: PathBuf,
    cpuacct: PathBuf,
}

/// CPU used and time spent throttled since the start.
struct CpuUse {
    used_ms: f64,
    throttled_ms: f64,
}

/// The quota per period (microseconds) of Lambda's share at `memory_mb`.
fn quota_us(memory_mb: u64) -> u64 {
    (PERIOD_US as f64 * memory_mb as f64 / MB_PER_VCPU).round() as u64
}

impl CpuShare {
    fn fresh(memory_mb: u64, start: usize) -> Self {
        let name = format!("switchyard-cold-{memory_mb}mb-{}-{start}", std::process::id());
        let (cpu, cpuacct) = (Path::new(CGROUP_CPU).join(&name), Path::new(CGROUP_CPUACCT).join(&name));
        for group in [&cpu, &cpuacct] {
            std::fs::create_dir_all(group).unwrap_or_else(|e| panic!("{}: {e} (run as root)", group.display()));
        }
        // COLD_REQUEST_FULL_CPU=1 lifts the quota (profiling: a profiler inside the share would starve).
        let full = std::env::var_os("COLD_REQUEST_FULL_CPU").is_some();
        let quota = if full { "-1".to_owned() } else { quota_us(memory_mb).to_string() };
        std::fs::write(cpu.join("cpu.cfs_period_us"), PERIOD_US.to_string()).expect("cfs_period_us");
        std::fs::write(cpu.join("cpu.cfs_quota_us"), quota).expect("cfs_quota_us");
        Self { cpu, cpuacct }
    }

    /// `sh` joins the groups, says so, and on the word `exec`s the program (same pid): the clock starts at the
    /// word, so the join (milliseconds of cgroup migration, which Lambda does not charge) is left out.
    fn launcher(&self, then: &[&str]) -> Vec<String> {
        let script = format!(
            "echo $$ > {} && echo $$ > {} && echo ready && read go && exec \"$@\"",
            self.cpu.join("cgroup.procs").display(),
            self.cpuacct.join("cgroup.procs").display()
        );
        let mut launcher = vec!["/bin/sh".to_owned(), "-c".to_owned(), script, "sh".to_owned()];
        launcher.extend(then.iter().map(|s| (*s).to_owned()));
        launcher
    }

    fn used(&self) -> CpuUse {
        let read = |path: PathBuf| std::fs::read_to_string(path).unwrap_or_default();
        let stat = read(self.cpu.join("cpu.stat"));
        let throttled_ns = stat.lines().find_map(|l| l.strip_prefix("throttled_time ")).unwrap_or("0");
        CpuUse {
            used_ms: read(self.cpuacct.join("cpuacct.usage")).trim().parse::<f64>().unwrap_or(0.0) / 1e6,
            throttled_ms: throttled_ns.trim().parse::<f64>().unwrap_or(0.0) / 1e6,
        }
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.cpu);
        let _ = std::fs::remove_dir(&self.cpuacct);
    }
}

/// HTTPS in front of moto, one endpoint per service, and the trust settings each shape reads.
struct TlsAws {
    dynamodb: String,
    secrets_manager: String,
    other: String,
    root_pem: String,
    /// The platform's bundle plus the test root: what the naive shapes load (Lambda's image has one bundle file).
    bundle: PathBuf,
}

impl TlsAws {
    async fn start(work: &Path) -> Self {
        let moto = testkit::aws::moto::endpoint().trim_start_matches("http://").trim_end_matches('/').to_owned();
        let ca = testkit::partners::tls::TestCa::aws_shaped();
        let endpoint = async || {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let url = format!("https://127.0.0.1:{}", listener.local_addr().expect("address").port());
            ca.front(listener, moto.clone());
            url
        };
        let (dynamodb, secrets_manager, other) = (endpoint().await, endpoint().await, endpoint().await);
        let platform = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
        let bundle = work.join("ca-bundle.crt");
        std::fs::write(&bundle, format!("{platform}\n{}", ca.root_pem)).expect("bundle");
        // The fronts' tasks hold their own acceptors: the authority itself is no longer needed.
        Self { dynamodb, secrets_manager, other, root_pem: ca.root_pem, bundle }
    }

    /// `env` with moto's plain endpoint replaced by the TLS ones, and the shape's own way to trust the test root.
    fn apply(&self, env: &mut Vec<(String, String)>, shape: Shape) {
        env.retain(|(name, _)| !name.starts_with("AWS_ENDPOINT_URL"));
        env.push(("AWS_ENDPOINT_URL".into(), self.other.clone()));
        env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), self.dynamodb.clone()));
        env.push(("AWS_ENDPOINT_URL_SECRETS_MANAGER".into(), self.secrets_manager.clone()));
        // Lambda sets both; botocore reads only the second.
        if let Some(region) = env.iter().find(|(name, _)| name == "AWS_REGION").map(|(_, v)| v.clone()) {
            env.push(("AWS_DEFAULT_REGION".into(), region));
        }
        let bundle = self.bundle.display().to_string();
        match shape {
            Shape::Function => env.push((shared::ports::aws::TEST_CA_VAR.into(), self.root_pem.clone())),
            // rustls-native-certs and botocore both read a bundle file named by the environment.
            Shape::Reference => env.push(("SSL_CERT_FILE".into(), bundle)),
            Shape::Python => env.push(("AWS_CA_BUNDLE".into(), bundle)),
        }
    }
}

async fn run_once(
    share: CpuShare,
    then: &[&str],
    program: &str,
    name: &str,
    env: &[(String, String)],
    event: &serde_json::Value,
) -> Run {
    let timeout = Duration::from_secs(120);
    let runtime = RuntimeApi::start().await;
    let mut process = FunctionProcess::spawn_held(&share.launcher(then), program, &runtime, name, env);
    process.release().await.unwrap_or_else(|e| panic!("{name}: {e}"));
    // The event is waiting before the process asks for work, as it is for a cold request.
    let (answer, polled) = tokio::join!(runtime.invoke(event.clone(), timeout), runtime.first_poll(timeout));
    let answered = Instant::now();
    let (polled, answer) = match (polled, answer) {
        (Ok(polled), Ok(answer)) => (polled, answer),
        (Err(e), _) | (_, Err(e)) => panic!("{name}: {e}; its output:\n{}", process.stop().await),
    };
    let answered_ok = match &answer {
        testkit::lambda::runtime::Outcome::Response(_) => answer.status().is_none_or(|status| status < 500),
        testkit::lambda::runtime::Outcome::Error(_) => false,
    };
    assert!(answered_ok, "{name} answered {answer:?}");
    let cold_cpu = share.used();
    // Warm: the fifth invocation of the sandbox.
    for _ in 0..3 {
        runtime.invoke(event.clone(), timeout).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let warm_started = Instant::now();
    runtime.invoke(event.clone(), timeout).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let warm_ms = warm_started.elapsed().as_secs_f64() * 1000.0;
    let rss_kb = peak_rss_kb(process.child.id());
    let started = process.started;
    process.stop().await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Run {
        status: answer.status(),
        init_ms: ms(polled.duration_since(started)),
        first_ms: ms(answered.duration_since(polled)),
        cold_ms: ms(answered.duration_since(started)),
        cold_cpu,
        warm_ms,
        rss_kb,
    }
}

struct Summary {
    name: &'static str,
    memory_mb: u64,
    runs: Vec<Run>,
}

impl Summary {
    fn of(&self, f: fn(&Run) -> f64) -> (f64, f64) {
        let values: Vec<f64> = self.runs.iter().map(f).collect();
        (quantile(&values, 0.5), quantile(&values, 0.9))
    }

    fn cold(&self) -> f64 {
        self.of(|r| r.cold_ms).0
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bin_dir = PathBuf::from(args.next().unwrap_or_else(|| "target/release".into()));
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let only: Vec<String> = args.collect();
    let root = testkit::workspace_root();
    let work = root.join("target/bench/cold");
    std::fs::create_dir_all(&work).expect("target/bench/cold");
    let aws = TlsAws::start(&work).await;

    let local = testkit::aws::harness::local_secrets();
    let secrets: Vec<(&str, serde_json::Value)> =
        local.as_object().expect("secrets object").iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let translated = testkit::aws::template::Translated::load("default");
    let api_key = local["sber"]["api_key"].as_str().expect("sber api_key").to_owned();
    // Sber's partner API over TLS too, on a chain of its own that the function trusts through `SberCaPem`.
    let sber_ca = testkit::partners::tls::TestCa::aws_shaped();
    let sber = testkit::partners::sber_api::start_tls(&format!("Bearer {api_key}"), &sber_ca).await;
    let sber_root = sber_ca.root_pem.replace('\n', " ");
    let python = root.join(".venv/bin/python3").display().to_string();
    // COLD_REQUEST_WRAP (e.g. `perf record -g -o FILE --`) runs each start under a profiler, in the share.
    let wrap = std::env::var("COLD_REQUEST_WRAP").unwrap_or_default();

    let mut summaries = Vec::new();
    for (name, shape, event_file) in CASES {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let text =
            std::fs::read_to_string(testkit::lambda::sample_requests::events_dir().join(event_file)).expect("event");
        let event: serde_json::Value = serde_json::from_str(&text).expect("event JSON");
        // The reference shapes stand in for ingest: same table, secrets and memory.
        let configured_as = if shape == Shape::Function { name } else { "ingest" };
        let parameters: Vec<(&str, &str)> = if name == "notify" {
            vec![("SberApiUrl", sber.url.as_str()), ("SberCaPem", sber_root.as_str())]
        } else {
            // The sample smart-me event dates from 2019.
            vec![("SmartMeRetentionDays", "36500")]
        };
        let deployment =
            testkit::aws::harness::Deployment::create(&translated, configured_as, &secrets, &parameters).await;
        if name == "notify" {
            seed_sber_link(&deployment.store, &event).await;
        }
        let mut env = deployment.process_env();
        aws.apply(&mut env, shape);
        let memory_mb = deployment.spec.memory_mb;
        let mut then: Vec<&str> = wrap.split_whitespace().collect();
        let program = match shape {
            Shape::Python => {
                then.push(python.as_str());
                root.join("bench/python/bootstrap.py").display().to_string()
            }
            // Built by scripts/bench in a target directory of its own (its own workspace and features).
            Shape::Reference if name == "naive" => root.join("target/naive/release/naive").display().to_string(),
            _ => bin_dir.join(name).display().to_string(),
        };
        let mut summary = Summary { name, memory_mb, runs: Vec::new() };
        for start in 0..runs {
            let share = CpuShare::fresh(memory_mb, start);
            summary.runs.push(run_once(share, &then, &program, name, &env, &event).await);
        }
        eprintln!("{name}: cold request median {:.1} ms", summary.cold());
        summaries.push(summary);
    }
    report(&summaries, runs);
}

fn report(summaries: &[Summary], runs: usize) {
    let cold_of = |name: &str| summaries.iter().find(|s| s.name == name).map(Summary::cold);
    let (hello, naive) = (cold_of("hello"), cold_of("naive"));
    let ratio = |value: f64, base: Option<f64>| base.map_or("-".to_owned(), |b| format!("{:.2}x", value / b));
    println!(
        "| shape | first answer | memory (CPU share) | init median (p90) ms | 1st invocation median (p90) ms | cold request median (p90) ms | CPU used (throttled) ms | / hello | / naive Rust | warm median (p90) ms | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for summary in summaries {
        let (cpu, throttled) = (summary.of(|r| r.cold_cpu.used_ms), summary.of(|r| r.cold_cpu.throttled_ms));
        let (init, first, cold, warm) = (
            summary.of(|r| r.init_ms),
            summary.of(|r| r.first_ms),
            summary.of(|r| r.cold_ms),
            summary.of(|r| r.warm_ms),
        );
        let rss_mib = summary.runs.iter().map(|r| r.rss_kb).max().unwrap_or(0) as f64 / 1024.0;
        let percent = quota_us(summary.memory_mb) as f64 * 100.0 / PERIOD_US as f64;
        println!(
            "| {} | {} | {} MB ({percent:.1}%) | {:.1} ({:.1}) | {:.1} ({:.1}) | {:.1} ({:.1}) | {:.1} ({:.0}) | {} | {} | {:.1} ({:.1}) | {rss_mib:.1} |",
            summary.name,
            summary.runs[0].status.map_or("-".to_owned(), |s| s.to_string()),
            summary.memory_mb,
            init.0,
            init.1,
            first.0,
            first.1,
            cold.0,
            cold.1,
            cpu.0,
            throttled.0,
            ratio(cold.0, hello),
            ratio(cold.0, naive),
            warm.0,
            warm.1,
        );
        rows.push(serde_json::json!({
            "shape": summary.name, "runs": runs, "memory_mb": summary.memory_mb,
            "init_ms": {"median": init.0, "p90": init.1},
            "first_invocation_ms": {"median": first.0, "p90": first.1},
            "cold_request_ms": {"median": cold.0, "p90": cold.1},
            "cold_cpu_ms": {"median": cpu.0, "p90": cpu.1},
            "cold_throttled_ms": {"median": throttled.0, "p90": throttled.1},
            "warm_ms": {"median": warm.0, "p90": warm.1},
            "peak_rss_mib": rss_mib,
        }));
    }
    println!("json: {}", serde_json::Value::Array(rows));
}
