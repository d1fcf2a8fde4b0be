//! `GET`/`POST /retailcrm/account`: the installation's account page, for the `clientId` in the query or, as the
//! CRM sends it, in a form body.

use crate::RegisterFunction;
use lambda_http::http::StatusCode;
use shared::codec::Form;
use shared::edge::error::ErrorEnvelope;
use shared::edge::handler::{self, Body, Request, Response};
use shared::edge::web_page;
use shared::partners::retailcrm::account_page;
use shared::telemetry::Reason;

pub async fn show(function: &RegisterFunction, request: &Request) -> Response<Body> {
    let name = &function.module.settings().name;
    let not_found = || web_page::response(StatusCode::NOT_FOUND, account_page::not_found_page(name), None);
    let from_query = handler::query_form(request).ok();
    let from_body = match handler::body_within(request, function.max_body) {
        Ok(body) if !body.is_empty() => Form::parse(body).ok(),
        Ok(_) => None,
        Err(error) => return handler::error(ErrorEnvelope::Plain, &error),
    };
    let client_id = [from_body, from_query]
        .into_iter()
        .flatten()
        .find_map(|form| form.get("clientId").ok().flatten().map(str::to_owned));
    let Some(client_id) = client_id else { return not_found() };
    match function.module.installation(&client_id).await {
        Ok(Some(account)) => web_page::response(StatusCode::OK, account_page::page(&account, name), None),
        Ok(None) => not_found(),
        Err(_) => {
            let mut response =
                web_page::response(StatusCode::SERVICE_UNAVAILABLE, account_page::unavailable_page(), None);
            response.extensions_mut().insert(Reason::ours("unavailable"));
            response
        }
    }
}
