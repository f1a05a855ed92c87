//! The node's country database: IP address → ISO 3166-1 alpha-2 country code, read from a
//! MaxMind-format `.mmdb` file (`proxy.geo_db`) and swapped in place when the file changes.
//!
//! Two record shapes are read: GeoIP2 / GeoLite2 / DB-IP (`country.iso_code`, falling back to
//! `registered_country.iso_code`) and ip-location-db (`country_code`). A file that cannot be
//! read or parsed at start (or on a config reload) is a config problem; a replacement that
//! cannot be parsed while running is logged and the previous database stays.

use arc_swap::{ArcSwap, ArcSwapOption};
use async_trait::async_trait;
use maxminddb::{MaxMindDbError, Reader};
use parking_lot::Mutex;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often the database file is checked for a change (modification time, size, inode).
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Why a database file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a MaxMind DB.
    #[error("{path} is not a MaxMind DB (.mmdb) file: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The reader's message.
        source: MaxMindDbError,
    },
}

/// What identifies one version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode: meta.ino(),
    })
}

/// The two record shapes, decoded lazily: fields other than these are skipped.
#[derive(Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow, default)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<IsoCode<'a>>,
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

/// An ISO 3166-1 alpha-2 code in upper case, or `None` for anything else (`"--"`, empty).
fn normalise(code: &str) -> Option<String> {
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}

/// One `.mmdb` file, re-read when it changes.
pub struct GeoDb {
    path: PathBuf,
    reader: ArcSwap<Reader<Vec<u8>>>,
    /// The file version last tried (loaded or refused; `None`: missing), so a bad or missing
    /// file is reported once, not at every check.
    seen: Mutex<Option<Stamp>>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<(Reader<Vec<u8>>, Stamp), GeoError> {
    let io = |source| GeoError::Read {
        path: path.to_path_buf(),
        source,
    };
    let before = stamp(path).map_err(io)?;
    let bytes = std::fs::read(path).map_err(io)?;
    let reader = Reader::from_source(bytes).map_err(|source| GeoError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((reader, before))
}

impl GeoDb {
    /// Reads and parses the database at `path`.
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let (reader, seen) = read(path)?;
        Ok(GeoDb {
            path: path.to_path_buf(),
            reader: ArcSwap::from_pointee(reader),
            seen: Mutex::new(Some(seen)),
        })
    }

    /// The file this database is read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The country of `ip`, upper case; `None` when the database has no (valid) country for
    /// it.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let reader = self.reader.load();
        let found = reader.lookup(ip.to_canonical()).ok()?;
        let record: CountryRecord<'_> = found.decode().ok()??;
        let code = record
            .country
            .and_then(|c| c.iso_code)
            .or(record.country_code)
            .or_else(|| record.registered_country.and_then(|c| c.iso_code))?;
        normalise(code)
    }

    /// Re-reads the file if it changed since it was last tried. `Ok(true)` when a new
    /// version is in use; on an error the previous version stays in use.
    pub fn refresh(&self) -> Result<bool, GeoError> {
        let now = stamp(&self.path);
        let key = now.as_ref().ok().copied();
        let mut seen = self.seen.lock();
        if *seen == key {
            return Ok(false);
        }
        *seen = key;
        now.map_err(|source| GeoError::Read {
            path: self.path.clone(),
            source,
        })?;
        let (reader, read_stamp) = read(&self.path)?;
        *seen = Some(read_stamp);
        self.reader.store(Arc::new(reader));
        Ok(true)
    }
}

/// The node's current database, if `proxy.geo_db` is set. Shared by the request path (the
/// request's `country`) and the plugins' `geo-country` import.
#[derive(Debug, Default)]
pub struct GeoSlot(ArcSwapOption<GeoDb>);

impl GeoSlot {
    /// Puts `db` in force (a config load does this); `None` switches geo lookups off.
    pub fn set(&self, db: Option<Arc<GeoDb>>) {
        self.0.store(db);
    }

    /// The database in force.
    pub fn current(&self) -> Option<Arc<GeoDb>> {
        self.0.load_full()
    }

    /// The country of `ip`, when a database is in force and knows it.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        self.0.load().as_ref()?.country(ip)
    }
}

/// The background service that re-reads the database when its file changes.
#[derive(Debug)]
pub struct GeoWatcher {
    /// The node's database slot.
    pub slot: Arc<GeoSlot>,
}

#[async_trait]
impl BackgroundService for GeoWatcher {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut tick = tokio::time::interval(CHECK_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let Some(db) = self.slot.current() else {
                continue;
            };
            let checked = Arc::clone(&db);
            match tokio::task::spawn_blocking(move || checked.refresh()).await {
                Ok(Ok(true)) => {
                    tracing::info!(path = %db.path().display(), "geo database reloaded");
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::error!(
                    error = %e,
                    "geo database not reloaded; the previous one stays in use"
                ),
                Err(e) => tracing::error!(error = %e, "geo database check failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_testkit::mmdb::{write_country_db, RecordShape};

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn db_file(dir: &Path, name: &str, shape: RecordShape, nets: &[(&str, &str)]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, write_country_db(shape, nets)).expect("write mmdb");
        path
    }

    #[test]
    fn reads_the_geoip2_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = db_file(
            dir.path(),
            "geoip2.mmdb",
            RecordShape::GeoIp2,
            &[("203.0.113.0/24", "DE"), ("2001:db8::/32", "fr")],
        );
        let db = GeoDb::open(&path).expect("opens");
        assert_eq!(db.country(ip("203.0.113.77")).as_deref(), Some("DE"));
        assert_eq!(db.country(ip("::ffff:203.0.113.1")).as_deref(), Some("DE"));
        assert_eq!(
            db.country(ip("2001:db8::5")).as_deref(),
            Some("FR"),
            "codes are normalised to upper case"
        );
        assert_eq!(db.country(ip("198.51.100.1")), None);
    }

    #[test]
    fn reads_the_ip_location_db_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = db_file(
            dir.path(),
            "iplocation.mmdb",
            RecordShape::CountryCode,
            &[("198.51.100.0/24", "US"), ("192.0.2.0/24", "--")],
        );
        let db = GeoDb::open(&path).expect("opens");
        assert_eq!(db.country(ip("198.51.100.200")).as_deref(), Some("US"));
        assert_eq!(db.country(ip("192.0.2.1")), None, "not a country code");
        assert_eq!(db.country(ip("203.0.113.1")), None);
    }

    #[test]
    fn a_changed_file_is_picked_up_and_a_broken_one_keeps_the_previous() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = db_file(
            dir.path(),
            "c.mmdb",
            RecordShape::GeoIp2,
            &[("203.0.113.0/24", "DE")],
        );
        let db = GeoDb::open(&path).expect("opens");
        assert!(!db.refresh().expect("unchanged"), "nothing changed yet");

        // Replaced the way geoipupdate does it: a new file renamed over the old one.
        let next = db_file(
            dir.path(),
            "next.mmdb",
            RecordShape::GeoIp2,
            &[("203.0.113.0/24", "AT")],
        );
        std::fs::rename(&next, &path).expect("rename");
        assert!(db.refresh().expect("new file reads"));
        assert_eq!(db.country(ip("203.0.113.9")).as_deref(), Some("AT"));

        std::fs::write(&path, b"this is not a database").expect("overwrite");
        let err = db.refresh().expect_err("garbage is refused");
        assert!(err.to_string().contains("not a MaxMind DB"), "{err}");
        assert_eq!(
            db.country(ip("203.0.113.9")).as_deref(),
            Some("AT"),
            "the previous database stays"
        );
        assert!(!db.refresh().expect("same bad file"), "reported once");

        std::fs::remove_file(&path).expect("remove");
        assert!(matches!(db.refresh(), Err(GeoError::Read { .. })));
        assert!(!db.refresh().expect("still missing"), "reported once");
        assert_eq!(db.country(ip("203.0.113.9")).as_deref(), Some("AT"));
    }

    #[test]
    fn a_missing_or_invalid_file_is_an_error_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = GeoDb::open(&dir.path().join("nope.mmdb")).expect_err("missing");
        assert!(err.to_string().starts_with("cannot read"), "{err}");
        let bad = dir.path().join("bad.mmdb");
        std::fs::write(&bad, [0u8; 64]).expect("write");
        assert!(matches!(GeoDb::open(&bad), Err(GeoError::Parse { .. })));
    }

    #[test]
    fn the_slot_answers_only_with_a_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let slot = GeoSlot::default();
        assert_eq!(slot.country(ip("203.0.113.1")), None);
        let path = db_file(
            dir.path(),
            "c.mmdb",
            RecordShape::GeoIp2,
            &[("203.0.113.0/24", "DE")],
        );
        slot.set(Some(Arc::new(GeoDb::open(&path).expect("opens"))));
        assert_eq!(slot.country(ip("203.0.113.1")).as_deref(), Some("DE"));
        slot.set(None);
        assert_eq!(slot.country(ip("203.0.113.1")), None);
    }
}
