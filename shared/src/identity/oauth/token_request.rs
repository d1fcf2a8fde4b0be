//! The token endpoint's rules (RFC 6749 sections 4.1.3 and 6): the client authenticated, its grant type allowed,
//! then the authorization_code or refresh_token grant. The edge only reads the form and renders the outcome.

use super::client_auth;
use super::error::{OAuthError, OAuthErrorCode};
use super::grants::{Grants, TokenSet};
use crate::codec::form::Form;

/// Tokens for the token request in `form` (with the client's `Authorization` header, if any).
pub async fn issue(grants: &Grants<'_>, authorization: Option<&str>, form: &Form) -> Result<TokenSet, OAuthError> {
    let client = client_auth::authenticate(grants.settings, authorization, form)?;
    let field = |name: &str| form.get(name).map_err(|e| OAuthError::invalid_request(e.to_string()));
    let grant_type = field("grant_type")?.ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(OAuthError::new(
            OAuthErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code or refresh_token",
        ));
    }
    if !client.allows_grant(grant_type) {
        let description = format!("this client may not use the {grant_type} grant");
        return Err(OAuthError::new(OAuthErrorCode::UnauthorizedClient, description));
    }
    let tokens = if grant_type == "authorization_code" {
        let code =
            field("code")?.filter(|c| !c.is_empty()).ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
        let redirect_uri = field("redirect_uri")?;
        if redirect_uri.is_none() {
            return Err(OAuthError::invalid_request("redirect_uri is missing"));
        }
        grants.exchange_code(client, code, redirect_uri, field("code_verifier")?).await?
    } else {
        let token = field("refresh_token")?
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
        let scope = field("scope")?.map(str::trim).filter(|s| !s.is_empty());
        grants.refresh(client, token, scope).await?
    };
    tracing::info!(client_id = client.client_id, grant_type, user_id = tokens.claims.sub, "tokens issued");
    Ok(tokens)
}
