//! Any OpenID Connect provider as the upstream (`SIGN_IN=oidc`): Cognito, Auth0, Keycloak, the vendor's own.
//!
//! - Discovery from `OIDC_ISSUER` (`/.well-known/openid-configuration`, whose `issuer` must be exactly the
//!   configured one), kept an hour per sandbox; the client in secret `oidc` (`{"client_id", "client_secret"}`).
//! - Authorization code with PKCE (S256), `state` and `nonce`; the code exchanged at the token endpoint with
//!   `client_secret_basic` (the default of OpenID Connect), or `client_secret_post` when the provider offers only
//!   that.
//! - The ID token verified: an asymmetric signature by a key of the provider's JWKS (fetched again when a token
//!   names a key we do not hold: rotation), `iss`, `aud` (and `azp` when there are several audiences), `exp`,
//!   `iat`, and the `nonce` of this sign-in.
//! - The user is the provider's `(iss, sub)`; meters are linked by the operator (`switchyard device link`), or
//!   kept equal to the smart-me device ids in the claim `OIDC_DEVICES_CLAIM` when it is set.

use super::identities::{self, UpstreamIdentity};
use super::pending::Pending;
use super::{Callback, Upstream, UpstreamError};
use crate::env::{ConfigError, Vars};
use crate::identity::oauth::pkce;
use crate::identity::users::Users;
use crate::ports::partner_http::{CallFailure, PartnerClient};
use crate::ports::secrets::Secrets;
use crate::ports::store::Store;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The secret holding our client at the provider.
pub const SECRET_NAME: &str = "oidc";

/// How long a discovery document is used before it is read again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// Clock skew allowed on `exp` and `iat` (seconds).
const LEEWAY_S: i64 = 30;

/// Signature algorithms an ID token may use: asymmetric only (an HMAC under our client secret proves nothing a
/// provider signed).
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The provider's settings (`OIDC_ISSUER`, `OIDC_SCOPES`, `OIDC_DEVICES_CLAIM`, `OIDC_TIMEOUT_MS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    pub issuer: String,
    /// Space-separated; always includes `openid`.
    pub scopes: String,
    /// A claim listing the person's smart-me device ids, when meters come from the provider.
    pub devices_claim: Option<String>,
    pub timeout: Duration,
}

impl OidcSettings {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let issuer = vars.require("OIDC_ISSUER")?.trim().trim_end_matches('/').to_owned();
        if !allowed_url(&issuer) {
            return Err(ConfigError::new("OIDC_ISSUER", "must be an https URL (http only on a loopback address)"));
        }
        let mut scopes: Vec<String> = vars
            .get_or("OIDC_SCOPES", "openid")
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        Ok(Self {
            issuer,
            scopes: scopes.join(" "),
            devices_claim: vars.get("OIDC_DEVICES_CLAIM").map(str::to_owned),
            timeout: Duration::from_millis(vars.parse_or("OIDC_TIMEOUT_MS", 5_000)?),
        })
    }
}

/// Whether `url` may be a provider's: https, or http on a loopback address (tests, the local runner).
fn allowed_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" => match parsed.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(domain)) => domain == "localhost",
            None => false,
        },
        _ => false,
    }
}

/// The parts of the discovery document we use.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ClientSecret {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
}

#[derive(Default)]
struct Cache {
    discovery: Option<(Discovery, Instant)>,
    keys: Vec<Jwk>,
}

/// The OpenID Connect upstream of one deployment.
pub struct Oidc {
    settings: OidcSettings,
    store: Arc<dyn Store>,
    secrets: Arc<dyn Secrets>,
    http: PartnerClient,
    cache: Mutex<Cache>,
}

/// Why an ID token was refused. Messages name the check, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the ID token is malformed")]
    Malformed,
    #[error("the ID token is signed with an algorithm we do not accept")]
    Algorithm,
    #[error("the ID token is signed with a key the provider does not publish")]
    UnknownKey,
    #[error("the ID token's signature does not verify")]
    Signature,
    #[error("the ID token was issued by someone else")]
    Issuer,
    #[error("the ID token is not meant for us")]
    Audience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token was issued in the future")]
    IssuedInFuture,
    #[error("the ID token belongs to another sign-in (nonce)")]
    Nonce,
}

/// The verified claims we use.
#[derive(Debug, Clone, PartialEq)]
pub struct IdClaims {
    pub sub: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Every claim, for a configured devices claim.
    pub all: serde_json::Map<String, Value>,
}

/// Verifies `token` (a compact JWS) against the provider's `keys` for `client_id`, `issuer` and this sign-in's
/// `nonce` at `now`.
pub fn verify_id_token(
    token: &str,
    keys: &[Jwk],
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: i64,
) -> Result<IdClaims, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(IdTokenError::Algorithm);
    }
    let usable: Vec<&Jwk> = keys.iter().filter(|k| k.is_supported()).collect();
    let jwk = match &header.kid {
        Some(kid) => usable.iter().copied().find(|k| k.common.key_id.as_deref() == Some(kid.as_str())),
        // Without a kid, only a provider with a single key is unambiguous.
        None if usable.len() == 1 => usable.first().copied(),
        None => None,
    }
    .ok_or(IdTokenError::UnknownKey)?;
    let declared = jwk.common.key_algorithm.and_then(|a| a.to_string().parse::<Algorithm>().ok());
    if declared.is_some_and(|a| a != header.alg) {
        return Err(IdTokenError::Algorithm);
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| IdTokenError::UnknownKey)?;
    let mut validation = Validation::new(header.alg);
    // Every claim is checked below against our clock and this sign-in; the library checks the signature only.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims = Default::default();
    let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key, &validation).map_err(|e| match e
        .kind()
    {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => IdTokenError::Signature,
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => IdTokenError::Algorithm,
        _ => IdTokenError::Malformed,
    })?;
    let claims = data.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(issuer) {
        return Err(IdTokenError::Issuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.contains(&client_id) || (audiences.len() > 1 && text("azp") != Some(client_id)) {
        return Err(IdTokenError::Audience);
    }
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    match number("exp") {
        Some(exp) if exp + LEEWAY_S > now => {}
        Some(_) => return Err(IdTokenError::Expired),
        None => return Err(IdTokenError::Malformed),
    }
    match number("iat") {
        Some(iat) if iat <= now + LEEWAY_S => {}
        Some(_) => return Err(IdTokenError::IssuedInFuture),
        None => return Err(IdTokenError::Malformed),
    }
    let matches = text("nonce").is_some_and(|n| crate::crypto::constant_time_eq(n.as_bytes(), nonce.as_bytes()));
    if !matches {
        return Err(IdTokenError::Nonce);
    }
    let sub = text("sub").filter(|s| !s.is_empty() && s.len() <= 255).ok_or(IdTokenError::Malformed)?.to_owned();
    let email = text("email").map(str::to_owned);
    let name = text("preferred_username").or(text("name")).map(str::to_owned);
    Ok(IdClaims { sub, email, name, all: claims })
}

/// A provider's keys from its JWKS document; keys we cannot read are skipped, not fatal.
pub fn parse_jwks(document: &Value) -> Vec<Jwk> {
    let keys = document.get("keys").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    keys.iter().filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok()).filter(|k| k.is_supported()).collect()
}

fn unavailable(what: &str, failure: CallFailure) -> UpstreamError {
    UpstreamError::Unavailable(match failure {
        CallFailure::Timeout(ms) => format!("the identity provider's {what} did not answer within {ms} ms"),
        _ => format!("the identity provider's {what} could not be reached"),
    })
}

impl Oidc {
    pub fn new(settings: OidcSettings, store: Arc<dyn Store>, secrets: Arc<dyn Secrets>) -> Self {
        let http = PartnerClient::new("oidc", settings.timeout);
        Self { settings, store, secrets, http, cache: Mutex::default() }
    }

    pub fn from_vars(vars: &Vars, store: Arc<dyn Store>, secrets: Arc<dyn Secrets>) -> Result<Self, ConfigError> {
        Ok(Self::new(OidcSettings::from_vars(vars)?, store, secrets))
    }

    async fn client(&self) -> Result<ClientSecret, UpstreamError> {
        self.secrets.get_json::<ClientSecret>(SECRET_NAME).await.map_err(|error| {
            tracing::error!(%error, "oidc secret unusable");
            UpstreamError::Unavailable("sign-in is not available right now".into())
        })
    }

    async fn get_json(&self, url: &str, what: &str) -> Result<Value, UpstreamError> {
        let (status, body) = self
            .http
            .exchange(|http| http.get(url).header("accept", "application/json"))
            .await
            .map_err(|f| unavailable(what, f))?;
        if !(200..300).contains(&status) {
            return Err(UpstreamError::Unavailable(format!("the identity provider's {what} answered HTTP {status}")));
        }
        serde_json::from_slice(&body)
            .map_err(|_| UpstreamError::Unavailable(format!("the identity provider's {what} is not JSON")))
    }

    async fn discovery(&self) -> Result<Discovery, UpstreamError> {
        if let Some((discovery, at)) = &self.cache.lock().unwrap_or_else(|e| e.into_inner()).discovery
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(discovery.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let document = self.get_json(&url, "discovery document").await?;
        let discovery: Discovery = serde_json::from_value(document).map_err(|_| {
            UpstreamError::Unavailable("the identity provider's discovery document is incomplete".into())
        })?;
        // OpenID Connect Discovery 1.0 section 4.3: the document is the configured issuer's, exactly.
        if discovery.issuer.trim_end_matches('/') != self.settings.issuer {
            tracing::error!(discovered = discovery.issuer, "OIDC discovery names another issuer");
            return Err(UpstreamError::Refused("the identity provider names another issuer".into()));
        }
        let endpoints = [&discovery.authorization_endpoint, &discovery.token_endpoint, &discovery.jwks_uri];
        if !endpoints.iter().all(|e| allowed_url(e)) {
            return Err(UpstreamError::Refused("the identity provider's endpoints are not https".into()));
        }
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).discovery = Some((discovery.clone(), Instant::now()));
        Ok(discovery)
    }

    /// The provider's keys: the cached ones, or read again (`refresh`: a token named a key we do not hold).
    async fn keys(&self, discovery: &Discovery, refresh: bool) -> Result<Vec<Jwk>, UpstreamError> {
        let cached = self.cache.lock().unwrap_or_else(|e| e.into_inner()).keys.clone();
        if !cached.is_empty() && !refresh {
            return Ok(cached);
        }
        let keys = parse_jwks(&self.get_json(&discovery.jwks_uri, "key set").await?);
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).keys = keys.clone();
        Ok(keys)
    }

    /// Exchanges `code` at the token endpoint; the ID token it answers.
    async fn exchange(
        &self,
        discovery: &Discovery,
        client: &ClientSecret,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<String, UpstreamError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let methods = discovery.token_endpoint_auth_methods_supported.as_deref().unwrap_or_default();
        let post_only = !methods.is_empty() && !methods.iter().any(|m| m == "client_secret_basic");
        let basic = match &client.client_secret {
            Some(secret) if !post_only => {
                use crate::codec::form::encode_component;
                let (id, secret) = (encode_component(&client.client_id), encode_component(secret));
                Some(crate::codec::BasicCredentials::header_value(&id, &secret))
            }
            Some(secret) => {
                form.push(("client_id", &client.client_id));
                form.push(("client_secret", secret));
                None
            }
            None => {
                form.push(("client_id", &client.client_id));
                None
            }
        };
        let body = crate::codec::form::encode(form.iter().copied());
        let (status, answer) = self
            .http
            .exchange(|http| {
                let request = http
                    .post(&discovery.token_endpoint)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("accept", "application/json")
                    .body(body);
                match &basic {
                    Some(header) => request.header("authorization", header),
                    None => request,
                }
            })
            .await
            .map_err(|f| unavailable("token endpoint", f))?;
        let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        if status >= 500 {
            return Err(UpstreamError::Unavailable(format!(
                "the identity provider's token endpoint answered HTTP {status}"
            )));
        }
        if !(200..300).contains(&status) {
            let error = answer["error"].as_str().unwrap_or("unknown").chars().take(64).collect::<String>();
            tracing::warn!(status, error, "the identity provider refused the code");
            return Err(UpstreamError::Refused(format!("the identity provider refused the sign-in ({error})")));
        }
        answer["id_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| UpstreamError::Refused("the identity provider answered without an ID token".into()))
    }
}

#[async_trait::async_trait]
impl Upstream for Oidc {
    fn provider(&self) -> &'static str {
        "oidc"
    }

    async fn authorization_url(
        &self,
        pending: &Pending,
        state: &str,
        redirect_uri: &str,
    ) -> Result<String, UpstreamError> {
        let (discovery, client) = (self.discovery().await?, self.client().await?);
        let challenge = pkce::challenge_of(&pending.verifier);
        let mut url = url::Url::parse(&discovery.authorization_endpoint).map_err(|_| {
            UpstreamError::Refused("the identity provider's authorization endpoint is not a URL".into())
        })?;
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", self.settings.scopes.as_str()),
            ("state", state),
            ("nonce", pending.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
        Ok(url.to_string())
    }

    async fn complete(
        &self,
        pending: &Pending,
        callback: &Callback,
        redirect_uri: &str,
        now: i64,
    ) -> Result<String, UpstreamError> {
        let (discovery, client) = (self.discovery().await?, self.client().await?);
        // RFC 9207: a callback that says which issuer sent it must name ours (mix-up defence).
        if callback
            .issuer
            .as_deref()
            .is_some_and(|iss| iss.trim_end_matches('/') != discovery.issuer.trim_end_matches('/'))
        {
            return Err(UpstreamError::Refused("the sign-in came back from another issuer".into()));
        }
        let id_token = self.exchange(&discovery, &client, &callback.code, &pending.verifier, redirect_uri).await?;
        let verify =
            |keys: &[Jwk]| verify_id_token(&id_token, keys, &discovery.issuer, &client.client_id, &pending.nonce, now);
        let claims = match verify(&self.keys(&discovery, false).await?) {
            Err(IdTokenError::UnknownKey) => verify(&self.keys(&discovery, true).await?),
            other => other,
        }
        .map_err(|error| {
            tracing::warn!(%error, "ID token refused");
            UpstreamError::Refused(error.to_string())
        })?;
        let subject = format!("{}#{}", discovery.issuer, claims.sub);
        let label = identities::hashed_label("oidc", &subject);
        let display = claims.email.as_deref().or(claims.name.as_deref());
        let identity = UpstreamIdentity { provider: "oidc", subject: &subject, label: &label, display };
        let store = self.store.as_ref();
        let user = identities::resolve(store, &identity, now).await.map_err(|error| {
            tracing::error!(%error, "upstream user not resolved");
            UpstreamError::Unavailable("sign-in is not available right now".into())
        })?;
        if let Some(claim) = &self.settings.devices_claim {
            link_claimed_devices(store, &user.id, claims.all.get(claim), now).await?;
        }
        tracing::info!(user_id = user.id, provider = "oidc", "signed in upstream");
        Ok(user.id)
    }
}

/// Keeps the user's meters equal to the smart-me device ids a claim lists (ids that are no device GUID skipped).
async fn link_claimed_devices(
    store: &dyn Store,
    user_id: &str,
    claim: Option<&Value>,
    now: i64,
) -> Result<(), UpstreamError> {
    let users = Users::new(store);
    let failed = |error: crate::identity::users::UserError| {
        tracing::error!(%error, "claimed meters not linked");
        UpstreamError::Unavailable("sign-in is not available right now".into())
    };
    let claimed: Vec<String> = match claim {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|id| crate::identity::users::normalize_device_id(id).ok())
            .collect(),
        Some(Value::String(ids)) => {
            ids.split([' ', ',']).filter_map(|id| crate::identity::users::normalize_device_id(id).ok()).collect()
        }
        _ => Vec::new(),
    };
    let linked = users.devices(user_id).await.map_err(failed)?;
    for id in claimed.iter().filter(|id| !linked.iter().any(|d| &d.id == *id)).take(100) {
        users.link_device(user_id, id, "smart-me meter", now).await.map_err(failed)?;
    }
    for device in linked.iter().filter(|d| !claimed.contains(&d.id)) {
        users.unlink_device(user_id, &device.id).await.map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const ISSUER: &str = "https://id.example.com";
    const NOW: i64 = 1_795_000_000;

    struct Signer {
        encoding: EncodingKey,
        jwk: Value,
    }

    fn signer(kid: &str) -> Signer {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let (x, y) = (&point[1..33], &point[33..65]);
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": crate::crypto::to_base64url(x), "y": crate::crypto::to_base64url(y)});
        Signer { encoding: EncodingKey::from_ec_der(pkcs8.as_ref()), jwk }
    }

    fn sign(signer: &Signer, kid: Option<&str>, claims: &Value) -> String {
        let header = Header { kid: kid.map(str::to_owned), ..Header::new(Algorithm::ES256) };
        jsonwebtoken::encode(&header, claims, &signer.encoding).unwrap()
    }

    fn claims() -> Value {
        json!({"iss": ISSUER, "sub": "person-1", "aud": "switchyard", "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
               "email": "person@example.com"})
    }

    #[test]
    fn a_genuine_token_verifies_and_every_broken_check_is_named() {
        let key = signer("k1");
        let keys = parse_jwks(&json!({"keys": [key.jwk.clone(), {"kty": "weird"}]}));
        assert_eq!(keys.len(), 1, "keys we cannot read are skipped");
        let check = |token: &str| verify_id_token(token, &keys, ISSUER, "switchyard", "n-1", NOW);
        let verified = check(&sign(&key, Some("k1"), &claims())).unwrap();
        assert_eq!((verified.sub.as_str(), verified.email.as_deref()), ("person-1", Some("person@example.com")));

        let with = |field: &str, value: Value| {
            let mut c = claims();
            c[field] = value;
            sign(&key, Some("k1"), &c)
        };
        assert_eq!(check(&with("iss", json!("https://evil.example.com"))), Err(IdTokenError::Issuer));
        assert_eq!(check(&with("aud", json!("someone-else"))), Err(IdTokenError::Audience));
        assert_eq!(check(&with("aud", json!(["switchyard", "other"]))), Err(IdTokenError::Audience), "azp needed");
        let mut azp = claims();
        azp["aud"] = json!(["switchyard", "other"]);
        azp["azp"] = json!("switchyard");
        assert!(check(&sign(&key, Some("k1"), &azp)).is_ok());
        assert_eq!(check(&with("exp", json!(NOW - LEEWAY_S))), Err(IdTokenError::Expired));
        assert_eq!(check(&with("iat", json!(NOW + 3600))), Err(IdTokenError::IssuedInFuture));
        assert_eq!(check(&with("nonce", json!("n-2"))), Err(IdTokenError::Nonce), "another sign-in's token");
        assert_eq!(check(&sign(&key, Some("k2"), &claims())), Err(IdTokenError::UnknownKey), "a rotated key");
        assert!(check(&sign(&key, None, &claims())).is_ok(), "no kid, one key");
        assert_eq!(check(&sign(&signer("k1"), Some("k1"), &claims())), Err(IdTokenError::Signature), "another key");
        let hmac = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"client-secret"),
        )
        .unwrap();
        assert_eq!(check(&hmac), Err(IdTokenError::Algorithm));
        assert_eq!(check("not.a.token"), Err(IdTokenError::Malformed));
    }

    #[test]
    fn providers_are_https_or_loopback() {
        assert!(allowed_url("https://login.example.com/realms/x"));
        assert!(allowed_url("http://127.0.0.1:4455") && allowed_url("http://localhost:8080"));
        assert!(!allowed_url("http://login.example.com") && !allowed_url("ftp://x") && !allowed_url("nope"));
        let vars = Vars::from_pairs([("OIDC_ISSUER", "https://id.example.com/"), ("OIDC_SCOPES", "email profile")]);
        let settings = OidcSettings::from_vars(&vars).unwrap();
        assert_eq!((settings.issuer.as_str(), settings.scopes.as_str()), (ISSUER, "openid email profile"));
        assert!(OidcSettings::from_vars(&Vars::from_pairs([("OIDC_ISSUER", "http://id.example.com")])).is_err());
        assert!(OidcSettings::from_vars(&Vars::default()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_are_refused_without_panicking(token in ".{0,400}", parts in "[A-Za-z0-9_.-]{0,300}") {
            let keys = parse_jwks(&json!({"keys": [signer("k1").jwk]}));
            proptest::prop_assert!(verify_id_token(&token, &keys, ISSUER, "c", "n", NOW).is_err());
            proptest::prop_assert!(verify_id_token(&parts, &keys, ISSUER, "c", "n", NOW).is_err());
        }
    }
}
