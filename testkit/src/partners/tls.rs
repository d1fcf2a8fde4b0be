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
    /// A root signing the server certificate directly, both ECDSA P-256.
    pub fn new() -> Self {
        Self::issue(&rcgen::PKCS_ECDSA_P256_SHA256, false)
    }

    /// An authority shaped like the chain AWS endpoints present: RSA-2048 throughout, the server certificate sent
    /// with the intermediate that signed it (Amazon Root CA 1 -> Amazon RSA 2048 M0x -> the endpoint), so a client
    /// verifies what it would verify against AWS.
    pub fn aws_shaped() -> Self {
        Self::issue(&rcgen::PKCS_RSA_SHA256, true)
    }

    fn issue(algorithm: &'static rcgen::SignatureAlgorithm, with_intermediate: bool) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let key = || KeyPair::generate_for(algorithm).expect("key pair");
        let authority = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("authority params");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params
        };
        let root_key = key();
        let root = authority("Switchyard test root");
        let root_cert = root.self_signed(&root_key).expect("root certificate");
        let mut issuer = rcgen::Issuer::new(root, root_key);
        let mut chain = Vec::new();
        if with_intermediate {
            let intermediate_key = key();
            let intermediate = authority("Switchyard test intermediate");
            let intermediate_cert = intermediate.signed_by(&intermediate_key, &issuer).expect("intermediate");
            chain.push(intermediate_cert.der().clone());
            issuer = rcgen::Issuer::new(intermediate, intermediate_key);
        }
        let server_key = key();
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
        let server_cert = server.signed_by(&server_key, &issuer).expect("server certificate");
        chain.insert(0, server_cert.der().clone());
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

    /// An HTTPS front for a plain-HTTP emulator at `upstream` (`host:port`, moto_server), as AWS's endpoints are
    /// HTTPS: each request is relayed to the emulator and its answer returned on the same kept-alive connection.
    /// (moto answers `Connection: close`; AWS keeps connections open, so a client's reuse is what it would be.)
    pub fn front(&self, listener: TcpListener, upstream: String) {
        use http_body_util::BodyExt;
        let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let upstream = upstream.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
                let mut answer = crate::forward::send_to(&upstream, &parts, body).await?;
                answer.headers_mut().remove(hyper::header::CONNECTION);
                Ok::<_, std::io::Error>(answer)
            }
        });
        self.serve_https(listener, service);
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
                    // As servers do: without it Nagle holds the handshake's later records for the client's
                    // delayed ACK (40 ms each).
                    let _ = stream.set_nodelay(true);
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
