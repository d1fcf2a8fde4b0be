//! The person at the browser, as `switchyard try` plays them: an HTTP client that follows redirects itself (each
//! hop is a step worth showing), keeps each origin's cookies, and fills in sign-in forms.

use std::collections::BTreeMap;

/// An answer: status, `Location` if any, body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.body)
            .map_err(|_| format!("expected JSON, got {}: {}", self.status, excerpt(&self.body)))
    }
}

/// The first 300 characters of a body, for messages.
pub fn excerpt(body: &str) -> String {
    let text: String = body.chars().take(300).collect();
    if text.len() < body.len() { format!("{text}…") } else { text }
}

pub struct Visitor {
    client: reqwest::Client,
    /// Cookies by origin (`scheme://host:port`), by name.
    cookies: std::sync::Mutex<BTreeMap<String, BTreeMap<String, String>>>,
}

impl Visitor {
    pub fn new() -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, cookies: Default::default() })
    }

    /// A request to `url` with this visitor's cookies for its origin.
    pub fn request(&self, method: reqwest::Method, url: &str) -> Result<reqwest::RequestBuilder, String> {
        let origin = origin_of(url)?;
        let mut request = self.client.request(method, url);
        let cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(jar) = cookies.get(&origin).filter(|jar| !jar.is_empty()) {
            let header: Vec<String> = jar.iter().map(|(name, value)| format!("{name}={value}")).collect();
            request = request.header("cookie", header.join("; "));
        }
        Ok(request)
    }

    /// Sends `request` (built by [`Self::request`] for `url`) and keeps the cookies it sets.
    pub async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Result<Answer, String> {
        let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
        let origin = origin_of(url)?;
        for set in response.headers().get_all("set-cookie") {
            let Some((name, value)) =
                set.to_str().ok().and_then(|s| s.split(';').next()).and_then(|p| p.split_once('='))
            else {
                continue;
            };
            let mut cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
            cookies.entry(origin.clone()).or_default().insert(name.trim().to_owned(), value.trim().to_owned());
        }
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(|l| resolve(url, l));
        let body = response.text().await.map_err(|e| format!("{url}: {e}"))?;
        Ok(Answer { status, location, body })
    }

    pub async fn get(&self, url: &str) -> Result<Answer, String> {
        self.send(url, self.request(reqwest::Method::GET, url)?).await
    }

    pub async fn post_form(&self, url: &str, fields: &[(String, String)]) -> Result<Answer, String> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request = self.request(reqwest::Method::POST, url)?;
        let request = request.header("content-type", "application/x-www-form-urlencoded").body(body);
        self.send(url, request).await
    }

    /// From `start` (an authorization request) to the redirect back to `redirect_uri`: follows redirects, signs in
    /// on each sign-in page with `login` and `password` (and allows access where a page asks), and answers the
    /// `code` the redirect carries. Each hop is printed.
    pub async fn sign_in(
        &self,
        start: &str,
        redirect_uri: &str,
        (login, password): (&str, &str),
    ) -> Result<String, String> {
        let mut answer = self.get(start).await?;
        let mut at = start.to_owned();
        for _ in 0..10 {
            if let Some(location) = answer.location.clone() {
                if location.starts_with(redirect_uri) {
                    let url = url::Url::parse(&location).map_err(|e| e.to_string())?;
                    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
                    if let Some(error) = param("error") {
                        return Err(format!(
                            "the sign-in ended with {error}: {}",
                            param("error_description").unwrap_or_default()
                        ));
                    }
                    println!("  ← back to the client with a code");
                    return param("code").ok_or_else(|| format!("the redirect carries no code: {location}"));
                }
                println!("  ← {} redirects to {}", answer.status, without_query(&location));
                at = location;
                answer = self.get(&at).await?;
                continue;
            }
            let form = Form::in_page(&answer.body).ok_or_else(|| {
                format!("{} at {}: no sign-in form: {}", answer.status, without_query(&at), excerpt(&answer.body))
            })?;
            if let Some(message) = form.message {
                return Err(format!("the sign-in page says: {message}"));
            }
            println!("  ← a sign-in page at {}; signing in as {login}", without_query(&at));
            let mut fields = form.hidden;
            fields.push(("username".into(), login.into()));
            fields.push(("password".into(), password.into()));
            if form.asks_to_allow {
                fields.push(("decision".into(), "allow".into()));
            }
            let action = resolve(&at, &form.action);
            answer = self.post_form(&action, &fields).await?;
            at = action;
        }
        Err("the sign-in did not come back in ten steps".into())
    }
}

/// A sign-in form read from a page: where it posts, its hidden fields, whether it has an Allow button, and the
/// page's error message (our page's `role="alert"`) if it shows one.
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
    asks_to_allow: bool,
    message: Option<String>,
}

impl Form {
    fn in_page(html: &str) -> Option<Self> {
        let form = tags(html, "form").next()?;
        let action = attribute(form, "action").unwrap_or_default();
        let hidden = tags(html, "input")
            .filter(|tag| attribute(tag, "type").as_deref() == Some("hidden"))
            .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value").unwrap_or_default())))
            .collect();
        let asks_to_allow = tags(html, "button").any(|tag| {
            attribute(tag, "name").as_deref() == Some("decision") && attribute(tag, "value").as_deref() == Some("allow")
        });
        let message = html.find("role=\"alert\"").and_then(|at| {
            let after = &html[at..];
            let text = &after[after.find('>')? + 1..];
            Some(unescape(&text[..text.find('<')?]))
        });
        let message = message.filter(|m| !m.trim().is_empty());
        Some(Self { action, hidden, asks_to_allow, message })
    }
}

/// The opening tags `<name ...>` of a page, as text.
fn tags<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let open = format!("<{name}");
    html.match_indices('<').filter_map(move |(at, _)| {
        if !html[at..].starts_with(&open) {
            return None;
        }
        let tag = &html[at..];
        let end = tag.find('>')?;
        let after_name = tag.as_bytes().get(open.len()).copied();
        matches!(after_name, Some(b' ' | b'>' | b'\n')).then(|| &tag[..end])
    })
}

/// The value of `name="..."` in a tag (our pages and the played partners quote every attribute).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn origin_of(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    Ok(parsed.origin().ascii_serialization())
}

/// `location` resolved against the page it came from.
fn resolve(base: &str, location: &str) -> String {
    url::Url::parse(base).and_then(|b| b.join(location)).map(|u| u.to_string()).unwrap_or_else(|_| location.to_owned())
}

fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_form_is_read_from_our_page_and_smart_mes() {
        let ours = "<form method=\"post\" action=\"/oauth/authorize\">\n<input type=\"hidden\" name=\"state\" value=\"a&amp;b\">\n\
<input type=\"text\" id=\"username\" name=\"username\" value=\"\"><p role=\"alert\">Wrong login or password.</p>";
        let form = Form::in_page(ours).unwrap();
        assert_eq!(form.action, "/oauth/authorize");
        assert_eq!(form.hidden, [("state".to_owned(), "a&b".to_owned())]);
        assert!(!form.asks_to_allow);
        assert_eq!(form.message.as_deref(), Some("Wrong login or password."));
        let theirs = "<form method=\"post\" action=\"/oauth/authorize\"><input type=\"hidden\" name=\"client_id\" value=\"x\">\
<button id=\"allow\" name=\"decision\" value=\"allow\">Allow</button>";
        let form = Form::in_page(theirs).unwrap();
        assert!(form.asks_to_allow && form.message.is_none());
        assert!(Form::in_page("<p>no form</p>").is_none());
        assert_eq!(resolve("http://a:1/x/y?q", "/oauth/authorize"), "http://a:1/oauth/authorize");
    }
}
