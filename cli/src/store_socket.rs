//! The runner's store, lent to the operator CLI while `switchyard serve` runs.
//!
//! The embedded store is one redb file, which one process may hold at a time; the runner holds it for as long as it
//! serves. So the runner also listens on a Unix socket beside the file (`runner.sock`, readable by its owner only)
//! and answers [`Store`] calls there: a CLI command finds the socket, and its reads and writes go through the
//! runner's store, and through the runner's stand-in of the table's stream (Sber hears of a device linked from the
//! CLI exactly as it would of one linked by the runner). One JSON line per call and per answer.

use shared::ports::store::{Condition, Item, Key, Query, Store, StoreError, Update, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The socket's file name in the data directory.
pub const SOCKET_FILE: &str = "runner.sock";

/// The largest call line read (bytes): DynamoDB's largest transaction (100 items of 400 KB) with room for JSON.
const MAX_LINE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(serde::Serialize, serde::Deserialize)]
enum Call {
    Get(Key),
    Put(Item, Condition),
    Update(Key, Update, Condition),
    Delete(Key, Condition),
    Query(Query),
    BatchPut(Vec<Item>),
    BatchGet(Vec<Key>),
    BatchExists(Vec<Key>),
    Transact(Vec<Write>),
}

#[derive(serde::Serialize, serde::Deserialize)]
enum Answer {
    Done,
    Found(Option<Item>),
    Item(Item),
    Items(Vec<Item>),
    Keys(Vec<Key>),
}

/// The socket of the store in `data`.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join(SOCKET_FILE)
}

/// Lends `store` on the socket in `data` until the runtime ends; the socket file is the owner's only.
pub fn lend(data: &Path, store: Arc<dyn Store>) -> Result<(), String> {
    let path = socket_path(data);
    // A socket left by a runner that did not end cleanly: the store file's lock, taken before this, says no other
    // runner serves this directory.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                // A CLI that hangs up mid-call is its own business.
                let _ = answer_calls(stream, store.as_ref()).await;
            });
        }
    });
    Ok(())
}

/// Removes the socket file (the runner is ending).
pub fn withdraw(data: &Path) {
    let _ = std::fs::remove_file(socket_path(data));
}

async fn answer_calls(stream: UnixStream, store: &dyn Store) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader.take(MAX_LINE_BYTES)).lines();
    while let Some(line) = lines.next_line().await? {
        let answer = match serde_json::from_str::<Call>(&line) {
            Ok(call) => perform(store, call).await,
            Err(e) => Err(StoreError::Invalid(format!("not a store call: {e}"))),
        };
        let mut out = serde_json::to_vec(&answer).map_err(std::io::Error::other)?;
        out.push(b'\n');
        writer.write_all(&out).await?;
    }
    Ok(())
}

async fn perform(store: &dyn Store, call: Call) -> Result<Answer, StoreError> {
    Ok(match call {
        Call::Get(key) => Answer::Found(store.get(&key).await?),
        Call::Put(item, condition) => store.put(item, condition).await.map(|()| Answer::Done)?,
        Call::Update(key, update, condition) => Answer::Item(store.update(&key, update, condition).await?),
        Call::Delete(key, condition) => store.delete(&key, condition).await.map(|()| Answer::Done)?,
        Call::Query(query) => Answer::Items(store.query(&query).await?),
        Call::BatchPut(items) => Answer::Items(store.batch_put(items).await?),
        Call::BatchGet(keys) => Answer::Items(store.batch_get(&keys).await?),
        Call::BatchExists(keys) => Answer::Keys(store.batch_exists(&keys).await?),
        Call::Transact(writes) => store.transact(writes).await.map(|()| Answer::Done)?,
    })
}

/// The runner's store, reached through its socket.
#[derive(Debug, Clone)]
pub struct LentStore {
    path: PathBuf,
}

impl LentStore {
    /// The store the runner serving `data` lends, if one does.
    pub async fn find(data: &Path) -> Option<Self> {
        let path = socket_path(data);
        UnixStream::connect(&path).await.ok().map(|_| Self { path })
    }

    async fn call(&self, call: Call) -> Result<Answer, StoreError> {
        let lost = |e: std::io::Error| StoreError::Unavailable(format!("the runner's store socket: {e}"));
        let stream = UnixStream::connect(&self.path).await.map_err(lost)?;
        let (reader, mut writer) = stream.into_split();
        let mut line = serde_json::to_vec(&call).map_err(|e| StoreError::Invalid(e.to_string()))?;
        line.push(b'\n');
        writer.write_all(&line).await.map_err(lost)?;
        let mut answer = String::new();
        BufReader::new(reader).read_line(&mut answer).await.map_err(lost)?;
        if answer.is_empty() {
            return Err(StoreError::Unavailable("the runner ended before it answered".into()));
        }
        serde_json::from_str::<Result<Answer, StoreError>>(&answer)
            .map_err(|e| StoreError::Unavailable(format!("the runner's answer is unreadable: {e}")))?
    }
}

fn unexpected() -> StoreError {
    StoreError::Unavailable("the runner answered another call".into())
}

#[async_trait::async_trait]
impl Store for LentStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        match self.call(Call::Get(key.clone())).await? {
            Answer::Found(item) => Ok(item),
            _ => Err(unexpected()),
        }
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        match self.call(Call::Put(item, condition)).await? {
            Answer::Done => Ok(()),
            _ => Err(unexpected()),
        }
    }

    async fn update(&self, key: &Key, update: Update, condition: Condition) -> Result<Item, StoreError> {
        match self.call(Call::Update(key.clone(), update, condition)).await? {
            Answer::Item(item) => Ok(item),
            _ => Err(unexpected()),
        }
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        match self.call(Call::Delete(key.clone(), condition)).await? {
            Answer::Done => Ok(()),
            _ => Err(unexpected()),
        }
    }

    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        match self.call(Call::Query(query.clone())).await? {
            Answer::Items(items) => Ok(items),
            _ => Err(unexpected()),
        }
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        match self.call(Call::BatchPut(items)).await? {
            Answer::Items(items) => Ok(items),
            _ => Err(unexpected()),
        }
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        match self.call(Call::BatchGet(keys.to_vec())).await? {
            Answer::Items(items) => Ok(items),
            _ => Err(unexpected()),
        }
    }

    async fn batch_exists(&self, keys: &[Key]) -> Result<Vec<Key>, StoreError> {
        match self.call(Call::BatchExists(keys.to_vec())).await? {
            Answer::Keys(keys) => Ok(keys),
            _ => Err(unexpected()),
        }
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        match self.call(Call::Transact(writes)).await? {
            Answer::Done => Ok(()),
            _ => Err(unexpected()),
        }
    }
}
