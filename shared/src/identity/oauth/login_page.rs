//! The login form and the error page of the authorization endpoint: plain, accessible HTML with no external assets.

use super::authorize::AuthorizeRequest;

pub use crate::codec::html::{STYLE, escape};

fn page(title: &str, main: &str) -> String {
    crate::codec::html::document(title, main)
}

/// The sign-in form for `request`. Credential inputs are `username` and `password`; everything else the POST needs
/// travels in hidden inputs. `message` (wrong credentials, throttling) is announced to screen readers.
pub fn login_form(request: &AuthorizeRequest, csrf_token: &str, username: &str, message: Option<&str>) -> String {
    let mut main = format!(
        "<h1>Sign in</h1>\n<p>Sign in to connect your account with <strong>{}</strong>.</p>\n",
        escape(&request.client_id)
    );
    if let Some(message) = message {
        main.push_str(&format!("<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>\n", escape(message)));
    }
    let described = if message.is_some() { " aria-describedby=\"form-error\"" } else { "" };
    main.push_str("<form method=\"post\" action=\"/oauth/authorize\">\n");
    for (name, value) in request.params() {
        main.push_str(&format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n", escape(value)));
    }
    main.push_str(&format!("<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\n", escape(csrf_token)));
    main.push_str(&format!(
        "<label for=\"username\">Login</label>\n\
<input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" \
autocapitalize=\"none\" spellcheck=\"false\" required{described}>\n\
<label for=\"password\">Password</label>\n\
<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{described}>\n\
<button type=\"submit\">Sign in</button>\n</form>\n",
        escape(username)
    ));
    page("Sign in", &main)
}

/// A page explaining why the request cannot go on (unknown client, unregistered redirect URI).
pub fn error_page(message: &str) -> String {
    page(
        "Cannot sign in",
        &format!(
            "<h1>Cannot sign in</h1>\n<p role=\"alert\">{}</p>\n\
<p>Go back to the application you came from and start again.</p>\n",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_everywhere() {
        let request = AuthorizeRequest {
            client_id: "c".into(),
            redirect_uri: "https://x/cb".into(),
            scope: "read".into(),
            state: "\"><script>alert(1)</script>".into(),
            code_challenge: None,
        };
        let html = login_form(&request, "tok", "<b>bob</b>", Some("Wrong <login>"));
        assert!(!html.contains("<script>") && !html.contains("<b>"));
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(html.contains("role=\"alert\"") && html.contains("Wrong &lt;login&gt;"));
        assert!(!html.contains("http://") && !html.contains("src="), "no external assets");
        assert!(!error_page("<i>").contains("<i>"));
    }
}
