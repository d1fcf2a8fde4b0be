//! RetailCRM as the tests play it: the sandbox's fake CRM, each clientId it is sent registered as a fixture secret
//! of the leak check (a clientId is the credential of the CRM's callbacks: no log may hold it).

pub use sandbox::retailcrm::{EditCall, Mode, ScopesCall, register_json_body};

/// The sandbox's fake CRM ([`sandbox::retailcrm::FakeRetailCrm`]), watched by the leak check.
pub struct FakeRetailCrm(sandbox::retailcrm::FakeRetailCrm);

impl FakeRetailCrm {
    pub async fn start(mode: Mode) -> Self {
        let observer: sandbox::retailcrm::ClientIdObserver = std::sync::Arc::new(|client_id: &str| {
            crate::assertions::leaks::fixture_secrets([client_id]);
        });
        Self(sandbox::retailcrm::FakeRetailCrm::observed(mode, Some(observer)).await)
    }
}

impl std::ops::Deref for FakeRetailCrm {
    type Target = sandbox::retailcrm::FakeRetailCrm;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
