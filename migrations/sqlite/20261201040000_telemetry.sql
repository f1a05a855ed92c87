-- Node telemetry from heartbeats: per-minute traffic rollups by (node, site, minute), each
-- node's status, online/offline events, and the UTC hours each node heartbeated in (billing).
-- Minutes are Unix seconds / 60, hours Unix seconds / 3600, times Unix seconds (UTC).
-- Tenants get a plan, which sets how long their rollups are kept.

ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';

-- One site's traffic on one node in one minute, replaced whole by each heartbeat that
-- carries it. JSON columns: latency = bucket counts over weir_bundle's LATENCY_BOUNDS_US,
-- waf_blocks and countries = {key: count}, slow_paths = [{path, count, total_us, max_us}].
CREATE TABLE site_minutes (
    node_id         TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    site_id         TEXT NOT NULL,
    minute          INTEGER NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    req_1xx         INTEGER NOT NULL,
    req_2xx         INTEGER NOT NULL,
    req_3xx         INTEGER NOT NULL,
    req_4xx         INTEGER NOT NULL,
    req_5xx         INTEGER NOT NULL,
    bytes_in        INTEGER NOT NULL,
    bytes_out       INTEGER NOT NULL,
    plugin_failures INTEGER NOT NULL,
    latency         TEXT NOT NULL,
    waf_blocks      TEXT NOT NULL,
    countries       TEXT NOT NULL,
    slow_paths      TEXT NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (node_id, site_id, minute)
);
CREATE INDEX site_minutes_by_site ON site_minutes (tenant_id, site_id, minute);

-- What a node said in its last heartbeat, and whether it is online (1) or offline (0: no
-- heartbeat for [nodes] offline_after_s).
CREATE TABLE node_status (
    node_id           TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    online            INTEGER NOT NULL,
    online_since      INTEGER,
    offline_since     INTEGER,
    last_heartbeat_at INTEGER NOT NULL,
    bundle_version    INTEGER NOT NULL,
    bundle_hash       TEXT NOT NULL,
    weir_version      TEXT NOT NULL,
    apply_error       TEXT,
    uptime_s          INTEGER NOT NULL,
    in_flight         INTEGER NOT NULL
);
CREATE INDEX node_status_by_tenant ON node_status (tenant_id);
CREATE INDEX node_status_online ON node_status (online, last_heartbeat_at);

-- Transitions: kind is 'online' or 'offline'; id orders events of the same second.
CREATE TABLE node_events (
    id        INTEGER PRIMARY KEY,
    node_id   TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX node_events_by_tenant ON node_events (tenant_id, at);
CREATE INDEX node_events_by_node ON node_events (node_id, at);

-- A node heartbeated at least once in this UTC hour (one row per node and hour).
CREATE TABLE node_hours (
    node_id   TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    hour      INTEGER NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    PRIMARY KEY (node_id, hour)
);
CREATE INDEX node_hours_by_tenant ON node_hours (tenant_id, hour);
