//! smallcase's side, through the vendor's app: the app links the demo user (a public client with PKCE), opens a
//! CONNECT transaction, the user completes it in smallcase's SDK (the played Gateway), and the app reads the
//! outcome, which stores the user's smallcase authId.

use super::{Scene, link, saw, step};

pub async fn play(scene: &Scene) -> Result<(), String> {
    let gateway = scene.tour.played("smallcase")?.to_owned();
    let access = link::link(scene, "app-dev").await?;
    let bearer = format!("Bearer {access}");

    step("the app opens a transaction: POST /smallcase/transaction {\"intent\": \"CONNECT\"}");
    let url = scene.runner("/smallcase/transaction");
    let request = scene.visitor.request(reqwest::Method::POST, &url)?;
    let request = request.header("authorization", &bearer).json(&serde_json::json!({"intent": "CONNECT"}));
    let answer = scene.visitor.send(&url, request).await?;
    let created = answer.json()?;
    let transaction =
        created["transactionId"].as_str().ok_or_else(|| format!("{}: {created}", answer.status))?.to_owned();
    saw(&format!("{} transactionId {transaction} (and a smallcaseAuthToken for the SDK, not shown)", answer.status));

    step("the user completes it in smallcase's SDK (the played Gateway marks it COMPLETED)");
    let url = format!("{gateway}{}{transaction}", sandbox::smallcase::TRANSACTIONS_PATH);
    let auth_id = format!("played-auth-{}", &transaction[..transaction.len().min(8)]);
    let request = scene.visitor.request(reqwest::Method::POST, &url)?;
    let answer =
        scene.visitor.send(&url, request.json(&serde_json::json!({"status": "COMPLETED", "authId": auth_id}))).await?;
    saw(&format!("{}", answer.status));

    step(&format!("the app reads the outcome: GET /smallcase/transaction/{transaction}"));
    let url = scene.runner(&format!("/smallcase/transaction/{transaction}"));
    let answer = scene
        .visitor
        .send(&url, scene.visitor.request(reqwest::Method::GET, &url)?.header("authorization", &bearer))
        .await?;
    saw(&format!("{} {}", answer.status, answer.body.trim()));
    if answer.status != 200 {
        return Err("the transaction could not be read".into());
    }
    Ok(())
}
