//! RetailCRM as the tests play it: the sandbox's fake CRM, each clientId it is sent registered as a fixture secret
//! of the leak check (a clientId is the credential of the CRM's callbacks: no log may hold it).

pub use sandbox::retailcrm::{EditCall, Mode, ScopesCall, register_json_body};

/// The sandbox's fake CRM ([`sandbox::retailcrm::FakeCrm`]), watched by the leak check.
pub struct FakeCrm(sandbox::retailcrm::FakeCrm);

impl FakeCrm {
    pub async fn start(mode: Mode) -> Self {
        let observer: sandbox::retailcrm::ClientIdObserver = std::sync::Arc::new(|client_id: &str| {
            crate::leaks::fixture_secrets([client_id]);
        });
        Self(sandbox::retailcrm::FakeCrm::observed(mode, Some(observer)).await)
    }
}

impl std::ops::Deref for FakeCrm {
    type Target = sandbox::retailcrm::FakeCrm;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
