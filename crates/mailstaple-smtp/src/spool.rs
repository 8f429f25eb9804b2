//! The spool: where a received message is made durable before it is acknowledged.
//!
//! A message is written to a temporary file in the spool directory, fsynced, renamed to its final
//! name and the directory fsynced, so after a crash a message is either wholly there or not at all,
//! and a 250 reply is only ever sent for a message that is on disk.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::session::Envelope;

/// A spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    counter: AtomicU64,
}

impl Spool {
    /// Opens (creating if needed) a spool directory.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Spool {
            dir,
            counter: AtomicU64::new(0),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores a message durably; returns its id (the file is `<id>.eml`). `now` is the receipt
    /// time in seconds since the epoch, `received` the text of the Received header to prepend.
    pub fn store(&self, envelope: &Envelope, now: u64, received: &str) -> io::Result<String> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let id = format!("{now:x}-{:x}-{n:x}", std::process::id());
        let tmp = self.dir.join(format!(".{id}.tmp"));
        let fin = self.dir.join(format!("{id}.eml"));
        let result = (|| {
            let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            let mut head = format!("Return-Path: <{}>\r\n", envelope.mail_from);
            for rcpt in &envelope.rcpt_to {
                head.push_str(&format!("X-Envelope-To: <{rcpt}>\r\n"));
            }
            head.push_str(&format!("Received: {received}\r\n"));
            f.write_all(head.as_bytes())?;
            f.write_all(&envelope.data)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &fin)?;
            File::open(&self.dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map(|()| id)
    }
}
