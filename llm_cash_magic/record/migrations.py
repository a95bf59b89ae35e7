"""The history's schema: one migration per version, applied in order to an older file."""

SCHEMA_VERSION = 3
MIGRATIONS = {
    1: """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        fingerprint TEXT NOT NULL,
        data_name TEXT NOT NULL,
        n_rows INTEGER NOT NULL,
        n_columns INTEGER NOT NULL,
        task TEXT NOT NULL,
        metric TEXT NOT NULL,
        strategy TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '',
        options TEXT NOT NULL,
        profile TEXT NOT NULL,
        meta_features TEXT NOT NULL,
        recommendations TEXT NOT NULL DEFAULT '[]',
        versions TEXT NOT NULL
    );
    CREATE INDEX runs_by_fingerprint ON runs (fingerprint);
    CREATE TABLE trials (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        family TEXT NOT NULL,
        source TEXT NOT NULL,
        recommended TEXT NOT NULL,
        params TEXT NOT NULL,
        overrides TEXT NOT NULL DEFAULT '{}',
        code TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'pending',
        cv_mean REAL,
        cv_std REAL,
        cv_scores TEXT,
        fit_seconds REAL,
        error TEXT
    );
    CREATE INDEX trials_by_run ON trials (run_id);
    """,
    2: """
    CREATE TABLE llm_requests (
        id TEXT PRIMARY KEY,
        run_id TEXT,
        created_at REAL NOT NULL,
        strategy TEXT NOT NULL,
        purpose TEXT NOT NULL,
        model TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        temperature REAL,
        seed INTEGER,
        cache_key TEXT NOT NULL,
        replay_of TEXT,
        messages TEXT NOT NULL,
        response TEXT NOT NULL DEFAULT '',
        recommendations TEXT NOT NULL DEFAULT '[]',
        repairs TEXT NOT NULL DEFAULT '[]',
        usage TEXT,
        first_token_seconds REAL,
        latency_seconds REAL,
        status TEXT NOT NULL,
        error TEXT
    );
    CREATE INDEX llm_requests_by_run ON llm_requests (run_id);
    CREATE INDEX llm_requests_by_cache_key ON llm_requests (cache_key, created_at);
    """,
    3: """
    ALTER TABLE trials ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
    """,
}
