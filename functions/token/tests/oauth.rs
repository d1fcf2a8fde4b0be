//! The OAuth 2.0 authorization server as a client drives it (authorize form, credentials, redirect, code exchange
//! with PKCE, refresh, reuse detection), every RFC 6749 error case, and access-token verification failures, on the
//! embedded store and on DynamoDB and Secrets Manager (moto).

mod common;

use common::*;
use lambda_http::http::StatusCode;
use serde_json::json;
use shared::identity::oauth::{AccessVerifier, TokenError};

async fn linking_flow_as_a_client_drives_it(backend: Backend) {
    let stack = stack(backend).await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let query = authorize_query("sber", SBER_REDIRECT, "smarthome", "xyz-state", Some(verifier));
    let response = stack.call(get(&format!("/oauth/authorize?{query}"))).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'self' https://gateway.iot.sberdevices.ru")
    );
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Secure"));
    // `__Host-`: only with Secure, Path=/ and no Domain, so no sibling site can set or shadow it.
    assert!(cookie.starts_with("__Host-switchyard_csrf=") && cookie.contains("Path=/;") && !cookie.contains("Domain"));
    let page = LoginPage::read(response);
    assert!(page.html.contains("name=\"username\"") && page.html.contains("name=\"password\""));
    assert!(page.html.contains("<label for=\"username\">") && page.html.contains("<label for=\"password\">"));
    assert_eq!(page.hidden("state"), Some("xyz-state"));
    assert_eq!(page.hidden("code_challenge_method"), Some("S256"));

    let response = stack.call(page.submit(LOGIN, PASSWORD)).await;
    assert_eq!(response.status(), 302);
    let code = code_from(&response, SBER_REDIRECT, "xyz-state");

    let (status, body, headers) = stack
        .token(
            &form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", SBER_REDIRECT),
                ("code_verifier", verifier),
            ]),
            Some(SBER),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "smarthome");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // Decoded and checked with an independent HS256 implementation, not the code under test.
    let (header, claims) = decode_hs256(&access, K2).expect("signed with the first key");
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["kid"], "k2");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], stack.user_id.as_str());
    assert_eq!(claims["aud"], "sber");
    assert_eq!(claims["client_id"], "sber");
    assert_eq!(claims["scope"], "smarthome");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() > 10));
    assert_eq!(stack.verify(&access, "sber").await, Ok(stack.user_id.clone()));
    assert!(stack.is_linked("sber").await);

    // Refresh rotates: the new pair works, the old refresh token is spent.
    let (status, refreshed, _) =
        stack.token(&form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]), Some(SBER)).await;
    assert_eq!(status, 200, "{refreshed}");
    let refresh2 = refreshed["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    let access2 = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(stack.verify(&access2, "sber").await, Ok(stack.user_id.clone()));

    // Reusing the rotated token is theft: the whole family dies, including the newest tokens.
    let (status, reused, _) =
        stack.token(&form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]), Some(SBER)).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")));
    assert!(reused["error_description"].as_str().unwrap().contains("already used"));
    let (status, after, _) =
        stack.token(&form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh2)]), Some(SBER)).await;
    assert_eq!((status, after["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(stack.verify(&access2, "sber").await, Err(TokenError::Revoked));
    assert_eq!(stack.verify(&access, "sber").await, Err(TokenError::Revoked));
}

/// Sber retries a refresh whose answer it lost with the same refresh token: within the grace period it gets a valid
/// pair and the linking survives (retried again, too); the same token presented after the grace period is a reuse
/// that revokes the linking, as with strict rotation.
async fn a_refresh_retried_within_the_grace_period_keeps_the_linking(backend: Backend) {
    let mut stack = stack(backend).await;
    stack.time.freeze();
    stack.function = function_with(&stack.deps, &stack.gateway, &[("OAUTH_REFRESH_GRACE_S", "60")]);
    let refresh = |token: &str| form(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
    let linked = stack.link("sber", "smarthome").await;
    let first = linked["refresh_token"].as_str().unwrap().to_owned();
    let (status, lost, _) = stack.token(&refresh(&first), Some(SBER)).await;
    assert_eq!(status, 200, "{lost}");
    stack.time.advance(5);
    let (status, retried, _) = stack.token(&refresh(&first), Some(SBER)).await;
    assert_eq!(status, 200, "a retry within the grace period: {retried}");
    let newest = retried["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(newest, lost["refresh_token"].as_str().unwrap());
    let access = retried["access_token"].as_str().unwrap();
    assert_eq!(stack.verify(access, "sber").await, Ok(stack.user_id.clone()));
    let (status, again, _) = stack.token(&refresh(&first), Some(SBER)).await;
    assert_eq!(status, 200, "retried twice: {again}");
    let newest = again["refresh_token"].as_str().unwrap().to_owned();
    // The linking lives on: its newest token rotates as usual.
    let (status, next, _) = stack.token(&refresh(&newest), Some(SBER)).await;
    assert_eq!(status, 200, "{next}");
    let access = next["access_token"].as_str().unwrap().to_owned();
    assert!(stack.is_linked("sber").await);
    // Another client presenting it is refused, and revokes nothing.
    let (status, foreign, _) = stack.token(&refresh(&first), Some(OTHER_SBER)).await;
    assert_eq!((status, foreign["error"].as_str()), (400, Some("invalid_grant")), "{foreign}");
    assert_eq!(stack.verify(&access, "sber").await, Ok(stack.user_id.clone()));
    // After the grace period the first token is a reuse: the whole linking is revoked.
    stack.time.advance(60);
    let (status, reused, _) = stack.token(&refresh(&first), Some(SBER)).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")), "{reused}");
    assert!(reused["error_description"].as_str().unwrap().contains("already used"));
    assert_eq!(stack.verify(&access, "sber").await, Err(TokenError::Revoked));
    let (status, _, _) = stack.token(&refresh(next["refresh_token"].as_str().unwrap()), Some(SBER)).await;
    assert_eq!(status, 400, "and its newest refresh token with it");
}

async fn a_reused_code_fails_and_revokes_what_it_issued(backend: Backend) {
    let stack = stack(backend).await;
    let code = stack.code_for("sber", SBER_REDIRECT, None).await;
    let exchange = form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SBER_REDIRECT)]);
    let (status, first, _) = stack.token(&exchange, Some(SBER)).await;
    assert_eq!(status, 200, "{first}");
    let (status, second, _) = stack.token(&exchange, Some(SBER)).await;
    assert_eq!((status, second["error"].as_str()), (400, Some("invalid_grant")));
    assert!(second["error_description"].as_str().unwrap().contains("revoked"));
    assert_eq!(stack.verify(first["access_token"].as_str().unwrap(), "sber").await, Err(TokenError::Revoked));
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, _, _) =
        stack.token(&form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]), Some(SBER)).await;
    assert_eq!(status, 400);
}

async fn every_token_endpoint_error(backend: Backend) {
    let stack = stack(backend).await;
    let verifier = "a".repeat(43);
    let code = stack.code_for("sber", SBER_REDIRECT, Some(&verifier)).await;
    let exchange = |extra: &[(&str, &str)]| {
        let mut pairs =
            vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", SBER_REDIRECT)];
        pairs.extend_from_slice(extra);
        form(&pairs)
    };
    let wrong_secret = ("sber", "not-the-secret");
    type Case<'a> = (String, Option<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (exchange(&[("code_verifier", &"b".repeat(43))]), Some(SBER), 400, "invalid_grant"),
        (exchange(&[]), Some(SBER), 400, "invalid_grant"),
        (exchange(&[("code_verifier", "short")]), Some(SBER), 400, "invalid_grant"),
        (
            form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://gateway-ift-le.iot.pd.sberdevices.ru/"),
                ("code_verifier", &verifier),
            ]),
            Some(SBER),
            400,
            "invalid_grant",
        ),
        (
            form(&[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", &verifier)]),
            Some(SBER),
            400,
            "invalid_request",
        ),
        (
            form(&[("grant_type", "authorization_code"), ("redirect_uri", SBER_REDIRECT)]),
            Some(SBER),
            400,
            "invalid_request",
        ),
        (
            form(&[("grant_type", "authorization_code"), ("code", "made-up"), ("redirect_uri", SBER_REDIRECT)]),
            Some(SBER),
            400,
            "invalid_grant",
        ),
        (exchange(&[("code_verifier", &verifier)]), Some(wrong_secret), 401, "invalid_client"),
        (exchange(&[("code_verifier", &verifier)]), None, 401, "invalid_client"),
        (exchange(&[("code_verifier", &verifier), ("client_secret", SBER.1)]), Some(SBER), 400, "invalid_request"),
        (exchange(&[("code_verifier", &verifier), ("code_verifier", &verifier)]), Some(SBER), 400, "invalid_request"),
        (form(&[("code", &code)]), Some(SBER), 400, "invalid_request"),
        (
            form(&[("grant_type", "password"), ("username", LOGIN), ("password", PASSWORD)]),
            Some(SBER),
            400,
            "unsupported_grant_type",
        ),
        (form(&[("grant_type", "client_credentials")]), Some(SBER), 400, "unsupported_grant_type"),
        (form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]), Some(NARROW), 400, "unauthorized_client"),
        (form(&[("grant_type", "refresh_token")]), Some(SBER), 400, "invalid_request"),
        (form(&[("grant_type", "refresh_token"), ("refresh_token", "never-issued")]), Some(SBER), 400, "invalid_grant"),
    ];
    for (body, client, status, error) in cases {
        let (got, answer, headers) = stack.token(&body, client).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(error)), "{body}: {answer}");
        assert!(answer["error_description"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(!answer.to_string().contains(SBER.1), "no secret in errors");
        if status == 401 {
            assert_eq!(headers["www-authenticate"], "Basic realm=\"switchyard\"");
        }
    }
    // The code survived every failed attempt and still works once, with the right verifier.
    let (status, ok, _) = stack.token(&exchange(&[("code_verifier", &verifier)]), Some(SBER)).await;
    assert_eq!(status, 200, "{ok}");

    // Other content types are refused before anything else.
    let mut request = post("/oauth/token", "grant_type=refresh_token&refresh_token=x", "application/json");
    request.headers_mut().insert("authorization", basic(SBER).parse().unwrap());
    let response = stack.call(request).await;
    assert_eq!(response.status(), 400);
    assert_eq!(json_of(response)["error"], "invalid_request");
}

async fn codes_expire_and_belong_to_their_client(backend: Backend) {
    let stack = stack(backend).await;
    let code = stack.code_for("sber", SBER_REDIRECT, None).await;
    let exchange = form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SBER_REDIRECT)]);
    let (status, answer, _) = stack.token(&exchange, Some(OTHER_SBER)).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_grant")), "another client's code");
    stack.time.advance(61);
    let (status, answer, _) = stack.token(&exchange, Some(SBER)).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_grant")), "expired after 60 s");
    assert!(!stack.is_linked("sber").await);
}

async fn refresh_scope_can_narrow_but_not_widen(backend: Backend) {
    let stack = stack(backend).await;
    let tokens = stack.link("sber", "smarthome devices").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, wider, _) = stack
        .token(
            &form(&[("grant_type", "refresh_token"), ("refresh_token", refresh), ("scope", "smarthome admin")]),
            Some(SBER),
        )
        .await;
    assert_eq!((status, wider["error"].as_str()), (400, Some("invalid_scope")));
    let (status, narrower, _) = stack
        .token(&form(&[("grant_type", "refresh_token"), ("refresh_token", refresh), ("scope", "devices")]), Some(SBER))
        .await;
    assert_eq!(status, 200, "{narrower}");
    assert_eq!(narrower["scope"], "devices");
    // The rotated refresh token keeps the full grant.
    let next = narrower["refresh_token"].as_str().unwrap();
    let (status, full, _) =
        stack.token(&form(&[("grant_type", "refresh_token"), ("refresh_token", next)]), Some(SBER)).await;
    assert_eq!((status, full["scope"].as_str()), (200, Some("smarthome devices")));
}

async fn refresh_tokens_outlive_access_tokens(backend: Backend) {
    let stack = stack(backend).await;
    let tokens = stack.link("sber", "smarthome").await;
    let access = tokens["access_token"].as_str().unwrap();
    stack.time.advance(3600);
    assert_eq!(stack.verify(access, "sber").await, Err(TokenError::Expired));
    stack.time.advance(4 * 3600 - 10);
    let (status, refreshed, _) = stack
        .token(
            &form(&[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]),
            Some(SBER),
        )
        .await;
    assert_eq!(status, 200, "five times the access lifetime: {refreshed}");
}

async fn access_token_verification_failures(backend: Backend) {
    let stack = stack(backend).await;
    let tokens = stack.link("sber", "smarthome").await;
    let access = tokens["access_token"].as_str().unwrap();
    let (_, claims) = decode_hs256(access, K2).unwrap();
    assert_eq!(stack.verify(access, "smallcase").await, Err(TokenError::WrongAudience));
    // One character in the middle of the signature (the last one may carry padding bits only).
    let mut tampered: Vec<char> = access.chars().collect();
    let middle = tampered.len() - 10;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    assert_eq!(stack.verify(&tampered, "sber").await, Err(TokenError::BadSignature));
    // Signed independently: by the previous key (rotation keeps it valid), by an unknown kid, by a known kid with
    // the wrong key, by someone else's issuer.
    assert_eq!(stack.verify(&sign_hs256("k1", K1, &claims), "sber").await, Ok(stack.user_id.clone()));
    assert_eq!(stack.verify(&sign_hs256("k9", K1, &claims), "sber").await, Err(TokenError::UnknownKey));
    assert_eq!(stack.verify(&sign_hs256("k1", K2, &claims), "sber").await, Err(TokenError::BadSignature));
    let mut foreign = claims.clone();
    foreign["iss"] = json!("https://evil.example.com");
    assert_eq!(stack.verify(&sign_hs256("k2", K2, &foreign), "sber").await, Err(TokenError::WrongIssuer));
    let mut forged_family = claims.clone();
    forged_family["jti"] = json!("nofamily.x");
    assert_eq!(stack.verify(&sign_hs256("k2", K2, &forged_family), "sber").await, Err(TokenError::Revoked));
    assert_eq!(stack.verify("garbage", "sber").await, Err(TokenError::Malformed));
    stack.time.advance(3600);
    assert_eq!(stack.verify(access, "sber").await, Err(TokenError::Expired));
}

async fn authorization_request_errors(backend: Backend) {
    let stack = stack(backend).await;
    // Untrusted client or redirect URI: an error page, never a redirect.
    for query in [
        authorize_query("nobody", SBER_REDIRECT, "smarthome", "s", None),
        authorize_query("sber", "https://evil.example.com/cb", "smarthome", "s", None),
        authorize_query("sber", &format!("{SBER_REDIRECT}/extra"), "smarthome", "s", None),
        "response_type=code&state=s".to_owned(),
    ] {
        let response = stack.call(get(&format!("/oauth/authorize?{query}"))).await;
        assert_eq!(response.status(), 400, "{query}");
        assert!(response.headers().get("location").is_none());
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
        assert!(body_text(response).contains("role=\"alert\""));
    }
    // A known client: the error goes back to it, with state.
    for (query, error) in [
        (
            authorize_query("sber", SBER_REDIRECT, "smarthome", "s", None)
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (authorize_query("sber", SBER_REDIRECT, "everything", "s", None), "invalid_scope"),
        (authorize_query("sber", SBER_REDIRECT, "smarthome", "", None), "invalid_request"),
        (authorize_query("app", APP_REDIRECT, "smallcase", "s", None), "invalid_request"),
        (
            format!(
                "{}&code_challenge_method=plain",
                authorize_query("sber", SBER_REDIRECT, "smarthome", "s", Some(&"v".repeat(43)))
            )
            .replace("&code_challenge_method=S256", ""),
            "invalid_request",
        ),
    ] {
        let response = stack.call(get(&format!("/oauth/authorize?{query}"))).await;
        assert_eq!(response.status(), 302, "{query}");
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let pairs: std::collections::HashMap<String, String> = location.query_pairs().into_owned().collect();
        assert_eq!(pairs.get("error").map(String::as_str), Some(error), "{query}");
        assert!(!pairs.contains_key("code"));
    }
}

async fn wrong_credentials_rerender_and_failures_are_throttled(backend: Backend) {
    let stack = stack(backend).await;
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    for (login, password) in [(LOGIN, "wrong-password"), ("nobody", PASSWORD), ("  ALICE ", "wrong-again")] {
        let response = stack.call(page.submit(login, password)).await;
        assert_eq!(response.status(), 200, "{login}");
        assert!(response.headers().get("location").is_none());
        let again = LoginPage::read(response);
        assert!(again.html.contains("The login or password is incorrect."), "one message for every failure");
        assert!(again.html.contains("role=\"alert\""));
        assert!(!again.html.contains(password), "the password is never echoed");
        assert_eq!(again.hidden("state"), page.hidden("state"));
    }
    // Three more failures make five for `alice` in this window: then even the right password is refused.
    for _ in 0..3 {
        stack.call(page.submit(LOGIN, "still-wrong")).await;
    }
    let response = stack.call(page.submit("Alice", PASSWORD)).await;
    assert_eq!(response.status(), 429);
    assert!(body_text(response).contains("Too many failed sign-ins"));
    // Other logins are not affected; the count clears once two windows have passed (no window-length span ever
    // holds more than five attempts).
    stack.time.advance(2 * 900);
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    let response = stack.call(page.submit(LOGIN, PASSWORD)).await;
    assert_eq!(response.status(), 302);
}

/// The reported race: 40 concurrent wrong passwords for one login. Each attempt is reserved before its password
/// is hashed, so exactly five are checked (answered "incorrect"); the others are refused (429) unhashed.
async fn concurrent_attempts_cannot_overtake_the_throttle(backend: Backend) {
    let stack = std::sync::Arc::new(stack(backend).await);
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    let mut attempts = tokio::task::JoinSet::new();
    for n in 0..40 {
        let (stack, request) = (stack.clone(), page.submit(LOGIN, &format!("wrong-password-{n}")));
        attempts.spawn(async move { stack.call(request).await.status().as_u16() });
    }
    let statuses = attempts.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (5, 35), "{statuses:?}");
}

/// Five failures just before a window ends leave no fresh allowance just after it: the boundary does not double
/// the limit.
async fn a_window_boundary_does_not_double_the_allowance(backend: Backend) {
    let stack = stack(backend).await;
    let to_boundary = 900 - stack.time.now().rem_euclid(900) - 2;
    stack.time.advance(to_boundary);
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    for _ in 0..5 {
        assert_eq!(stack.call(page.submit(LOGIN, "wrong-password")).await.status(), 200);
    }
    stack.time.advance(4);
    assert_eq!(stack.call(page.submit(LOGIN, PASSWORD)).await.status(), 429, "just after the boundary");
    stack.time.advance(600);
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    assert_eq!(stack.call(page.submit(LOGIN, PASSWORD)).await.status(), 429, "10 minutes later, still refused");
    stack.time.advance(300);
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    assert_eq!(stack.call(page.submit(LOGIN, PASSWORD)).await.status(), 302, "the five failures are a window old");
    // A successful sign-in gives its reservation back: five more failures are allowed after it.
    for _ in 0..4 {
        assert_eq!(stack.call(page.submit(LOGIN, "wrong-password")).await.status(), 200);
    }
    assert_eq!(stack.call(page.submit(LOGIN, PASSWORD)).await.status(), 302, "four failures and a success");
}

/// Concurrent attempts straddling a window boundary: one whose clock was read just before it reserves after five
/// failures of the next window were counted. It sees them, so no window-length span holds six checks (the
/// flaky run of `concurrent_attempts_cannot_overtake_the_throttle` at 16:30:00 was this).
async fn a_late_attempt_from_before_the_boundary_still_counts(backend: Backend) {
    let stack = stack(backend).await;
    stack.time.advance(900 - stack.time.now().rem_euclid(900) + 1);
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    for _ in 0..5 {
        assert_eq!(stack.call(page.submit(LOGIN, "wrong-password")).await.status(), 200);
    }
    stack.time.advance(-3);
    assert_eq!(stack.call(page.submit(LOGIN, PASSWORD)).await.status(), 429, "two seconds before the boundary");
}

/// Known and unknown logins cost the same store reads and writes (the bill and the timing do not tell which
/// logins exist).
async fn known_and_unknown_logins_cost_the_same(backend: Backend) {
    let stack = stack(backend).await;
    let counting = std::sync::Arc::new(testkit::aws::capacity::CountingStore::new(stack.deps.store.clone()));
    let deps = shared::Deps { store: counting.clone(), ..stack.deps.clone() };
    let vars = shared::env::Vars::from_pairs([("SWITCHYARD_PUBLIC_URL", "https://api.switchyard.test")]);
    let function = switchyard_token::TokenFunction::new(deps, &vars).unwrap();
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    let mut costs = Vec::new();
    for login in [LOGIN, "nobody-by-that-name"] {
        counting.take();
        let response = shared::edge::handler::Handler::handle(&function, page.submit(login, "wrong-password")).await;
        assert_eq!(response.status(), 200);
        let (reads, writes, calls) = counting.take();
        costs.push((reads, writes, calls));
    }
    assert_eq!(costs[0], costs[1], "known vs unknown login");
}

/// A sandbox hashes at most its budget: beyond it, sign-ins are refused (429, Retry-After: the caller's burst, not an
/// outage) before any hashing, whatever the logins.
async fn a_sandbox_hashes_within_its_budget(backend: Backend) {
    let stack = stack(backend).await;
    let vars = shared::env::Vars::from_pairs([
        ("SWITCHYARD_PUBLIC_URL", "https://api.switchyard.test"),
        ("OAUTH_HASHES_PER_MINUTE", "1"),
        ("OAUTH_HASH_BURST", "3"),
    ]);
    let function = std::sync::Arc::new(switchyard_token::TokenFunction::new(stack.deps.clone(), &vars).unwrap());
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    let mut attempts = tokio::task::JoinSet::new();
    for n in 0..10 {
        let (function, request) = (function.clone(), page.submit(&format!("login-{n}"), "wrong-password"));
        attempts.spawn(async move {
            let response = shared::edge::handler::Handler::handle(function.as_ref(), request).await;
            (response.status().as_u16(), response.headers().get("retry-after").is_some())
        });
    }
    let answers = attempts.join_all().await;
    assert_eq!(answers.iter().filter(|a| a.0 == 200).count(), 3, "{answers:?}");
    assert!(answers.iter().filter(|a| a.0 != 200).all(|a| *a == (429, true)), "{answers:?}");
}

/// An anonymous burst of wrong sign-ins never makes a 5xx (which pages the operator and rolls back a canary): a
/// locked login is refused by its throttle before any hashing budget is spent, so another user still signs in; a
/// burst of other logins spends the budget and is answered 429; a login too long to exist is wrong without any store
/// call.
async fn a_burst_of_wrong_sign_ins_makes_no_5xx(backend: Backend) {
    let stack = stack(backend).await;
    shared::identity::users::Users::new(stack.admin.as_ref())
        .add("bob", "bob's own password", stack.time.now())
        .await
        .unwrap();
    testkit::assertions::leaks::fixture_secrets(["bob's own password"]);
    let function =
        function_with(&stack.deps, &stack.gateway, &[("OAUTH_HASHES_PER_MINUTE", "1"), ("OAUTH_HASH_BURST", "6")]);
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    let send = |login: String, password: &'static str| {
        let request = page.submit(&login, password);
        let function = &function;
        async move { shared::edge::handler::Handler::handle(function, request).await.status().as_u16() }
    };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(send(LOGIN.to_owned(), "wrong-password").await);
    }
    assert_eq!(statuses, [200; 5], "five wrong passwords spend five hashes");
    for _ in 0..20 {
        assert_eq!(send(LOGIN.to_owned(), "wrong-password").await, 429, "locked: refused before hashing");
    }
    assert_eq!(send("bob".to_owned(), "bob's own password").await, 302, "the budget's last hash is bob's");
    for n in 0..10 {
        statuses.push(send(format!("nobody-{n}"), "wrong-password").await);
    }
    statuses.push(send("x".repeat(10_000), "wrong-password").await);
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
    assert!(statuses.contains(&429), "the spent budget is a 429: {statuses:?}");
    assert_eq!(*statuses.last().unwrap(), 200, "a login too long to exist is simply wrong");
}

async fn the_form_needs_its_csrf_pair(backend: Backend) {
    let stack = stack(backend).await;
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    let other = stack.login_page("sber", SBER_REDIRECT, None).await;
    let mut without_cookie = page.clone();
    without_cookie.cookie = String::new();
    let mut crossed = page.clone();
    crossed.cookie = other.cookie.clone();
    for attempt in [without_cookie, crossed] {
        let response = stack.call(attempt.submit(LOGIN, PASSWORD)).await;
        assert_eq!(response.status(), 403);
        assert!(body_text(response).contains("expired"));
    }
    stack.time.advance(601);
    let response = stack.call(page.submit(LOGIN, PASSWORD)).await;
    assert_eq!(response.status(), 403, "forms expire");
}

async fn secrets_outage_fails_closed(backend: Backend) {
    let stack = stack_with_secrets(backend, vec![]).await;
    let response = stack
        .call(get(&format!("/oauth/authorize?{}", authorize_query("sber", SBER_REDIRECT, "smarthome", "s", None))))
        .await;
    assert_eq!(response.status(), 503);
    let (status, answer, _) =
        stack.token(&form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]), Some(SBER)).await;
    assert_eq!((status, answer["error"].as_str()), (503, Some("temporarily_unavailable")));
    let verifier = AccessVerifier::for_audiences(None, vec!["sber".into()]);
    assert_eq!(verifier.verify(&stack.deps, Some("a.b.c"), 0).await, Err(TokenError::Unavailable));
    let _ = StatusCode::OK;
}

async fn a_removed_user_loses_every_token(backend: Backend) {
    let stack = stack(backend).await;
    let tokens = stack.link("sber", "smarthome").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert!(stack.verify(access, "sber").await.is_ok());
    shared::identity::users::Users::new(stack.admin.as_ref()).remove(LOGIN).await.unwrap();
    assert_eq!(stack.verify(access, "sber").await, Err(TokenError::Revoked));
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, answer, _) =
        stack.token(&form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]), Some(SBER)).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_grant")));
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    let response = stack.call(page.submit(LOGIN, PASSWORD)).await;
    assert_eq!(response.status(), 200, "the login no longer exists");
}

async fn a_new_password_replaces_the_old_one_and_keeps_links(backend: Backend) {
    let stack = stack(backend).await;
    let tokens = stack.link("sber", "smarthome").await;
    let users = shared::identity::users::Users::new(stack.admin.as_ref());
    users.set_password(" Alice", "a brand new password").await.unwrap();
    assert!(matches!(
        users.set_password("nobody", "a brand new password").await,
        Err(shared::identity::users::UserError::NoSuchLogin(_))
    ));
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    let old = stack.call(page.submit(LOGIN, PASSWORD)).await;
    assert_eq!(old.status(), 200, "the old password is refused (the form again)");
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    let new = stack.call(page.submit(LOGIN, "a brand new password")).await;
    assert_eq!(new.status(), 302);
    assert!(stack.verify(tokens["access_token"].as_str().unwrap(), "sber").await.is_ok(), "links stay");
}

testkit::on_both_backends!(
    a_new_password_replaces_the_old_one_and_keeps_links,
    a_removed_user_loses_every_token,
    linking_flow_as_a_client_drives_it,
    a_reused_code_fails_and_revokes_what_it_issued,
    a_refresh_retried_within_the_grace_period_keeps_the_linking,
    every_token_endpoint_error,
    codes_expire_and_belong_to_their_client,
    refresh_scope_can_narrow_but_not_widen,
    refresh_tokens_outlive_access_tokens,
    access_token_verification_failures,
    authorization_request_errors,
    wrong_credentials_rerender_and_failures_are_throttled,
    concurrent_attempts_cannot_overtake_the_throttle,
    a_window_boundary_does_not_double_the_allowance,
    a_late_attempt_from_before_the_boundary_still_counts,
    known_and_unknown_logins_cost_the_same,
    a_sandbox_hashes_within_its_budget,
    a_burst_of_wrong_sign_ins_makes_no_5xx,
    the_form_needs_its_csrf_pair,
    secrets_outage_fails_closed,
);
