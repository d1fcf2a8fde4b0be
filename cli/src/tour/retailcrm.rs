//! RetailCRM's side: the marketplace reads the module's config, a CRM (played here) installs it with its API key,
//! receives the module our registration sends it, and opens the account page for a user of the CRM.

use super::{Scene, saw, step, visitor::excerpt};

/// The API key the played CRM gives the module (a real CRM's administrator makes one with the module's scopes).
const PLAYED_API_KEY: &str = "played-crm-api-key";

#[derive(serde::Deserialize)]
struct ModuleSecret {
    secret: String,
}

pub async fn play(scene: &Scene) -> Result<(), String> {
    let crm = scene.tour.played("retailcrm")?.to_owned();
    step("the marketplace reads the module's configuration: GET /retailcrm/config");
    let config = scene.visitor.get(&scene.runner("/retailcrm/config")).await?.json()?;
    let register_url = config["registerUrl"].as_str().ok_or("the config names no registerUrl")?.to_owned();
    saw(&format!("registerUrl {register_url}, scopes {}", config["scopes"]));

    step(&format!(
        "the CRM at {crm} installs the module: POST {register_url} (register=<JSON>, its token the HMAC of the API key)"
    ));
    let module: ModuleSecret =
        scene.secrets().get_json("retailcrm").await.map_err(|e| format!("the retailcrm secret: {e}"))?;
    let body = sandbox::retailcrm::register_json_body(&crm, &module.secret, PLAYED_API_KEY);
    let request = scene.visitor.request(reqwest::Method::POST, &register_url)?;
    let request = request.header("content-type", "application/x-www-form-urlencoded").body(body);
    let answer = scene.visitor.send(&register_url, request).await?;
    let registered = answer.json()?;
    if registered["success"] != true {
        return Err(format!("the registration was refused: {registered}"));
    }
    let account_url = registered["accountUrl"].as_str().ok_or("the answer names no accountUrl")?.to_owned();
    saw(&format!("{} success, accountUrl {account_url}", answer.status));

    step("the CRM shows what the module told it (integration-modules/{code}/edit)");
    let modules = scene.visitor.get(&format!("{crm}{}", sandbox::retailcrm::MODULES_PATH)).await?.json()?;
    let (code, module) = modules.as_object().and_then(|m| m.iter().next_back()).ok_or("the CRM holds no module")?;
    saw(&format!(
        "module {code}: active {}, baseUrl {}, actions {} (its clientId kept, not shown)",
        module["active"], module["baseUrl"], module["actions"]
    ));
    let client_id = module["clientId"].as_str().ok_or("the module has no clientId")?;

    step("a CRM user opens the module: the CRM posts clientId to the account page");
    let answer = scene.visitor.post_form(&account_url, &[("clientId".to_owned(), client_id.to_owned())]).await?;
    let shown = |id: &str| {
        let marker = format!("id=\"{id}\">");
        answer.body.find(&marker).and_then(|at| {
            let text = &answer.body[at + marker.len()..];
            text.find('<').map(|end| text[..end].to_owned())
        })
    };
    match (shown("system-url"), shown("status")) {
        (Some(system_url), Some(status)) => {
            saw(&format!("{} the account page: CRM {system_url}, status {status}", answer.status))
        }
        _ => return Err(format!("{} and no account page: {}", answer.status, excerpt(&answer.body))),
    }
    Ok(())
}
