//! Slack's Events API around its signed deliveries: when an app's Request URL is set, Slack sends a signed
//! `{"type": "url_verification", "challenge"}` and accepts the URL only when the challenge comes back
//! (api.slack.com, Events API, `url_verification`). It is answered, after the signature and timestamp checks like
//! any delivery (an unsigned one gets nothing), and not stored: it is a question about the endpoint, not an event.

use super::receiver::{Admission, DeliverAgain, DeliveryRules};
use crate::ports::Deps;
use serde_json::json;

/// The longest challenge echoed back (Slack's are a few dozen characters).
const MAX_CHALLENGE: usize = 512;

/// Slack's rules.
pub struct SlackRules;

/// The challenge of a URL check, if `body` is one.
pub fn url_check(body: &[u8]) -> Option<&str> {
    #[derive(serde::Deserialize)]
    struct Check<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        challenge: &'a str,
    }
    let check: Check = serde_json::from_slice(body).ok()?;
    (check.kind == "url_verification" && !check.challenge.is_empty() && check.challenge.len() <= MAX_CHALLENGE)
        .then_some(check.challenge)
}

#[async_trait::async_trait]
impl DeliveryRules for SlackRules {
    async fn admit(&self, _deps: &Deps, body: &[u8]) -> Result<Admission, DeliverAgain> {
        Ok(match url_check(body) {
            Some(challenge) => Admission::Reply(json!({"challenge": challenge})),
            None => Admission::Store,
        })
    }

    async fn follow_up(&self, _deps: &Deps, _body: &[u8]) -> Result<(), DeliverAgain> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_url_check_is_answered() {
        // Slack's example (api.slack.com/events/url_verification).
        let check = br#"{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}"#;
        assert_eq!(url_check(check), Some("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"));
        for not_a_check in [
            &br#"{"type": "event_callback", "event": {"type": "app_mention"}}"#[..],
            br#"{"type": "url_verification"}"#,
            br#"{"type": "url_verification", "challenge": ""}"#,
            b"payload=%7B%22type%22%3A%22block_actions%22%7D",
            b"",
        ] {
            assert_eq!(url_check(not_a_check), None);
        }
        let long = format!(r#"{{"type": "url_verification", "challenge": "{}"}}"#, "x".repeat(MAX_CHALLENGE + 1));
        assert_eq!(url_check(long.as_bytes()), None, "bounded");
    }
}
