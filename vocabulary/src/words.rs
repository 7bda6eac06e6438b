//! One spelling per word: the macro that gives a closed set of words its `as_str`, `FromStr`,
//! `Display` and serde, all from the same table.

use std::fmt;

/// A word that is not in the vocabulary (a stored value written by something else, a
/// client's typo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWord {
    /// What was expected, e.g. "verification status".
    pub expected: &'static str,
    pub word: String,
}

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}: {:?}", self.expected, self.word)
    }
}

impl std::error::Error for UnknownWord {}

/// Serializes as the word's spelling, deserializes by parsing it.
macro_rules! serde_as_word {
    ($name:ident) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let word = String::deserialize(deserializer)?;
                word.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// `word == "spelling"`: what a JSON answer or a test holds is compared without parsing it.
macro_rules! compares_with_its_spelling {
    ($name:ident) => {
        impl PartialEq<str> for $name {
            fn eq(&self, spelling: &str) -> bool {
                spelling.parse::<$name>().is_ok_and(|word| word == *self)
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, spelling: &&str) -> bool {
                *self == **spelling
            }
        }
    };
}

/// A closed set of words: `enum Name("what it is") { Variant => "spelling", … }`.
macro_rules! words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident($expected:literal) {
            $($(#[$variant_meta:meta])* $variant:ident => $word:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// Every word, in the order declared.
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The spelling stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::UnknownWord;

            fn from_str(word: &str) -> Result<Self, Self::Err> {
                match word {
                    $($word => Ok($name::$variant),)+
                    _ => Err($crate::UnknownWord {
                        expected: $expected,
                        word: word.to_owned(),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        serde_as_word!($name);
        compares_with_its_spelling!($name);
    };
}
