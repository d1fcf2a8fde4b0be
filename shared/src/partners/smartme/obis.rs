//! OBIS codes (IEC 62056-61): six bytes A,B,C,D,E,F, written `A-B:C.D.E*F`.

use std::fmt;
use std::str::FromStr;

/// An OBIS code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Obis(pub [u8; 6]);

impl Obis {
    /// From the raw bytes of a smart-me `DeviceValue.Obis`; `None` unless exactly six bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; 6]>::try_from(bytes).ok().map(Self)
    }

    /// Value group C.D.E with A=1 (electricity), B=0, F=255: the common case, for readable constants.
    pub const fn electricity(c: u8, d: u8, e: u8) -> Self {
        Self([1, 0, c, d, e, 255])
    }
}

impl fmt::Display for Obis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a}-{b}:{c}.{d}.{e}*{g}")
    }
}

/// Why a text is not an OBIS code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an OBIS code (expected A-B:C.D.E*F with numbers 0-255)")]
pub struct ObisParseError;

impl FromStr for Obis {
    type Err = ObisParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (a, rest) = text.split_once('-').ok_or(ObisParseError)?;
        let (b, rest) = rest.split_once(':').ok_or(ObisParseError)?;
        let (cde, f) = rest.split_once('*').ok_or(ObisParseError)?;
        let mut cde = cde.split('.');
        let (c, d, e) = (cde.next(), cde.next(), cde.next());
        if cde.next().is_some() {
            return Err(ObisParseError);
        }
        let byte = |part: Option<&str>| -> Result<u8, ObisParseError> {
            let part = part.ok_or(ObisParseError)?;
            // Plain decimal only: no sign, no spaces, no leading `+`.
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ObisParseError);
            }
            part.parse().map_err(|_| ObisParseError)
        };
        Ok(Self([byte(Some(a))?, byte(Some(b))?, byte(c)?, byte(d)?, byte(e)?, byte(Some(f))?]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_and_parses() {
        let import = Obis([1, 0, 1, 8, 0, 255]);
        assert_eq!(import.to_string(), "1-0:1.8.0*255");
        assert_eq!("1-0:1.8.0*255".parse::<Obis>().unwrap(), import);
        assert_eq!(Obis::electricity(1, 8, 0), import);
        assert_eq!("99-0:12.0.0*0".parse::<Obis>().unwrap(), Obis([99, 0, 12, 0, 0, 0]));
        assert_eq!(Obis::from_bytes(&[1, 0, 2, 8, 0, 255]), Some(Obis([1, 0, 2, 8, 0, 255])));
        assert_eq!(Obis::from_bytes(&[1, 0, 2, 8, 0]), None);
        assert_eq!(Obis::from_bytes(&[1, 0, 2, 8, 0, 255, 0]), None);
    }

    #[test]
    fn refuses_malformed_text() {
        for bad in [
            "",
            "1-0:1.8.0",
            "1-0:1.8*255",
            "1-0:1.8.0.0*255",
            "256-0:1.8.0*255",
            "1-0:1.8.-1*255",
            "a-0:1.8.0*255",
            "1-0:1.8.0*+25",
            "1-0:1.8.0*0255",
        ] {
            assert!(bad.parse::<Obis>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn text_round_trips(bytes in any::<[u8; 6]>()) {
            let obis = Obis(bytes);
            prop_assert_eq!(obis.to_string().parse::<Obis>().unwrap(), obis);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,24}") {
            let _ = text.parse::<Obis>();
        }
    }
}
