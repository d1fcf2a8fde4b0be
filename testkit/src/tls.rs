//! A certificate authority of the test's own and HTTPS on loopback with a certificate it issued: for the partners
//! whose certificates chain to a root the platform's store lacks (Sber's partner API: the Russian Trusted Root CA).

use std::sync::Arc;
use tokio::net::TcpListener;

/// A root certificate (PEM, what an operator would configure) and a server certificate it signed for
/// `127.0.0.1` and `localhost`.
pub struct TestCa {
    pub root_pem: String,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl TestCa {
    pub fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let root_key = KeyPair::generate().expect("root key");
        let mut root = CertificateParams::new(Vec::<String>::new()).expect("root params");
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.distinguished_name.push(DnType::CommonName, "Switchyard test root");
        let root_cert = root.self_signed(&root_key).expect("root certificate");
        let root_issuer = rcgen::Issuer::new(root, root_key);
        let server_key = KeyPair::generate().expect("server key");
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
        let server_cert = server.signed_by(&server_key, &root_issuer).expect("server certificate");
        let chain = vec![server_cert.der().clone()];
        let key = rustls_key(&server_key);
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
        Self { root_pem: root_cert.pem(), acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)) }
    }

    /// Serves `service` over HTTPS with this authority's certificate on every connection `listener` accepts.
    pub fn serve_https<S>(&self, listener: TcpListener, service: S)
    where
        S: hyper::service::Service<
                hyper::Request<hyper::body::Incoming>,
                Response = hyper::Response<http_body_util::Full<bytes::Bytes>>,
            > + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let acceptor = self.acceptor.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (service, acceptor) = (service.clone(), acceptor.clone());
                tokio::spawn(async move {
                    // A client that does not trust the certificate ends the handshake: nothing to serve.
                    let Ok(stream) = acceptor.accept(stream).await else { return };
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

fn rustls_key(key: &rcgen::KeyPair) -> tokio_rustls::rustls::pki_types::PrivateKeyDer<'static> {
    tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into())
}
