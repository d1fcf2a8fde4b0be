//! `switchyard events tail`: the events the local runner published, as a stack with an `EventBusName` would put
//! them on its bus. The runner's stand-in for the bus is a JSON-lines file in its data directory.

use crate::output::Format;
use shared::ports::event_bus::{EventBus, FileBus};
use std::io::{BufRead, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum EventsCommand {
    /// Print the published events (oldest first), then with --follow each new one as it is published.
    Tail {
        /// Directory of the embedded store (the one `serve --data` uses).
        #[arg(long, default_value = ".switchyard")]
        data: PathBuf,
        /// Keep printing events as the runner publishes them, until interrupted.
        #[arg(long)]
        follow: bool,
        /// `table`: time, source, detail-type, eventId; `json`: one event envelope per line.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
}

fn bus_file(data: &Path) -> PathBuf {
    data.join("events.jsonl")
}

/// The local event bus of the store in `data`.
pub fn local_bus(data: &Path) -> Arc<dyn EventBus> {
    Arc::new(FileBus::new(bus_file(data)))
}

fn print(line: &str, output: Format) {
    let line = line.trim_end();
    if line.is_empty() {
        return;
    }
    match (output, serde_json::from_str::<serde_json::Value>(line)) {
        (Format::Table, Ok(event)) => {
            let field = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            let (time, source, kind) = (field(&event["time"]), field(&event["source"]), field(&event["detail-type"]));
            println!("{time}\t{source}\t{kind}\t{}", field(&event["detail"]["eventId"]));
        }
        _ => println!("{line}"),
    }
}

pub async fn run(command: EventsCommand) -> Result<(), String> {
    let EventsCommand::Tail { data, follow, output } = command;
    let path = bus_file(&data);
    if !follow && !path.exists() {
        return Ok(());
    }
    let mut offset = 0u64;
    loop {
        if let Ok(mut file) = std::fs::File::open(&path) {
            file.seek(std::io::SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
            let mut reader = std::io::BufReader::new(file);
            let mut line = String::new();
            // Only whole lines: a line still being written is read on the next round.
            while reader.read_line(&mut line).map_err(|e| e.to_string())? > 0 && line.ends_with('\n') {
                offset += line.len() as u64;
                print(&line, output);
                line.clear();
            }
        }
        if !follow {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
