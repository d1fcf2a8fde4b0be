//! smart-me's side: its Realtime API posts a reading of the demo Kitchen meter, as protobuf, with the Basic
//! credentials the `smartme` secret gives it.

use super::{Scene, saw, step};
use shared::partners::smartme::obis::Obis;
use shared::partners::smartme::post;
use shared::partners::smartme::secret::SmartMeSecret;

/// The demo Kitchen meter (the one with a relay).
pub fn kitchen() -> uuid::Uuid {
    let (id, _, _) = crate::sandbox::DEMO_METERS[0];
    uuid::Uuid::parse_str(id).expect("the demo meter id is a UUID")
}

pub async fn play(scene: &Scene) -> Result<(), String> {
    post_reading(scene, true, 1.25).await.map(|_| ())
}

/// Posts a Kitchen reading (`switched_on`, `kilowatts` of active power,
/// the demo meters' unit) and answers what ingest answered.
pub async fn post_reading(scene: &Scene, switched_on: bool, kilowatts: f64) -> Result<serde_json::Value, String> {
    let secret = SmartMeSecret::load(scene.secrets()).await.map_err(|e| format!("the smartme secret: {e}"))?;
    let (username, password) = secret.realtime_credentials().ok_or("the smartme secret has no realtime credentials")?;
    let switch: Obis = sandbox::smartme::SWITCH_OBIS.parse().map_err(|e| format!("{e}"))?;
    let active_power = Obis::electricity(1, 7, 0);
    // Milliseconds: two posts within a second are two readings.
    let now_ms = shared::ports::clock::now_epoch_ms() as i64;
    let values = [(switch.0, if switched_on { 1.0 } else { 0.0 }), (active_power.0, kilowatts)];
    let body = post::body(vec![post::reading(kitchen(), now_ms, &values)]);
    step(&format!(
        "smart-me posts a reading of Kitchen: POST /smartme/realtime ({} bytes of protobuf; switch {}, {kilowatts} kW)",
        body.len(),
        if switched_on { "on" } else { "off" }
    ));
    let url = scene.runner("/smartme/realtime");
    let request = scene.visitor.request(reqwest::Method::POST, &url)?;
    let request =
        request.basic_auth(username, Some(password)).header("content-type", "application/octet-stream").body(body);
    let answer = scene.visitor.send(&url, request).await?;
    saw(&format!("{} {}", answer.status, answer.body.trim()));
    if answer.status != 200 {
        return Err(format!("ingest refused the post ({})", answer.status));
    }
    answer.json()
}
