//! `token`: the OAuth 2.0 authorization server for account linking (`/oauth/authorize`, `/oauth/token`) and the
//! smallcase Gateway routes for users holding our access tokens (`/smallcase/token`, `/smallcase/transaction`,
//! `/smallcase/transaction/{transactionId}`, with CORS for the whitelisted web origins).

mod authorize;
mod smallcase;
mod token_endpoint;
mod upstream;

use shared::Deps;
use shared::edge::cors::Cors;
use shared::edge::error::ApiError;
use shared::edge::handler::{Body, Handler, Request, Response};
use shared::edge::routes::{self, Endpoint, OAuthEndpoint};
use shared::env::{ConfigError, Vars};
use shared::identity::oauth::error::OAuthError;
use shared::identity::oauth::grants::Lifetimes;
use shared::identity::oauth::sign_in::SignInPolicy;
use shared::identity::oauth::{AccessVerifier, OAuthSettings};
use shared::identity::upstream::oidc::Oidc;
use shared::identity::upstream::{SignInMode, Upstream};
use shared::partners::smallcase::for_user::ForUser;
use shared::partners::smartme::account::SmartMeAccounts;
use std::sync::Arc;

/// Largest OAuth form body accepted (bytes).
const MAX_FORM_BODY: usize = 16 * 1024;

/// The function's state, built once per sandbox.
pub struct TokenFunction {
    deps: Deps,
    public_url: Option<String>,
    lifetimes: Lifetimes,
    /// The throttle, the sandbox's hashing budget and the code lifetimes of `POST /oauth/authorize`.
    sign_in: SignInPolicy,
    smallcase_verifier: AccessVerifier,
    smallcase: ForUser,
    /// The web origins smallcase whitelisted for the partner (`SMALLCASE_ALLOWED_ORIGINS`).
    smallcase_cors: Cors,
    /// Where people sign in (`SIGN_IN`): `None` with our own passwords, else the upstream identity provider.
    upstream: Option<Arc<dyn Upstream>>,
}

impl TokenFunction {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        let public_url = vars.public_url()?;
        let sign_in = SignInPolicy::from_vars(vars)?;
        let (store, secrets) = (deps.store.clone(), deps.secrets.clone());
        let upstream: Option<Arc<dyn Upstream>> = match SignInMode::from_vars(vars)? {
            SignInMode::Local => None,
            SignInMode::SmartMe => Some(Arc::new(SmartMeAccounts::from_vars(vars, store, secrets)?)),
            SignInMode::Oidc => Some(Arc::new(Oidc::from_vars(vars, store, secrets)?)),
        };
        Ok(Self {
            upstream,
            lifetimes: sign_in.lifetimes,
            sign_in,
            smallcase_verifier: AccessVerifier::for_audiences(
                public_url.clone(),
                vars.list_or("SMALLCASE_AUDIENCES", "smallcase"),
            )
            .requiring_scope(vars.get_or("SMALLCASE_REQUIRED_SCOPE", "smallcase")),
            smallcase: ForUser::from_vars(deps.clone(), vars)?,
            deps,
            public_url,
            smallcase_cors: Cors::from_list("SMALLCASE_ALLOWED_ORIGINS", vars.get_or("SMALLCASE_ALLOWED_ORIGINS", ""))?,
        })
    }

    fn now(&self) -> i64 {
        self.deps.clock.now()
    }

    /// The `oauth` secret, or the error to answer when it cannot be read.
    async fn oauth_settings(&self) -> Result<OAuthSettings, ApiError> {
        OAuthSettings::load(self.deps.secrets.as_ref(), self.public_url.as_deref()).await.map_err(|error| {
            tracing::error!(%error, "oauth secret unavailable");
            OAuthError::unavailable().into()
        })
    }
}

#[async_trait::async_trait]
impl Handler for TokenFunction {
    async fn handle(&self, request: Request) -> Response<Body> {
        let route = match routes::admit("token", &request) {
            Ok(route) => route,
            Err(refused) if request.uri().path().starts_with("/smallcase/") => {
                return self.smallcase_cors.decorate(&request, *refused);
            }
            Err(refused) => return *refused,
        };
        match (route.endpoint, &self.upstream) {
            (Endpoint::Smallcase(endpoint), _) => {
                let response = smallcase::route(self, &request, endpoint).await;
                self.smallcase_cors.decorate(&request, response)
            }
            (Endpoint::OAuth(OAuthEndpoint::ShowSignIn), _) => authorize::show(self, &request).await,
            (Endpoint::OAuth(OAuthEndpoint::SubmitSignIn), None) => authorize::submit(self, &request).await,
            (Endpoint::OAuth(OAuthEndpoint::SubmitSignIn), Some(_)) => upstream::no_passwords(),
            (Endpoint::OAuth(OAuthEndpoint::Callback), Some(upstream)) => {
                upstream::callback(self, upstream.as_ref(), &request).await
            }
            (Endpoint::OAuth(OAuthEndpoint::Callback), None) => upstream::not_used(),
            (Endpoint::OAuth(OAuthEndpoint::Token), _) => token_endpoint::handle(self, &request).await,
            (Endpoint::RetailCrm(_) | Endpoint::Sber(_) | Endpoint::SmartMeRealtime | Endpoint::Webhook, _) => {
                routes::misrouted(&route)
            }
        }
    }
}
