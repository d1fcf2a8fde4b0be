//! `aws-recorder UPSTREAM OUT`: a recording proxy on a free loopback port in front of moto_server (`UPSTREAM`,
//! `http://host:port`), appending every AWS call to `OUT` as IAM sees it (see `testkit::aws::calls`), and
//! refusing, as AWS would, each function's call that its role in the translated template denies. Prints
//! `http://127.0.0.1:<port>` once it listens; serves until killed.

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(upstream), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: aws-recorder UPSTREAM OUT");
        std::process::exit(2);
    };
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&out).unwrap_or_else(|e| {
        eprintln!("aws-recorder: cannot open {out}: {e}");
        std::process::exit(1);
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    println!("http://{}", listener.local_addr().expect("local address"));
    let roles = testkit::aws::roles::Roles::new(testkit::aws::template::Translated::environments());
    testkit::aws::recorder::serve_recorder(listener, upstream, file, Some(std::sync::Arc::new(roles))).await;
}
