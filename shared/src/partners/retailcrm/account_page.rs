//! The module's personal account in the CRM: the page the CRM sends its user to after connecting, and whenever the
//! user opens the module (a POST with `clientId`, seed 002). It shows the installation as we keep it, never its
//! API key, with the headers and escaping of every page of ours (see [`crate::codec::html`]).

use super::account::Account;
use crate::codec::html::{document, escape};

/// The page of `account`, for a module named `module_name`.
pub fn page(account: &Account, module_name: &str) -> String {
    let status = match (account.active, account.freeze) {
        (_, true) => "Frozen by the CRM (the module does not work until it is unfrozen)",
        (true, false) => "Active",
        (false, false) => "Inactive (switched off in the CRM)",
    };
    let settings = match account.settings.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()) {
        Some(value) => format!("<pre>{}</pre>", escape(&serde_json::to_string_pretty(&value).unwrap_or_default())),
        None => "<p>None yet: the CRM sends them when they are changed in the module's card.</p>".to_owned(),
    };
    let main = format!(
        "<h1>{name} in your CRM</h1>\n\
<p>{name} connects this CRM with the vendor's cloud: it keeps the connection the CRM set up, follows the module's \
activity in the CRM, and stores the settings made in the module's card.</p>\n\
<h2>This installation</h2>\n<dl>\n\
<dt>CRM address</dt><dd id=\"system-url\">{system_url}</dd>\n\
<dt>Status</dt><dd id=\"status\">{status}</dd>\n\
<dt>Connected since</dt><dd id=\"connected-since\">{since}</dd>\n\
<dt>Module code</dt><dd>{code}</dd>\n</dl>\n\
<h2>Settings the module keeps</h2>\n{settings}\n\
<p>To disconnect, switch the module off in the CRM's marketplace.</p>\n",
        name = escape(module_name),
        system_url = escape(&account.system_url),
        since = crate::time_text::rfc3339(account.created_at),
        code = escape(&account.code),
    );
    document(&format!("{module_name}: your installation"), &main)
}

/// The page for a missing or unknown `clientId`.
pub fn not_found_page(module_name: &str) -> String {
    document(
        "Installation not found",
        &format!(
            "<h1>Installation not found</h1>\n<p role=\"alert\">This link does not name an installation of {}.</p>\n\
<p>Open the module from your CRM's marketplace to reach its page.</p>\n",
            escape(module_name)
        ),
    )
}

/// The page while installations cannot be read.
pub fn unavailable_page() -> String {
    document("Try again", "<h1>Try again</h1>\n<p>The page is unavailable for a moment.</p>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            client_id: "cid".into(),
            code: "switchyard-abc".into(),
            system_url: "https://shop.retailcrm.ru".into(),
            api_key: "the-api-key-never-shown".into(),
            active: true,
            freeze: false,
            settings: Some(r#"{"note":"<script>alert(1)</script>"}"#.into()),
            scopes: None,
            created_at: 1_795_374_238,
            updated_at: 1_795_374_238,
        }
    }

    #[test]
    fn shows_the_installation_escaped_and_never_the_api_key() {
        let html = page(&account(), "Switch<yard>");
        assert!(html.contains("https://shop.retailcrm.ru") && html.contains(">Active<"));
        assert!(html.contains("2026-11-22T19:03:58Z"));
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("Switch&lt;yard&gt;"));
        assert!(!html.contains("the-api-key-never-shown"));
        let frozen = page(&Account { freeze: true, ..account() }, "S");
        assert!(frozen.contains("Frozen"));
        assert!(not_found_page("S").contains("not found"));
    }
}
