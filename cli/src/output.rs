//! `--output`: what the list and show commands print. `table` (the default) is one tab-separated row per record
//! for a terminal and `cut`; `json` is one JSON array of objects with stable field names, for scripts.

use serde_json::Value;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
}

#[derive(clap::Args, Clone, Copy, Debug)]
pub struct OutputArgs {
    /// How to print the records.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

impl OutputArgs {
    /// Prints `records` (JSON objects): as a JSON array, or as rows of the fields `columns` names, in order.
    pub fn print(&self, records: &[Value], columns: &[&str]) -> Result<(), String> {
        match self.output {
            Format::Json => {
                let text = serde_json::to_string_pretty(records).map_err(|e| e.to_string())?;
                println!("{text}");
            }
            Format::Table => {
                for record in records {
                    let cells: Vec<String> = columns.iter().map(|c| cell(&record[*c])).collect();
                    println!("{}", cells.join("\t"));
                }
            }
        }
        Ok(())
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
