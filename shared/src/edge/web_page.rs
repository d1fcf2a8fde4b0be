//! Our few HTML pages (the sign-in form, RetailCRM's account page): one plain, accessible document shell with an
//! inline style and no external assets, and the headers every page carries.

use crate::crypto::{sha256, to_base64};
use crate::edge::http::{Body, Response};
use http::{HeaderValue, StatusCode, header};

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The one style of every page, allowed by its hash in the Content-Security-Policy.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;\
line-height:1.5;color:#1a1a1a}label{display:block;margin-top:1rem;font-weight:600}input[type=text],\
input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box;border:1px solid #555}\
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}\
.error{border-left:4px solid #b00020;padding:.5rem 1rem;background:#fdecee}\
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\
pre{background:#f4f4f4;padding:.5rem;overflow-x:auto}";

/// A whole document: `title` (escaped here) and `main`, HTML the caller escaped.
pub fn document(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{main}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// An HTML page with the headers every page of ours carries: no caching, no framing, nothing loaded from
/// elsewhere (the only style is the inline one, allowed by its hash, and no script at all), forms posting only to
/// us and to `form_target`'s origin.
pub fn response(status: StatusCode, html: String, form_target: Option<&str>) -> Response<Body> {
    let mut response = crate::edge::http::html(status, html);
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
