//! A real PostgreSQL for tests, with a throwaway database per test ([`TestPostgres::database`]).
//!
//! The server is found once per test process: the one answering at 127.0.0.1:5432 (user
//! `postgres`, trust auth) if there is one, else a fresh cluster started from Debian's
//! `/usr/lib/postgresql/<highest>/bin` (`initdb -A trust`, `pg_ctl start` on a free loopback
//! port; through `runuser -u postgres` when running as root). That cluster is stopped
//! (`pg_ctl stop -m fast`) and its directory removed by a small watchdog shell as soon as the
//! test process exits, however it exits. If neither works the test panics with what was tried:
//! these tests never skip.

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The PostgreSQL server shared by every test in this process.
pub struct TestPostgres {
    port: u16,
    psql: PathBuf,
    /// How the server was found, for messages.
    origin: String,
    /// The watchdog's stdin: when this process exits the pipe closes and the watchdog stops
    /// the cluster we started. `None` for a server we did not start.
    _watchdog: Option<Mutex<ChildStdin>>,
}

/// A database that exists until this is dropped (then `DROP DATABASE ... WITH (FORCE)`).
pub struct TestDb {
    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub url: String,
    name: String,
    server: &'static TestPostgres,
}

static SERVER: OnceLock<Result<TestPostgres, String>> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestPostgres {
    /// The shared server, found or started on first use; panics with what was tried if there
    /// is none.
    pub fn shared() -> &'static TestPostgres {
        match SERVER.get_or_init(find_or_start) {
            Ok(server) => server,
            Err(e) => panic!("no PostgreSQL for tests: {e}"),
        }
    }

    /// A fresh, empty database `weir_test_<pid>_<counter>_<random>` on the shared server.
    pub fn database() -> TestDb {
        let server = Self::shared();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let name = format!(
            "weir_test_{}_{n}_{:08x}",
            std::process::id(),
            random & 0xffff_ffff
        );
        if let Err(e) = server.psql("postgres", &format!("CREATE DATABASE \"{name}\"")) {
            panic!("CREATE DATABASE {name} on {}: {e}", server.origin);
        }
        TestDb {
            url: server.url(&name),
            name,
            server,
        }
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs `sql` with `psql` as `postgres` in database `db`; unaligned, tuples-only output
    /// (`|`-separated columns) or psql's error.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        run_psql(&self.psql, self.port, db, sql)
    }

    /// Whether a database named `name` exists.
    pub fn database_exists(&self, name: &str) -> Result<bool, String> {
        let out = self.psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_database WHERE datname = '{}'",
                name.replace('\'', "''")
            ),
        )?;
        Ok(out.trim() != "0")
    }
}

impl TestDb {
    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `sql` in this database with `psql` (see [`TestPostgres::psql`]).
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        self.server.psql(&self.name, sql)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let forced = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if self.server.psql("postgres", &forced).is_err() {
            // before PostgreSQL 13 there is no FORCE
            let _ = self.server.psql(
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{}\"", self.name),
            );
        }
    }
}

fn run_psql(psql: &Path, port: u16, db: &str, sql: &str) -> Result<String, String> {
    let out = Command::new(psql)
        .args(["-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
        .args(["-h", "127.0.0.1", "-U", "postgres"])
        .arg("-p")
        .arg(port.to_string())
        .arg("-d")
        .arg(db)
        .arg("-c")
        .arg(sql)
        .env("PGCONNECT_TIMEOUT", "5")
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", psql.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{} ({}): {}",
            psql.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn find_or_start() -> Result<TestPostgres, String> {
    let mut tried = Vec::new();
    let system_psql = PathBuf::from("psql");
    match run_psql(&system_psql, 5432, "postgres", "select 1") {
        Ok(_) => {
            return Ok(TestPostgres {
                port: 5432,
                psql: system_psql,
                origin: "the server at 127.0.0.1:5432".into(),
                _watchdog: None,
            })
        }
        Err(e) => tried.push(format!("psql -h 127.0.0.1 -p 5432 -U postgres: {e}")),
    }
    match start_cluster() {
        Ok(server) => Ok(server),
        Err(e) => {
            tried.push(format!("a throwaway cluster: {e}"));
            Err(format!(
                "tried {}; run scripts/setup.sh to install PostgreSQL",
                tried.join("; then ")
            ))
        }
    }
}

/// `/usr/lib/postgresql/<highest version>/bin` with `initdb` in it.
fn debian_bin_dir() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let entries = std::fs::read_dir(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| format!("no {}/*/bin/initdb and pg_ctl", root.display()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command that runs `program` as the cluster's owner (`postgres` when we are root).
fn as_owner(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}

fn start_cluster() -> Result<TestPostgres, String> {
    let bin = debian_bin_dir()?;
    let initdb = bin.join("initdb");
    let pg_ctl = bin.join("pg_ctl");
    let psql = if bin.join("psql").is_file() {
        bin.join("psql")
    } else {
        PathBuf::from("psql")
    };
    let root = is_root();
    if root
        && !Command::new("id")
            .args(["-u", "postgres"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    {
        return Err(
            "running as root, initdb refuses root and there is no `postgres` user to run it as"
                .into(),
        );
    }
    // Kept on purpose: the watchdog removes it after stopping the cluster.
    let dir = tempfile::Builder::new()
        .prefix("weir-pg")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?
        .keep();
    let result = init_and_start(&dir, &initdb, &pg_ctl, &psql, root);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn init_and_start(
    dir: &Path,
    initdb: &Path,
    pg_ctl: &Path,
    psql: &Path,
    root: bool,
) -> Result<TestPostgres, String> {
    if root {
        let mut chown = Command::new("chown");
        chown.arg("postgres:").arg(dir);
        run(chown, "chown postgres: on the temp dir")?;
    }
    let data = dir.join("data");
    let mut init = as_owner(initdb, root);
    init.current_dir(dir).arg("-D").arg(&data).args([
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
    ]);
    run(init, &format!("{} -D {}", initdb.display(), data.display()))?;

    let log = dir.join("server.log");
    let mut last_err = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        // pg_ctl's output goes to a file, not a pipe: the daemonized server would hold a pipe
        // open and `output()` would wait for it forever.
        let out_path = dir.join("pg_ctl.out");
        let out = std::fs::File::create(&out_path).map_err(|e| format!("pg_ctl.out: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("pg_ctl.out: {e}"))?;
        let mut start = as_owner(pg_ctl, root);
        start
            .current_dir(dir)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-k {} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off",
                dir.display()
            ))
            .arg("start")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let status = start
            .status()
            .map_err(|e| format!("{}: {e}", pg_ctl.display()))?;
        if status.success() {
            let watchdog = spawn_watchdog(dir, &data, pg_ctl, root)?;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match run_psql(psql, port, "postgres", "select 1") {
                    Ok(_) => {
                        return Ok(TestPostgres {
                            port,
                            psql: psql.to_path_buf(),
                            origin: format!("the cluster in {} on port {port}", data.display()),
                            _watchdog: Some(Mutex::new(watchdog)),
                        })
                    }
                    Err(e) if Instant::now() > deadline => {
                        return Err(format!("started but never answered: {e}"))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
        last_err = format!(
            "pg_ctl start ({status}): {}\n{}",
            std::fs::read_to_string(&out_path)
                .unwrap_or_default()
                .trim(),
            std::fs::read_to_string(&log).unwrap_or_default().trim()
        );
    }
    Err(last_err)
}

/// A shell that waits for its stdin to close (this process exiting), then stops the cluster
/// and removes its directory.
fn spawn_watchdog(
    dir: &Path,
    data: &Path,
    pg_ctl: &Path,
    root: bool,
) -> Result<ChildStdin, String> {
    let stop = format!(
        "{}{} -D {} stop -m fast",
        if root { "runuser -u postgres -- " } else { "" },
        shell_quote(&pg_ctl.display().to_string()),
        shell_quote(&data.display().to_string())
    );
    let script = format!(
        "cat >/dev/null; {stop} >/dev/null 2>&1; rm -rf {}",
        shell_quote(&dir.display().to_string())
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("watchdog shell: {e}"))?;
    child
        .stdin
        .take()
        .ok_or_else(|| "watchdog shell without stdin".to_string())
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_created_usable_and_dropped() {
        let db = TestPostgres::database();
        let server = TestPostgres::shared();
        let name = db.name().to_string();
        assert!(name.starts_with(&format!("weir_test_{}_", std::process::id())));
        assert_eq!(
            db.url(),
            format!("postgres://postgres@127.0.0.1:{}/{name}", server.port())
        );
        assert!(server.database_exists(&name).expect("query pg_database"));

        db.psql("CREATE TABLE t (id int primary key, v text); INSERT INTO t VALUES (1, 'x')")
            .expect("create a table in the test database");
        assert_eq!(
            db.psql("SELECT v FROM t WHERE id = 1")
                .expect("select")
                .trim(),
            "x"
        );

        let other = TestPostgres::database();
        assert_ne!(other.name(), name, "every database is new");
        assert!(
            other.psql("SELECT * FROM t").is_err(),
            "databases are separate"
        );

        drop(db);
        assert!(!server.database_exists(&name).expect("query pg_database"));
    }

    #[test]
    fn throwaway_cluster_starts_and_answers() {
        // The fallback path, exercised even where a server answers at 5432.
        let server = start_cluster().unwrap_or_else(|e| panic!("throwaway cluster: {e}"));
        assert_ne!(server.port(), 5432);
        assert_eq!(
            server
                .psql("postgres", "select 40 + 2")
                .expect("select")
                .trim(),
            "42"
        );
    }
}
