//! The text of our few HTML pages (the sign-in form, RetailCRM's account page): one plain, accessible document
//! shell with an inline style and no external assets, and escaping. The headers they are served with are
//! `crate::edge::web_page`'s.

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
