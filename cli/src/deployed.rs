//! `--stack NAME`: a deployed stack's table, secret prefix and URLs, read from its CloudFormation outputs instead of
//! pasted one by one (region and credentials from the usual AWS environment and profile).

use std::collections::BTreeMap;

/// The outputs of one deployed stack.
pub struct DeployedStack {
    name: String,
    outputs: BTreeMap<String, String>,
}

impl DeployedStack {
    /// Reads stack `name`'s outputs.
    pub async fn describe(name: &str) -> Result<Self, String> {
        let vars = shared::env::Vars::from_process();
        let config = shared::ports::aws::sdk_config(&vars).await.map_err(|e| e.to_string())?;
        let client = aws_sdk_cloudformation::Client::new(&config);
        let answer = client.describe_stacks().stack_name(name).send().await.map_err(|e| {
            use aws_sdk_cloudformation::error::ProvideErrorMetadata;
            let detail = e.as_service_error().and_then(|s| s.message()).map(str::to_owned);
            format!("cannot read stack `{name}`: {}", detail.unwrap_or_else(|| e.to_string()))
        })?;
        let stack = answer.stacks().first().ok_or_else(|| format!("no stack `{name}`"))?;
        let outputs = stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect();
        Ok(Self { name: name.to_owned(), outputs })
    }

    /// The output `key`, or an error naming the stack and the key.
    pub fn output(&self, key: &str) -> Result<&str, String> {
        self.outputs
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("stack `{}` has no `{key}` output (is it a Switchyard stack?)", self.name))
    }

    pub fn table(&self) -> Result<&str, String> {
        self.output("TableName")
    }

    pub fn secret_prefix(&self) -> Result<&str, String> {
        self.output("SecretPrefix")
    }
}
