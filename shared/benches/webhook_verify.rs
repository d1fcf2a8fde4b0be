//! Webhook verification per scheme at 1 KiB and 64 KiB, next to raw HMAC-SHA256 and SHA-256 of the same bytes
//! (the physical limit the verifiers are measured against).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shared::partners::webhooks::signing::sign_headers;
use shared::partners::webhooks::{Scheme, SigningKeys, verify};
use std::hint::black_box;

const T: i64 = 1_795_374_238;
const SECRET: &str = "whsec_YmVuY2htYXJrLXNpZ25pbmcta2V5LTMyYnl0ZXMh";

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("webhook_verify");
    for size in [1024usize, 64 * 1024] {
        let body = vec![b'x'; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("raw_hmac_sha256", size), &body, |b, body| {
            b.iter(|| shared::crypto::hmac_sha256(black_box(SECRET.as_bytes()), &[black_box(body)]))
        });
        group.bench_with_input(BenchmarkId::new("raw_sha256", size), &body, |b, body| {
            b.iter(|| shared::crypto::sha256(black_box(body)))
        });
        for scheme in [Scheme::Schurter, Scheme::StandardWebhooks, Scheme::Stripe, Scheme::Github, Scheme::Slack] {
            let headers: http::HeaderMap = sign_headers(scheme, SECRET, &body, T, "msg_bench")
                .unwrap()
                .into_iter()
                .map(|(k, v)| {
                    (http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(), v.parse().unwrap())
                })
                .collect();
            let keys = SigningKeys::new(scheme, &[SECRET.to_owned()]).unwrap();
            group.bench_with_input(BenchmarkId::new(format!("{scheme:?}"), size), &body, |b, body| {
                b.iter(|| verify(scheme, &keys, 300, black_box(&headers), black_box(body), T).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
