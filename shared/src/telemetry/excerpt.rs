//! Text from outside (a partner's answer, a caller's header) as a log field: bounded, so no caller can fill the
//! logs, and escaped, so no caller can forge a line or a field (control characters, including newlines, become
//! visible escapes).

/// The most characters of outside text a log field carries.
pub const MAX_CHARS: usize = 256;

/// `bytes` as a log field: lossy UTF-8, control characters escaped, at most [`MAX_CHARS`] characters of the text
/// (an ellipsis marks the cut).
pub fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_cannot_be_forged() {
        assert_eq!(excerpt(b"bad\n{\"level\":\"ERROR\"}\r\x1b[31m"), "bad\\n{\"level\":\"ERROR\"}\\r\\u{1b}[31m");
        assert_eq!(excerpt(&[0xff, b'a']), "\u{fffd}a");
    }

    proptest! {
        #[test]
        fn bounded_and_free_of_control_characters(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let shown = excerpt(&bytes);
            prop_assert!(shown.chars().count() <= MAX_CHARS * 10 + 1);
            prop_assert!(!shown.chars().any(char::is_control));
        }
    }
}
