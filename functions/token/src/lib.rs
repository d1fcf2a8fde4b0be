//! `token`: the OAuth 2.0 authorization server for account linking (`/oauth/authorize`, `/oauth/token`) and the
//! smallcase Gateway routes for users holding our access tokens (`/smallcase/token`, `/smallcase/transaction`,
//! `/smallcase/transaction/{transactionId}`, with CORS for the whitelisted web origins).

mod authorize;
mod smallcase;
mod token_endpoint;
mod upstream;

use shared::Deps;
use shared::edge::cors::Cors;
use shared::edge::handler::{Body, Handler, Request, Response};
use shared::edge::routes::{self, Endpoint, OAuthEndpoint};
use shared::env::{ConfigError, Vars};
use shared::identity::oauth::OAuthSettings;
use shared::identity::oauth::error::OAuthError;
use shared::identity::oauth::grants::Grants;
use shared::identity::oauth::sign_in::SignInPolicy;
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
    /// The throttle, the sandbox's hashing budget and the grants' lifetimes of `POST /oauth/authorize`.
    sign_in: SignInPolicy,
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
            sign_in,
            smallcase: ForUser::from_vars(deps.clone(), vars)?,
            deps,
            public_url,
            smallcase_cors: Cors::from_list("SMALLCASE_ALLOWED_ORIGINS", vars.get_or("SMALLCASE_ALLOWED_ORIGINS", ""))?,
        })
    }

    fn now(&self) -> i64 {
        self.deps.clock.now()
    }

    async fn oauth_settings(&self) -> Result<OAuthSettings, OAuthError> {
        OAuthSettings::load_for_request(self.deps.secrets.as_ref(), self.public_url.as_deref()).await
    }

    /// The grants issued under `settings` now.
    fn grants<'a>(&'a self, settings: &'a OAuthSettings) -> Grants<'a> {
        Grants { store: self.deps.store.as_ref(), settings, lifetimes: self.sign_in.lifetimes, now: self.now() }
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
        let endpoint = match route.endpoint {
            Endpoint::Smallcase(endpoint) => {
                let response = smallcase::route(self, &request, endpoint).await;
                return self.smallcase_cors.decorate(&request, response);
            }
            Endpoint::OAuth(endpoint) => endpoint,
            Endpoint::RetailCrm(_) | Endpoint::Sber(_) | Endpoint::SmartMeRealtime | Endpoint::Webhook => {
                return routes::misrouted(&route);
            }
        };
        match (endpoint, &self.upstream) {
            (OAuthEndpoint::ShowSignIn, _) => authorize::show(self, &request).await,
            (OAuthEndpoint::SubmitSignIn, None) => authorize::submit(self, &request).await,
            (OAuthEndpoint::SubmitSignIn, Some(_)) => upstream::no_passwords(),
            (OAuthEndpoint::Callback, Some(upstream)) => upstream::callback(self, upstream.as_ref(), &request).await,
            (OAuthEndpoint::Callback, None) => upstream::not_used(),
            (OAuthEndpoint::Token, _) => token_endpoint::handle(self, &request).await,
        }
    }
}
