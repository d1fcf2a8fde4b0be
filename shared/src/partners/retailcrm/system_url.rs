//! Which CRM addresses the module will call: a valid register token must not turn `register` into a proxy for
//! internal addresses, so `systemUrl` is checked against an allow-list before any request is made (and every call
//! connects only to public addresses: `crate::ports::public_dns`).
//!
//! The default is the SaaS domains RetailCRM's own transport core accepts (`retailcrm/mg-transport-core`, its
//! `crm-domains.json`: an account is `<name>.<domain>`). On-premise ("box") CRMs live on their owners' domains:
//! RetailCRM publishes them in `box-domains.json`, which its core fetches; here the operator adds each box CRM
//! the module serves as an exact host entry (`crm.example.com`), so no list fetched at run time can widen what
//! the module calls.

use crate::env::{ConfigError, Vars};

/// The CRM domains RetailCRM and Simla host accounts under.
pub const DEFAULT_ALLOWED_HOSTS: &str = "*.retailcrm.ru,*.retailcrm.pro,*.retailcrm.es,*.retailcrm.io,*.simla.com,\
*.simla.io,*.simlachat.com,*.simlachat.ru,*.ecomlogic.com";

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    /// `*.example.com`: any subdomain (one or more labels), https only, default port.
    Subdomains(String),
    /// `crm.example.com`: that host, https only, default port.
    Host(String),
    /// `http://127.0.0.1:8081`: exactly that scheme, host and port (how tests reach a fake CRM).
    Origin { scheme: String, host: String, port: u16 },
}

/// The allow-list from `RETAILCRM_ALLOWED_HOSTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<Allowed>);

/// Why a `systemUrl` was refused; the message is shown to the CRM user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("systemUrl {0}")]
pub struct SystemUrlError(&'static str);

impl AllowedHosts {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let name = "RETAILCRM_ALLOWED_HOSTS";
        let invalid =
            |entry: &str, reason: &str| ConfigError { name: name.into(), reason: format!("`{entry}`: {reason}") };
        let mut entries = Vec::new();
        for entry in vars.list_or(name, DEFAULT_ALLOWED_HOSTS) {
            let lower = entry.to_ascii_lowercase();
            if lower.contains("://") {
                let url = url::Url::parse(&lower).map_err(|e| invalid(&entry, &e.to_string()))?;
                let host = url.host_str().ok_or_else(|| invalid(&entry, "no host"))?.to_owned();
                let port = url.port_or_known_default().ok_or_else(|| invalid(&entry, "no port"))?;
                if !matches!(url.scheme(), "http" | "https") || url.path() != "/" || !url.username().is_empty() {
                    return Err(invalid(&entry, "an origin is scheme://host[:port] only"));
                }
                entries.push(Allowed::Origin { scheme: url.scheme().to_owned(), host, port });
            } else if let Some(domain) = lower.strip_prefix("*.") {
                if !is_domain(domain) {
                    return Err(invalid(&entry, "not a domain"));
                }
                entries.push(Allowed::Subdomains(domain.to_owned()));
            } else {
                if !is_domain(&lower) {
                    return Err(invalid(&entry, "not a host name"));
                }
                entries.push(Allowed::Host(lower));
            }
        }
        Ok(Self(entries))
    }

    /// Whether `system_url` (canonical, as [`Self::check`] answers it) is one of RetailCRM's own cloud addresses
    /// (a `*.` entry admits it), rather than a box CRM's or a test origin.
    pub fn is_cloud(&self, system_url: &str) -> bool {
        let Ok(url) = url::Url::parse(system_url) else { return false };
        let Some(url::Host::Domain(host)) = url.host() else { return false };
        url.scheme() == "https"
            && url.port().is_none()
            && self.0.iter().any(|entry| matches!(entry, Allowed::Subdomains(domain) if under(host, domain)))
    }

    /// The canonical `systemUrl` (`scheme://host[:port]`, no trailing slash) if it is allowed.
    pub fn check(&self, system_url: &str) -> Result<String, SystemUrlError> {
        let url = url::Url::parse(system_url.trim()).map_err(|_| SystemUrlError("is not a URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SystemUrlError("must not contain credentials"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(SystemUrlError("must be the CRM's address without a path"));
        }
        let Some(url::Host::Domain(host)) = url.host().map(|h| h.to_owned()) else {
            // IP literals are only reachable through an explicit origin entry.
            return self.check_origin(&url);
        };
        // DNS names are at most 253 characters: anything longer is no CRM (and never a store key).
        if host.len() > 253 {
            return Err(SystemUrlError("is not a host name"));
        }
        let scheme = url.scheme();
        let default_port = url.port().is_none();
        let allowed = self.0.iter().any(|entry| match entry {
            Allowed::Subdomains(domain) => scheme == "https" && default_port && under(&host, domain),
            Allowed::Host(h) => scheme == "https" && default_port && host == *h,
            Allowed::Origin { .. } => false,
        });
        if allowed {
            return Ok(origin(&url));
        }
        self.check_origin(&url)
    }

    fn check_origin(&self, url: &url::Url) -> Result<String, SystemUrlError> {
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(SystemUrlError("has no host"));
        };
        let allowed = self.0.iter().any(|entry| {
            matches!(entry, Allowed::Origin { scheme, host: h, port: p } if scheme == url.scheme() && h == host && *p == port)
        });
        if allowed {
            Ok(origin(url))
        } else if url.scheme() != "https" {
            Err(SystemUrlError("must be an https URL"))
        } else {
            Err(SystemUrlError("is not a RetailCRM address this module accepts"))
        }
    }
}

/// Whether `host` is a subdomain (one or more labels) of `domain`.
fn under(host: &str, domain: &str) -> bool {
    host.len() > domain.len() + 1 && host.ends_with(domain) && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

fn origin(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

fn is_domain(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> AllowedHosts {
        AllowedHosts::from_vars(&Vars::default()).unwrap()
    }

    #[test]
    fn accepts_crm_accounts_and_canonicalises() {
        let hosts = defaults();
        assert_eq!(hosts.check("https://shop.retailcrm.ru").unwrap(), "https://shop.retailcrm.ru");
        assert_eq!(hosts.check("https://Shop.RetailCRM.ru/").unwrap(), "https://shop.retailcrm.ru");
        assert_eq!(hosts.check("https://a.b.simla.io").unwrap(), "https://a.b.simla.io");
        assert_eq!(hosts.check("https://shop.retailcrm.ru:443/").unwrap(), "https://shop.retailcrm.ru");
    }

    /// What RetailCRM's transport core accepts (`mg-transport-core`, its validator tests and `crm-domains.json`).
    #[test]
    fn accepts_what_retailcrms_own_core_accepts() {
        let hosts = defaults();
        for crm in [
            "https://asd.retailcrm.ru",
            "https://test.retailcrm.pro",
            "https://raisa.retailcrm.es",
            "https://test.retailcrm.io",
            "https://blabla.simla.com",
            "https://test.simla.io",
            "https://blabla.simlachat.com",
            "https://blabla.simlachat.ru",
            "https://blabla.ecomlogic.com",
        ] {
            assert_eq!(hosts.check(crm).as_deref(), Ok(crm), "{crm}");
            assert!(hosts.is_cloud(crm), "{crm}");
        }
        // A box CRM (one of `box-domains.json`'s) only as the operator's own entry, and it is not the cloud.
        assert!(hosts.check("https://crm.baucenter.ru").is_err());
        let with_box = AllowedHosts::from_vars(&Vars::from_pairs([(
            "RETAILCRM_ALLOWED_HOSTS",
            "*.retailcrm.ru,crm.baucenter.ru",
        )]))
        .unwrap();
        assert_eq!(with_box.check("https://crm.baucenter.ru").as_deref(), Ok("https://crm.baucenter.ru"));
        assert!(!with_box.is_cloud("https://crm.baucenter.ru") && with_box.is_cloud("https://a.retailcrm.ru"));
    }

    #[test]
    fn refuses_everything_else() {
        let hosts = defaults();
        for bad in [
            "http://shop.retailcrm.ru",
            "https://retailcrm.ru",
            "https://evilretailcrm.ru",
            "https://shop.retailcrm.ru.evil.com",
            "https://user:pw@shop.retailcrm.ru",
            "https://shop.retailcrm.ru/api",
            "https://shop.retailcrm.ru/?x=1",
            "https://shop.retailcrm.ru:8443",
            "https://127.0.0.1",
            "https://169.254.169.254",
            "https://[::1]",
            "file:///etc/passwd",
            "not a url",
            "",
        ] {
            assert!(hosts.check(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn an_origin_entry_allows_exactly_that_origin() {
        let vars = Vars::from_pairs([("RETAILCRM_ALLOWED_HOSTS", "http://127.0.0.1:8081, crm.example.com")]);
        let hosts = AllowedHosts::from_vars(&vars).unwrap();
        assert_eq!(hosts.check("http://127.0.0.1:8081/").unwrap(), "http://127.0.0.1:8081");
        assert!(hosts.check("http://127.0.0.1:8082").is_err());
        assert!(hosts.check("https://127.0.0.1:8081").is_err());
        assert_eq!(hosts.check("https://crm.example.com").unwrap(), "https://crm.example.com");
        assert!(hosts.check("https://x.crm.example.com").is_err());
        assert!(hosts.check("https://shop.retailcrm.ru").is_err(), "the configured list replaces the defaults");
    }

    #[test]
    fn bad_entries_are_configuration_errors() {
        for bad in ["*.", "ftp://x:1", "http://h:1/path", "bad host", "*.a..b"] {
            let vars = Vars::from_pairs([("RETAILCRM_ALLOWED_HOSTS", bad)]);
            assert!(AllowedHosts::from_vars(&vars).is_err(), "{bad}");
        }
    }
}
