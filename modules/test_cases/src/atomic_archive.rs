//! Atomic Red Team archives (`.zip`, `.tar.gz`, `.tar`) read in memory into
//! the atomics they hold. Uploads are hostile until proven otherwise: entries
//! are counted, what is unpacked is metered, an entry whose path would leave
//! the archive's folder or that is a link refuses the whole archive, and
//! nothing is ever written to disk.

use std::cell::Cell;
use std::io::{Cursor, Read};
use std::rc::Rc;

/// The bounds one archive is read within.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Entries of any kind (folders and ignored files included).
    pub max_entries: usize,
    /// Bytes unpacked from the whole archive: for a compressed tar the whole
    /// stream (every entry must be unpacked to reach the next), for a zip
    /// the atomics read (other entries are never unpacked).
    pub max_unpacked: u64,
    /// One atomic; Atomic Red Team's largest is under 100 KiB.
    pub max_atomic: u64,
}

/// One atomic file found in an archive: its path inside it and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedAtomic {
    pub path: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArchiveError {
    /// The archive unpacks past a bound (a zip bomb among others): 413.
    #[error("{0}")]
    TooLarge(String),
    /// Not an archive this reader takes, unreadable, or holding an entry
    /// that is refused (a link, a path leaving the folder): 422.
    #[error("{0}")]
    Refused(String),
}

/// Reads the atomics (`Txxxx.yaml`, `Txxxx.xxx.yaml` in any folder, as
/// Atomic Red Team lays them out) from a zip, gzip-compressed tar or plain
/// tar, told apart by their first bytes; every other entry is ignored.
pub fn read_atomics(
    bytes: &[u8],
    limits: ArchiveLimits,
) -> Result<Vec<ArchivedAtomic>, ArchiveError> {
    let mut found = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        read_zip(bytes, limits)?
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        let gunzip = flate2::read::GzDecoder::new(bytes);
        read_tar(Metered::new(gunzip, limits.max_unpacked), limits)?
    } else if bytes.get(257..262) == Some(b"ustar") {
        read_tar(Metered::new(bytes, limits.max_unpacked), limits)?
    } else {
        return Err(ArchiveError::Refused(
            "not a .zip, .tar.gz or .tar archive".into(),
        ));
    };
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Whether an entry's file name is an atomic's (`T1003.yaml`, `T1003.001.yml`).
fn is_atomic_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = match name.rsplit_once('.') {
        Some((stem, ext))
            if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") =>
        {
            stem
        }
        _ => return false,
    };
    crate::model::is_attack_id(&stem.to_ascii_uppercase()) && stem.starts_with(['T', 't'])
}

/// Refuses a path that is absolute, climbs out (`..`), names a drive, or
/// holds a backslash or NUL: extracting it elsewhere would write outside
/// the folder, so an archive carrying one is not trusted at all.
fn check_path(path: &str) -> Result<(), ArchiveError> {
    let unsafe_path = path.is_empty()
        || path.starts_with('/')
        || path.contains(['\\', '\0'])
        || path.split('/').any(|part| part == "..")
        || path
            .split('/')
            .next()
            .is_some_and(|first| first.ends_with(':'));
    if unsafe_path {
        return Err(ArchiveError::Refused(format!(
            "the entry {path:?} has a path outside the archive's folder"
        )));
    }
    Ok(())
}

fn too_many(limits: ArchiveLimits) -> ArchiveError {
    ArchiveError::TooLarge(format!(
        "the archive holds more than {} entries",
        limits.max_entries
    ))
}

fn unpacks_past(limits: ArchiveLimits) -> ArchiveError {
    ArchiveError::TooLarge(format!(
        "the archive unpacks to more than {} MiB",
        limits.max_unpacked >> 20
    ))
}

fn atomic_too_large(path: &str, limits: ArchiveLimits) -> ArchiveError {
    ArchiveError::TooLarge(format!(
        "{path} unpacks to more than {} KiB, more than any atomic",
        limits.max_atomic >> 10
    ))
}

fn read_zip(bytes: &[u8], limits: ArchiveLimits) -> Result<Vec<ArchivedAtomic>, ArchiveError> {
    let unreadable =
        |e: zip::result::ZipError| ArchiveError::Refused(format!("unreadable zip: {e}"));
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    if zip.len() > limits.max_entries {
        return Err(too_many(limits));
    }
    let mut unpacked = 0u64;
    let mut found = Vec::new();
    for index in 0..zip.len() {
        // The raw view reads the entry's header without decrypting or
        // unpacking anything.
        let (path, wanted) = {
            let entry = zip.by_index_raw(index).map_err(unreadable)?;
            let path = entry.name().to_owned();
            check_path(&path)?;
            if entry.is_symlink() {
                return Err(ArchiveError::Refused(format!(
                    "the entry {path:?} is a symbolic link"
                )));
            }
            let wanted = !entry.is_dir() && is_atomic_name(&path);
            if wanted && entry.size() > limits.max_atomic {
                return Err(atomic_too_large(&path, limits));
            }
            (path, wanted)
        };
        if !wanted {
            continue;
        }
        let entry = zip.by_index(index).map_err(unreadable)?;
        // The declared size may lie: the bytes are counted as they come.
        let mut content = Vec::new();
        entry
            .take(limits.max_atomic + 1)
            .read_to_end(&mut content)
            .map_err(|e| ArchiveError::Refused(format!("unreadable entry {path:?}: {e}")))?;
        if content.len() as u64 > limits.max_atomic {
            return Err(atomic_too_large(&path, limits));
        }
        unpacked += content.len() as u64;
        if unpacked > limits.max_unpacked {
            return Err(unpacks_past(limits));
        }
        found.push(ArchivedAtomic {
            path,
            bytes: content,
        });
    }
    Ok(found)
}

fn read_tar<R: Read>(
    stream: Metered<R>,
    limits: ArchiveLimits,
) -> Result<Vec<ArchivedAtomic>, ArchiveError> {
    let tripped = stream.tripped.clone();
    // A read error after the meter tripped is the bound, not a broken file.
    let failed = |what: String| {
        if tripped.get() {
            unpacks_past(limits)
        } else {
            ArchiveError::Refused(what)
        }
    };
    let mut archive = tar::Archive::new(stream);
    let entries = archive
        .entries()
        .map_err(|e| failed(format!("unreadable tar: {e}")))?;
    let mut found = Vec::new();
    for (count, entry) in entries.enumerate() {
        if count >= limits.max_entries {
            return Err(too_many(limits));
        }
        let mut entry = entry.map_err(|e| failed(format!("unreadable tar: {e}")))?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        check_path(&path)?;
        use tar::EntryType;
        match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous => {}
            // Folders, and metadata the reader applies itself.
            EntryType::Directory | EntryType::XGlobalHeader | EntryType::XHeader => continue,
            EntryType::Symlink | EntryType::Link => {
                return Err(ArchiveError::Refused(format!(
                    "the entry {path:?} is a link"
                )));
            }
            other => {
                return Err(ArchiveError::Refused(format!(
                    "the entry {path:?} is not a file or folder ({other:?})"
                )));
            }
        }
        if !is_atomic_name(&path) {
            continue;
        }
        if entry.size() > limits.max_atomic {
            return Err(atomic_too_large(&path, limits));
        }
        let mut content = Vec::new();
        (&mut entry)
            .take(limits.max_atomic + 1)
            .read_to_end(&mut content)
            .map_err(|e| failed(format!("unreadable entry {path:?}: {e}")))?;
        found.push(ArchivedAtomic {
            path,
            bytes: content,
        });
    }
    if tripped.get() {
        return Err(unpacks_past(limits));
    }
    Ok(found)
}

/// A reader that fails once more than its bound came through it, and says
/// so through `tripped` (the tar reader owns the stream while it reads).
struct Metered<R> {
    inner: R,
    left: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R> Metered<R> {
    fn new(inner: R, max: u64) -> Self {
        Self {
            inner,
            left: max,
            tripped: Rc::new(Cell::new(false)),
        }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // One byte more tells a stream that ends exactly at the bound
            // from one that goes on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.tripped.set(true);
                    Err(std::io::Error::other("unpack limit reached"))
                }
            };
        }
        let room = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..room])?;
        self.left -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LIMITS: ArchiveLimits = ArchiveLimits {
        max_entries: 100,
        max_unpacked: 1 << 20,
        max_atomic: 64 << 10,
    };

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn tar_gz_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            // Written raw, so hostile names reach the archive as given.
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            tar.append(&header, *bytes).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn atomics_are_found_in_zips_and_tarballs_other_files_ignored() {
        let entries: &[(&str, &[u8])] = &[
            ("atomics/T1003/T1003.yaml", b"attack_technique: T1003"),
            (
                "atomics/T1059.001/T1059.001.yml",
                b"attack_technique: T1059.001",
            ),
            ("atomics/Indexes/index.yaml", b"not an atomic"),
            ("atomics/T1003/src/tool.ps1", b"Write-Host"),
        ];
        for archive in [zip_of(entries), tar_gz_of(entries)] {
            let found = read_atomics(&archive, LIMITS).unwrap();
            let paths: Vec<&str> = found.iter().map(|a| a.path.as_str()).collect();
            assert_eq!(
                paths,
                [
                    "atomics/T1003/T1003.yaml",
                    "atomics/T1059.001/T1059.001.yml"
                ]
            );
            assert_eq!(found[0].bytes, b"attack_technique: T1003");
        }
    }

    #[test]
    fn paths_leaving_the_folder_refuse_the_archive() {
        for name in [
            "../T1003.yaml",
            "/etc/T1003.yaml",
            "a/../../T1003.yaml",
            "C:/T1003.yaml",
            "a\\..\\T1003.yaml",
        ] {
            let entries: &[(&str, &[u8])] = &[(name, b"x")];
            for archive in [zip_of(entries), tar_gz_of(entries)] {
                assert!(
                    matches!(
                        read_atomics(&archive, LIMITS),
                        Err(ArchiveError::Refused(_))
                    ),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn links_refuse_the_archive() {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        tar.append_link(&mut header, "T1003.yaml", "/etc/passwd")
            .unwrap();
        let archive = tar.into_inner().unwrap().finish().unwrap();
        let refused = read_atomics(&archive, LIMITS).unwrap_err();
        assert!(refused.to_string().contains("link"), "{refused}");

        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.add_symlink(
            "T1003.yaml",
            "/etc/passwd",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        let archive = zip.finish().unwrap().into_inner();
        let refused = read_atomics(&archive, LIMITS).unwrap_err();
        assert!(refused.to_string().contains("symbolic link"), "{refused}");
    }

    #[test]
    fn bombs_stop_at_the_bounds() {
        // Compresses to about a kilobyte, unpacks past the atomic bound.
        let big = vec![b'a'; (LIMITS.max_atomic + 1) as usize];
        for archive in [
            zip_of(&[("T1003.yaml", &big)]),
            tar_gz_of(&[("T1003.yaml", &big)]),
        ] {
            assert!(archive.len() < 4096);
            assert!(matches!(
                read_atomics(&archive, LIMITS),
                Err(ArchiveError::TooLarge(_))
            ));
        }
        // Entries that are never imported still count, unpacked, in a tarball.
        let filler = vec![0u8; (LIMITS.max_unpacked / 4) as usize];
        let many: Vec<(String, &[u8])> = (0..6)
            .map(|i| (format!("src/blob{i}.bin"), filler.as_slice()))
            .collect();
        let named: Vec<(&str, &[u8])> = many.iter().map(|(n, b)| (n.as_str(), *b)).collect();
        let refused = read_atomics(&tar_gz_of(&named), LIMITS).unwrap_err();
        assert_eq!(refused, unpacks_past(LIMITS));
        let names: Vec<String> = (0..=LIMITS.max_entries)
            .map(|i| format!("f{i}.txt"))
            .collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        for archive in [zip_of(&entries), tar_gz_of(&entries)] {
            assert_eq!(
                read_atomics(&archive, LIMITS).unwrap_err(),
                too_many(LIMITS)
            );
        }
    }

    #[test]
    fn what_is_not_an_archive_is_refused() {
        assert!(matches!(
            read_atomics(b"attack_technique: T1003", LIMITS),
            Err(ArchiveError::Refused(_))
        ));
        assert!(matches!(
            read_atomics(&[0x1f, 0x8b, 0, 0], LIMITS),
            Err(ArchiveError::Refused(_))
        ));
        assert!(is_atomic_name("x/t1003.YAML"));
        assert!(!is_atomic_name("x/T1003.md"));
        assert!(!is_atomic_name("x/index.yaml"));
    }
}
