//! The text log format's fields (the local runner, a terminal): every value bounded and escaped as
//! [`super::excerpt`] does, the message too, so no caller can forge a line, move the cursor or fill the screen.
//! (The JSON format escapes by construction; request-derived fields are bounded where they are logged.)

use super::excerpt::excerpt;
use lambda_http::tracing::field::{Field, Visit};
use lambda_http::tracing::subscriber::field::RecordFields;
use lambda_http::tracing::subscriber::fmt::FormatFields;
use lambda_http::tracing::subscriber::fmt::format::Writer;
use std::fmt::{self, Write as _};

/// Fields as `message name=value ...`, each value bounded and escaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct BoundedFields;

impl<'writer> FormatFields<'writer> for BoundedFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = Bounded { writer: &mut writer, result: Ok(()), first: true };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct Bounded<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
    first: bool,
}

impl Bounded<'_, '_> {
    fn write(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let separator = if std::mem::take(&mut self.first) { "" } else { " " };
        let shown = excerpt(value.as_bytes());
        self.result = if field.name() == "message" {
            write!(self.writer, "{separator}{shown}")
        } else {
            write!(self.writer, "{separator}{}={shown}", field.name())
        };
    }
}

impl Visit for Bounded<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut text = String::new();
        // A value's own text can be huge: only what is shown is kept.
        let _ = write!(Truncating { out: &mut text }, "{value:?}");
        self.write(field, &text);
    }
}

/// Keeps the first bytes written to it (enough for an excerpt), drops the rest.
struct Truncating<'a> {
    out: &'a mut String,
}

impl fmt::Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = (super::excerpt::MAX_CHARS * 4 + 4).saturating_sub(self.out.len());
        let mut end = s.len().min(room);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.out.push_str(&s[..end]);
        Ok(())
    }
}
