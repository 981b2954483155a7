//! The intent language: chat text in, a typed [`Intent`] (or a helpful
//! [`ParseError`]) out.
//!
//! The words live in data (`intents/*.toml`, embedded in the binary and
//! overridable per deployment); the meaning lives in code ([`IntentKind`] fixes
//! each intent's fields and their types). The pipeline is: [`text`] strips what
//! chat adds around a command and splits it into words, each looked up once in
//! the [`vocab`]ulary; every [`pattern`] that can start with the first word runs
//! in the [`matcher`]; the first complete match becomes an [`Intent`], and when
//! none matches the attempt that got furthest becomes the [`ParseError`].

mod error;
mod examples;
mod explain;
mod files;
mod grammar;
mod kind;
mod matcher;
mod model;
mod pattern;
pub mod slots;
mod text;
mod vocab;

pub use error::{ErrorKind, ParseError};
pub use files::{Example, Sources};
pub use grammar::{EnvWords, Grammar, GrammarError, Spec};
pub use kind::{Field, IntentKind, SlotType, SlotValue, Slots};
pub use model::{EnvName, Intent, Strategy, Version};
pub use text::MAX_MESSAGE_CHARS;
