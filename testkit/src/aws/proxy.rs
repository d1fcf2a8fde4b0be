//! A TCP proxy on loopback in front of a real server (moto), which a test can take down and bring back, to see
//! how the code behaves when AWS is unreachable.

use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy. While down it closes every connection, open ones included.
pub struct Proxy {
    pub endpoint: String,
    down: Arc<watch::Sender<bool>>,
}

impl Proxy {
    /// Forwards a free loopback port to `target` (`http://host:port`).
    pub async fn start(target: &str) -> Self {
        let target = target.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let (down, _) = watch::channel(false);
        let down = Arc::new(down);
        let watching = down.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut state = watching.subscribe();
                if *state.borrow() {
                    continue; // dropped: the client sees its connection closed
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = state.wait_for(|down| *down) => {}
                    }
                });
            }
        });
        Self { endpoint, down }
    }

    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }
}
