//! The fleet on disk: one JSON file, replaced whole on every change by writing a
//! temporary file beside it and renaming it over the old one. A rename within a
//! directory is atomic, so a process killed at any instant leaves either the old
//! state or the new one, never half a file. (No fsync: surviving `kill -9` is the
//! goal, surviving power loss is not, and a sync on every poll would slow the
//! demo for nothing.)

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use super::SimError;
use super::state::{FORMAT, State};

/// The state stored at `path`, or `None` if there is no file yet.
pub fn load(path: &Path) -> Result<Option<State>, SimError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SimError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    // Read the format first, so a file from another version is reported as such
    // instead of as whatever field happens to fail to parse.
    #[derive(serde::Deserialize)]
    struct Header {
        format: u32,
    }
    let corrupt = |source| SimError::Corrupt {
        path: path.to_owned(),
        source,
    };
    let header: Header = serde_json::from_str(&text).map_err(corrupt)?;
    if header.format != FORMAT {
        return Err(SimError::Format {
            path: path.to_owned(),
            found: header.format,
        });
    }
    serde_json::from_str(&text).map(Some).map_err(corrupt)
}

/// Replaces the file at `path` with `state`.
pub fn save(path: &Path, state: &State) -> Result<(), SimError> {
    let io_error = |source| SimError::Io {
        path: path.to_owned(),
        source,
    };
    let json = serde_json::to_vec_pretty(state).map_err(|err| io_error(io::Error::other(err)))?;
    let tmp = temp_path(path);
    std::fs::write(&tmp, json).map_err(io_error)?;
    std::fs::rename(&tmp, path).map_err(io_error)
}

/// `state.json` -> `state.json.tmp`, in the same directory so the rename stays
/// atomic (it cannot cross file systems).
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}
