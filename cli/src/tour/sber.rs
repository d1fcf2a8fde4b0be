//! Sber's side: its cloud links the demo user (the account-linking page a person sees in the Salut app), asks for
//! the devices, switches the Kitchen on, and receives the state push that follows smart-me's next reading.

use super::{Scene, link, saw, smartme, step};
use serde_json::json;

pub async fn play(scene: &Scene) -> Result<(), String> {
    let played = scene.tour.played("sber")?.to_owned();
    let access = link::link(scene, "sber").await?;
    let bearer = format!("Bearer {access}");

    step("Sber asks for the user's devices: GET /sber/v1/devices");
    let url = scene.runner("/sber/v1/devices");
    let answer = scene
        .visitor
        .send(&url, scene.visitor.request(reqwest::Method::GET, &url)?.header("authorization", &bearer))
        .await?;
    let devices = answer.json()?;
    let listed = devices["devices"].as_array().cloned().unwrap_or_default();
    for device in &listed {
        saw(&format!(
            "{} \"{}\" ({}; {})",
            device["id"].as_str().unwrap_or("?"),
            device["name"].as_str().unwrap_or("?"),
            device["model"]["category"].as_str().unwrap_or("?"),
            device["model"]["features"].as_array().map(|f| f.len()).unwrap_or(0).to_string() + " features"
        ));
    }
    let device =
        listed.first().and_then(|d| d["id"].as_str()).ok_or("the user has no device Sber can switch")?.to_owned();

    step(&format!("Sber switches {device} on: POST /sber/v1/command"));
    let command =
        json!({"devices": {&device: {"states": [{"key": "on_off", "value": {"type": "BOOL", "bool_value": true}}]}}});
    let url = scene.runner("/sber/v1/command");
    let request = scene.visitor.request(reqwest::Method::POST, &url)?.header("authorization", &bearer).json(&command);
    let answer = scene.visitor.send(&url, request).await?;
    saw(&format!("{} {}", answer.status, answer.body.trim()));

    let already = calls(scene, &played).await?.len();
    smartme::post_reading(scene, true, 1.25).await?;
    step("Sber's cloud waits for the state push (notify, on the table's stream)");
    for _ in 0..300 {
        let calls = calls(scene, &played).await?;
        if let Some(push) = calls[already.min(calls.len())..].iter().find(|c| c["path"] == "/v1/state") {
            saw(&format!("POST /v1/state answered {}: {}", push["status"], push["body"]));
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err("no state push reached the played Sber in 30 s (see the runner's log)".into())
}

/// What the played Sber has received so far.
async fn calls(scene: &Scene, played: &str) -> Result<Vec<serde_json::Value>, String> {
    let answer = scene.visitor.get(&format!("{played}{}", sandbox::sber::CALLS_PATH)).await?;
    Ok(answer.json()?.as_array().cloned().unwrap_or_default())
}
