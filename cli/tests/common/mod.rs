//! Running the `switchyard` binary the tests built, as an operator would.

use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// What a command did.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// `switchyard ARGS` with `stdin` on its standard input and `env` added to the environment, which otherwise names
/// no table, stack or secret prefix (the test's arguments do).
pub async fn switchyard<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: &str, env: &[(String, String)]) -> Run {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("SWITCHYARD_TABLE")
        .env_remove("SWITCHYARD_STACK")
        .env_remove("SWITCHYARD_SECRET_PREFIX")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Run { ok: output.status.success(), stdout: text(&output.stdout), stderr: text(&output.stderr) }
}
