//! Test support: a store on each backend (a throwaway SQLite file and a throwaway PostgreSQL
//! database), and a running portal with its outbox sender.

use std::net::SocketAddr;
use weir_portal::db::Pool;
use weir_portal::store::Store;
use weir_portal::{AppState, PortalConfig};
use weir_testkit::postgres::{TestDb, TestPostgres};

/// Keeps a backend's database alive for the test.
pub enum Keep {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] TestDb),
}

/// Database URLs of both backends: (name, url, keep-alive guard).
pub fn backends() -> Vec<(&'static str, String, Keep)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite:{}", dir.path().join("portal.db").display());
    let pg = TestPostgres::database();
    let pg_url = pg.url().to_string();
    vec![
        ("sqlite", sqlite, Keep::Sqlite(dir)),
        ("postgres", pg_url, Keep::Postgres(pg)),
    ]
}

/// A migrated store on `url`.
pub async fn store(url: &str) -> Store {
    let pool = Pool::connect(url).await.expect("connect");
    pool.migrate().await.expect("migrate");
    // Migrating twice is a no-op.
    pool.migrate().await.expect("migrate again");
    Store::new(pool)
}

/// A portal serving on 127.0.0.1:0, sending mail to `smtp_url`.
pub struct Portal {
    pub addr: SocketAddr,
    pub state: AppState,
    _data_dir: tempfile::TempDir,
}

impl Portal {
    pub async fn start(database_url: &str, smtp_url: &str) -> Portal {
        Portal::start_with(database_url, smtp_url, |_| {}).await
    }

    /// [`Portal::start`] with `tweak` applied to the config last.
    pub async fn start_with(
        database_url: &str,
        smtp_url: &str,
        tweak: impl FnOnce(&mut PortalConfig),
    ) -> Portal {
        let data_dir = tempfile::tempdir().expect("data dir");
        let mut config = PortalConfig {
            data_dir: data_dir.path().to_path_buf(),
            database_url: Some(weir_bundle::Secret::new(database_url)),
            ..PortalConfig::default()
        };
        config.smtp.url = weir_bundle::Secret::new(smtp_url);
        config.smtp.poll_ms = 50;
        config.auth.argon2_memory_kib = 1024;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        config.public_url = format!("http://{addr}");
        tweak(&mut config);
        let running = weir_portal::start_on(config, listener)
            .await
            .expect("start portal");
        let state = running.state;
        Portal {
            addr,
            state,
            _data_dir: data_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}
