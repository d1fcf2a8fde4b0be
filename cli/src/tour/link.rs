//! Account linking as an OAuth client does it: authorization request with PKCE, the user's sign-in (whatever the
//! runner's `SIGN_IN` puts in front of it: our page, smart-me's, an OpenID provider's), the code exchanged.

use super::{Scene, saw, step};
use shared::identity::oauth::pkce;

/// The demo user's login and password, on our sign-in page and on the played smart-me's.
const DEMO: (&str, &str) = crate::sandbox::DEMO_ACCOUNT;

#[derive(serde::Deserialize, Default)]
struct Client {
    client_id: String,
    client_secret: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(serde::Deserialize)]
struct OAuthSecret {
    clients: Vec<Client>,
}

/// Links the demo user with OAuth client `client_id` (from the `oauth` secret) and answers its access token.
pub async fn link(scene: &Scene, client_id: &str) -> Result<String, String> {
    let secret: OAuthSecret = scene.secrets().get_json("oauth").await.map_err(|e| format!("the oauth secret: {e}"))?;
    let client = secret
        .clients
        .into_iter()
        .find(|c| c.client_id == client_id)
        .ok_or_else(|| format!("the oauth secret has no client `{client_id}`"))?;
    let redirect_uri = client.redirect_uris.first().ok_or("the client has no redirect URI")?.clone();
    let verifier = shared::crypto::random_token(32);
    let state = shared::crypto::random_token(16);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", &redirect_uri),
            ("scope", &client.scopes.join(" ")),
            ("state", &state),
            ("code_challenge", &pkce::challenge_of(&verifier)),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    step(&format!("{client_id} sends the user to GET /oauth/authorize (sign-in: {})", scene.tour.sign_in));
    let code = scene.visitor.sign_in(&scene.runner(&format!("/oauth/authorize?{query}")), &redirect_uri, DEMO).await?;
    step(&format!("{client_id} exchanges the code: POST /oauth/token"));
    let mut fields = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code),
        ("redirect_uri".to_owned(), redirect_uri),
        ("code_verifier".to_owned(), verifier),
    ];
    let url = scene.runner("/oauth/token");
    let mut request = scene.visitor.request(reqwest::Method::POST, &url)?;
    match &client.client_secret {
        Some(secret) => request = request.basic_auth(client_id, Some(secret)),
        None => fields.push(("client_id".to_owned(), client_id.to_owned())),
    }
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
    let request = request.header("content-type", "application/x-www-form-urlencoded").body(body);
    let answer = scene.visitor.send(&url, request).await?;
    let tokens = answer.json()?;
    if answer.status != 200 {
        return Err(format!("the token endpoint answered {}: {tokens}", answer.status));
    }
    saw(&format!(
        "{} tokens for scope `{}`, expiring in {} s (not shown: they are credentials)",
        tokens["token_type"].as_str().unwrap_or("?"),
        tokens["scope"].as_str().unwrap_or("?"),
        tokens["expires_in"]
    ));
    tokens["access_token"].as_str().map(str::to_owned).ok_or_else(|| "no access_token in the answer".into())
}
