-- The feature catalog: what plans and tenants can be entitled to (platform-wide, operator-managed).
CREATE TABLE features (
    key         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('boolean', 'static', 'metered')),
    meter       TEXT,
    created_at  INTEGER NOT NULL,
    CHECK ((kind = 'metered') = (meter IS NOT NULL))
) STRICT;
