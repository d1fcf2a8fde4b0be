//! Decoding smart-me realtime posts: the official 92-byte sample and a 1000-item array (10 values each).
//! Throughput is reported in bytes/s by criterion; items/s = bytes/s / (bytes per item).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use shared::partners::smartme::proto::{DeviceData, DeviceDataArray, DeviceValue};
use shared::partners::smartme::{UtcTicks, bcl::uuid_to_guid, decode};
use std::hint::black_box;

fn large_post(items: usize) -> Vec<u8> {
    let codes: [[u8; 6]; 10] = [
        [1, 0, 1, 8, 0, 255],
        [1, 0, 2, 8, 0, 255],
        [1, 0, 1, 7, 0, 255],
        [1, 0, 2, 7, 0, 255],
        [1, 0, 31, 7, 0, 255],
        [1, 0, 51, 7, 0, 255],
        [1, 0, 71, 7, 0, 255],
        [1, 0, 32, 7, 0, 255],
        [1, 0, 52, 7, 0, 255],
        [1, 0, 72, 7, 0, 255],
    ];
    let device_data_items = (0..items)
        .map(|i| DeviceData {
            device_id: uuid_to_guid(uuid::Uuid::from_u128(0x1000 + (i as u128 % 50))),
            date_time: UtcTicks(17_000_000_000_000_000 + i as i64 * 10_000_000).to_bcl(),
            device_values: codes.iter().map(|c| DeviceValue { obis: c.to_vec(), value: i as f64 * 1.5 }).collect(),
        })
        .collect();
    DeviceDataArray { device_data_items }.encode_to_vec()
}

fn bench(c: &mut Criterion) {
    let sample = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/smartme/sample.bin"))
        .expect("the official sample in testdata/smartme");
    let mut group = c.benchmark_group("smartme_decode");
    group.throughput(Throughput::Bytes(sample.len() as u64));
    group.bench_function("sample_92B", |b| b.iter(|| decode(black_box(&sample)).unwrap()));
    let post = large_post(1000);
    group.throughput(Throughput::Bytes(post.len() as u64));
    group.bench_function("1000_items", |b| b.iter(|| decode(black_box(&post)).unwrap()));
    group.finish();
    let mut items = c.benchmark_group("smartme_decode_items");
    items.throughput(Throughput::Elements(1000));
    items.bench_function("1000_items", |b| b.iter(|| decode(black_box(&post)).unwrap()));
    items.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
