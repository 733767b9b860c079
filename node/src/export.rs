//! The portable export file: the whole signed change log of a node, so an office can back
//! up a node and move it (import into a fresh node gives identical documents, since
//! acceptance is a pure function of the set of signed changes).
//!
//! # Format (version 1)
//!
//! | part    | bytes | content                                                         |
//! |---------|-------|-----------------------------------------------------------------|
//! | header  | 8     | magic `LINLIEXP`                                                |
//! |         | 4     | format version, `u32` LE (`1`)                                  |
//! | entry   | 1     | tag `1`                                                         |
//! |         | 4     | `n`, `u32` LE                                                   |
//! |         | `n`   | one [`SignedChange::encode`](linli_core::SignedChange::encode)  |
//! | end     | 1     | tag `0`                                                         |
//! |         | 8     | number of entries, `u64` LE                                     |
//! |         | 32    | BLAKE3 of every byte before the end tag                         |
//!
//! Entries are in the node's arrival order, refused and pending changes included (the
//! importing node refuses them again, with the same reasons). A file without its end part
//! was cut short; an import still takes every whole entry and says so.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use linli_core::signed::HEADER_LEN;

use crate::error::ExportError;

/// Magic bytes at the start of an export file.
pub const EXPORT_MAGIC: &[u8; 8] = b"LINLIEXP";
/// Export format version written by this build.
pub const EXPORT_VERSION: u32 = 1;
const TAG_END: u8 = 0;
const TAG_ENTRY: u8 = 1;
/// Largest entry accepted: the envelope plus the largest change linli-core accepts.
const MAX_ENTRY: usize = HEADER_LEN + linli_core::document::MAX_CHANGE_BYTES;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The file written.
    pub path: PathBuf,
    /// Number of signed changes in it.
    pub changes: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Whole entries read from the file.
    pub entries: u64,
    /// Changes newly applied (including changes that were waiting for them).
    pub applied: u64,
    /// Changes this node already held.
    pub duplicates: u64,
    /// Changes stored that wait for dependencies or certificates.
    pub pending: u64,
    /// Changes stored as refused (with their reasons; see `Node::rejected`).
    pub refused: u64,
    /// Entries that could not be used: (entry index from 0, what was wrong). Not stored.
    pub invalid: Vec<(u64, String)>,
    /// Whether the file ended with an intact end part (count and checksum match).
    pub complete: bool,
    /// Why the file could not be read to its end part, if it could not.
    pub problem: Option<String>,
}

/// Writes an export file entry by entry, with a running checksum.
pub(crate) struct ExportWriter {
    out: BufWriter<File>,
    hasher: blake3::Hasher,
    count: u64,
    bytes: u64,
    tmp: PathBuf,
    path: PathBuf,
}

impl ExportWriter {
    /// Starts `path` (written as `path.tmp`, mode 0600, and renamed on
    /// [`ExportWriter::finish`]).
    pub(crate) fn create(path: &Path) -> Result<Self, ExportError> {
        let tmp = crate::private::tmp_of(path);
        // Readable by its owner only, like the store it comes from (a change log holds
        // every document of the node).
        let f = crate::private::create(&tmp).map_err(|source| ExportError::Io {
            path: tmp.clone(),
            source,
        })?;
        let mut w = ExportWriter {
            out: BufWriter::new(f),
            hasher: blake3::Hasher::new(),
            count: 0,
            bytes: 0,
            tmp,
            path: path.to_path_buf(),
        };
        w.put(EXPORT_MAGIC)?;
        w.put(&EXPORT_VERSION.to_le_bytes())?;
        Ok(w)
    }

    fn put(&mut self, b: &[u8]) -> Result<(), ExportError> {
        self.hasher.update(b);
        self.bytes += b.len() as u64;
        self.out.write_all(b).map_err(|source| ExportError::Io {
            path: self.tmp.clone(),
            source,
        })
    }

    /// Appends one encoded signed change.
    pub(crate) fn entry(&mut self, encoded: &[u8]) -> Result<(), ExportError> {
        let len = u32::try_from(encoded.len()).unwrap_or(u32::MAX);
        self.put(&[TAG_ENTRY])?;
        self.put(&len.to_le_bytes())?;
        self.put(encoded)?;
        self.count += 1;
        Ok(())
    }

    /// Writes the end part, syncs and renames the file into place.
    pub(crate) fn finish(mut self) -> Result<ExportSummary, ExportError> {
        let digest = *self.hasher.finalize().as_bytes();
        let count = self.count;
        self.put(&[TAG_END])?;
        self.put(&count.to_le_bytes())?;
        self.put(&digest)?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ExportError::Io { path, source }
        };
        let f = self
            .out
            .into_inner()
            .map_err(|e| io(&self.tmp)(e.into_error()))?;
        f.sync_all().map_err(io(&self.tmp))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.path).map_err(io(&self.path))?;
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Best effort: the rename is durable once the directory is synced.
            let _ = File::open(parent).and_then(|d| d.sync_all());
        }
        Ok(ExportSummary {
            path: self.path,
            changes: count,
            bytes: self.bytes,
        })
    }
}

/// Reads an export file entry by entry.
pub(crate) struct ExportReader {
    input: BufReader<File>,
    hasher: blake3::Hasher,
    count: u64,
    path: PathBuf,
    done: bool,
    /// Set when the end part was read and matched.
    pub(crate) complete: bool,
    /// Set when the file could not be read to its end part.
    pub(crate) problem: Option<String>,
}

impl ExportReader {
    /// Opens `path` and checks its header.
    pub(crate) fn open(path: &Path) -> Result<Self, ExportError> {
        let io = |source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut input = BufReader::new(File::open(path).map_err(io)?);
        let mut header = [0u8; 12];
        if let Err(e) = input.read_exact(&mut header) {
            return Err(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                ExportError::NotAnExport(path.to_path_buf())
            } else {
                io(e)
            });
        }
        if &header[..8] != EXPORT_MAGIC {
            return Err(ExportError::NotAnExport(path.to_path_buf()));
        }
        let mut v = [0u8; 4];
        v.copy_from_slice(&header[8..]);
        let version = u32::from_le_bytes(v);
        if version != EXPORT_VERSION {
            return Err(ExportError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: EXPORT_VERSION,
            });
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(&header);
        Ok(ExportReader {
            input,
            hasher,
            count: 0,
            path: path.to_path_buf(),
            done: false,
            complete: false,
            problem: None,
        })
    }

    fn stop(&mut self, problem: String) -> Option<Vec<u8>> {
        self.done = true;
        self.problem = Some(problem);
        None
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), String> {
        self.input.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                format!(
                    "the file ends inside {what} after {} entries (cut short?)",
                    self.count
                )
            } else {
                format!("{}: {e}", self.path.display())
            }
        })
    }

    /// The next entry's bytes; `None` at the end (check `complete` and `problem`).
    pub(crate) fn next_entry(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let mut tag = [0u8; 1];
        match self.input.read(&mut tag) {
            Ok(0) => {
                let n = self.count;
                return self.stop(format!(
                    "the file ends after {n} entries without its end part (cut short?)"
                ));
            }
            Ok(_) => {}
            Err(e) => return self.stop(format!("{}: {e}", self.path.display())),
        }
        match tag[0] {
            TAG_ENTRY => {
                let mut len = [0u8; 4];
                if let Err(p) = self.read_exact(&mut len, "an entry's length") {
                    return self.stop(p);
                }
                let n = usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX);
                if n > MAX_ENTRY {
                    let c = self.count;
                    return self.stop(format!(
                        "entry {c} claims {n} bytes, more than any signed change ({MAX_ENTRY}); \
                         the file is damaged from here on"
                    ));
                }
                let mut buf = vec![0u8; n];
                if let Err(p) = self.read_exact(&mut buf, "an entry") {
                    return self.stop(p);
                }
                self.hasher.update(&tag);
                self.hasher.update(&len);
                self.hasher.update(&buf);
                self.count += 1;
                Some(buf)
            }
            TAG_END => {
                self.done = true;
                let mut end = [0u8; 40];
                if let Err(p) = self.read_exact(&mut end, "the end part") {
                    self.problem = Some(p);
                    return None;
                }
                let mut count = [0u8; 8];
                count.copy_from_slice(&end[..8]);
                let count = u64::from_le_bytes(count);
                let digest = *self.hasher.finalize().as_bytes();
                if count != self.count {
                    self.problem = Some(format!(
                        "the end part counts {count} entries but the file holds {}",
                        self.count
                    ));
                } else if digest[..] != end[8..] {
                    self.problem = Some("the checksum does not match: the file is damaged".into());
                } else {
                    let mut rest = [0u8; 1];
                    match self.input.read(&mut rest) {
                        Ok(0) => self.complete = true,
                        _ => self.problem = Some("bytes follow the end part".into()),
                    }
                }
                None
            }
            other => {
                let c = self.count;
                self.stop(format!(
                    "unknown tag {other} after entry {c}; the file is damaged from here on"
                ))
            }
        }
    }

    /// Entries read so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}
