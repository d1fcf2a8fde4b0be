//! Our cookies (the sign-in form's CSRF nonce, the upstream sign-in's browser binding): over HTTPS named with the
//! `__Host-` prefix, which browsers accept only with `Secure`, `Path=/` and no `Domain`, so no sibling site can set
//! or shadow one (cookie tossing); on plain HTTP (the local runner) under the bare name. Each transport reads only
//! its own name.

/// One of our cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCookie {
    /// The name without the prefix.
    pub name: &'static str,
    /// `Strict` or `Lax`.
    pub same_site: &'static str,
    pub max_age_s: i64,
}

impl HostCookie {
    /// The name on a transport: `__Host-<name>` when `secure`.
    pub fn name(&self, secure: bool) -> String {
        if secure { format!("__Host-{}", self.name) } else { self.name.to_owned() }
    }

    /// The `Set-Cookie` value carrying `value`.
    pub fn set(&self, value: &str, secure: bool) -> String {
        let secure_attr = if secure { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; Max-Age={}; HttpOnly; SameSite={}{secure_attr}",
            self.name(secure),
            self.max_age_s,
            self.same_site
        )
    }

    /// This cookie's value in a `Cookie` header, under the transport's name only.
    pub fn value<'h>(&self, header: &'h str, secure: bool) -> Option<&'h str> {
        let name = self.name(secure);
        header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOKIE: HostCookie = HostCookie { name: "switchyard_csrf", same_site: "Strict", max_age_s: 600 };

    #[test]
    fn host_prefixed_over_https_bare_on_plain_http() {
        assert_eq!(
            COOKIE.set("abc", true),
            "__Host-switchyard_csrf=abc; Path=/; Max-Age=600; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(COOKIE.set("abc", false), "switchyard_csrf=abc; Path=/; Max-Age=600; HttpOnly; SameSite=Strict");
        let both = "a=1; switchyard_csrf=tossed; __Host-switchyard_csrf=ours; b=2";
        assert_eq!(COOKIE.value(both, true), Some("ours"), "a tossed bare cookie is not read over HTTPS");
        assert_eq!(COOKIE.value(both, false), Some("tossed"));
        assert_eq!(COOKIE.value("a=1", true), None);
    }
}
