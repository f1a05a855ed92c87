-- Nodes: enrolled with a one-time join token (stored hashed, expires), then known by a
-- credential (stored hashed). The portal's own secrets (its ed25519 signing key).

CREATE TABLE portal_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE nodes (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    join_token_hash TEXT NOT NULL UNIQUE,
    join_expires_at BIGINT NOT NULL,
    credential_hash TEXT UNIQUE,
    enrolled_at     BIGINT,
    version         TEXT,
    last_seen_at    BIGINT,
    revoked_at      BIGINT,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX nodes_by_tenant ON nodes (tenant_id);
