//! The headers every HTML page of ours carries (the pages' text is `crate::codec::html`'s).

use crate::codec::html::STYLE;
use crate::crypto::{sha256, to_base64};
use crate::edge::handler::{Body, Response};
use http::{HeaderValue, StatusCode, header};

/// An HTML page with the headers every page of ours carries: no caching, no framing, nothing loaded from
/// elsewhere (the only style is the inline one, allowed by its hash, and no script at all), forms posting only to
/// us and to `form_target`'s origin.
pub fn response(status: StatusCode, html: String, form_target: Option<&str>) -> Response<Body> {
    let mut response = crate::edge::handler::html(status, html);
    let style_hash = to_base64(&sha256(STYLE.as_bytes()));
    let target = form_target
        .and_then(|t| url::Url::parse(t).ok())
        .map(|u| format!(" {}", u.origin().ascii_serialization()))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{style_hash}'; form-action 'self'{target}; frame-ancestors 'none'; \
base-uri 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::html::{document, escape};

    #[test]
    fn escapes_and_headers() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        let page = response(StatusCode::OK, document("<T>", "<p>x</p>"), Some("https://client.example.com/cb?x=1"));
        let policy = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"), "{policy}");
        assert!(policy.contains("form-action 'self' https://client.example.com;"), "{policy}");
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        assert_eq!(page.headers()["cache-control"], "no-store");
    }
}
