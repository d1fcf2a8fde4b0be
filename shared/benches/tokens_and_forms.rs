//! Access-token signing and verification, smallcaseAuthToken signing, form parsing and password checking, next to
//! raw HMAC-SHA256 and SHA-256 of the same bytes (the physical limit).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shared::codec::form::Form;
use shared::identity::oauth::access_token::{self, AccessClaims};
use shared::identity::oauth::settings::{OAuthSettings, SigningKey};
use std::hint::black_box;

const KEY: &str = "benchmark-signing-key-benchmark-signing-key";

fn settings() -> OAuthSettings {
    OAuthSettings {
        issuer: "https://api.example.com".into(),
        keys: vec![SigningKey { kid: "k1".into(), secret: KEY.into() }],
        clients: vec![],
    }
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "https://api.example.com".into(),
        sub: "u-0123456789abcdef0123".into(),
        aud: "sber".into(),
        exp: 2_000_000_000,
        iat: 1_795_374_238,
        jti: "0123456789abcdef01234567.abcdefghijklmnop".into(),
        scope: "smarthome".into(),
        client_id: "sber".into(),
    }
}

fn bench(c: &mut Criterion) {
    let settings = settings();
    let token = access_token::sign(&settings, &claims());
    let signing_input = token.rsplit_once('.').unwrap().0.to_owned();
    let mut group = c.benchmark_group("jwt");
    group.throughput(Throughput::Bytes(signing_input.len() as u64));
    group.bench_function("access_token_sign", |b| {
        b.iter(|| access_token::sign(black_box(&settings), black_box(&claims())))
    });
    group.bench_function("access_token_verify", |b| {
        b.iter(|| access_token::verify(black_box(&settings), black_box(&token), &["sber"], 1_795_374_300).unwrap())
    });
    group.bench_function("smallcase_token_sign", |b| {
        b.iter(|| {
            shared::partners::smallcase::auth_token::sign(black_box(KEY), Some("SC_AUTH_ID"), 1_795_374_238, 86_400)
        })
    });
    group.bench_function("raw_hmac_sha256_of_signing_input", |b| {
        b.iter(|| shared::crypto::hmac_sha256(black_box(KEY.as_bytes()), &[black_box(signing_input.as_bytes())]))
    });
    group.finish();

    let register = shared::codec::form::encode([(
        "register",
        r#"{"token":"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0","apiKey":"crm-generated-key-0123456789","systemUrl":"https://demo.retailcrm.ru"}"#,
    )]);
    let oauth = "grant_type=authorization_code&code=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6&redirect_uri=https%3A%2F%2Fgateway.iot.sberdevices.ru%2Fgateway%2Fv1%2Fbinder%2Fbackward&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let mut group = c.benchmark_group("form_parse");
    for (name, body) in [("retailcrm_register", register.as_str()), ("oauth_token", oauth)] {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| b.iter(|| Form::parse(black_box(body.as_bytes())).unwrap()));
        group.bench_function(format!("{name}_raw_sha256"), |b| {
            b.iter(|| shared::crypto::sha256(black_box(body.as_bytes())))
        });
    }
    group.finish();

    let hash = shared::identity::users::password::hash("correct horse battery staple").unwrap();
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.bench_function("argon2id_verify", |b| {
        b.iter(|| shared::identity::users::password::verify(black_box("correct horse battery staple"), Some(&hash)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
