-- Day rollups: each meter's COUNT and SUM per tenant and UTC day, the sum of its minute rollups,
-- kept by statement-level triggers on meter_rollups in the same transaction as every write to
-- it (ingest, corrections, meter recomputes). Long ranges (a billing period) read whole days
-- here and only the partial days at their edges from the minute rollups.
CREATE TABLE meter_rollups_daily (
    tenant_id   TEXT NOT NULL,
    meter       TEXT NOT NULL,
    day_start   BIGINT NOT NULL,  -- Unix seconds, a multiple of 86400 (UTC midnight)
    count       BIGINT NOT NULL,
    sum         NUMERIC(48, 9) NOT NULL,
    PRIMARY KEY (tenant_id, meter, day_start)
);

CREATE FUNCTION meter_rollups_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO meter_rollups_daily AS d (tenant_id, meter, day_start, count, sum)
        SELECT tenant_id, meter, window_start - window_start % 86400, sum(count), sum(sum)
        FROM added GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, meter, day_start) DO UPDATE SET count = d.count + excluded.count, sum = d.sum + excluded.sum;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO meter_rollups_daily AS d (tenant_id, meter, day_start, count, sum)
        SELECT tenant_id, meter, day, sum(c), sum(s) FROM (
            SELECT tenant_id, meter, window_start - window_start % 86400 AS day, count AS c, sum AS s FROM added
            UNION ALL
            SELECT tenant_id, meter, window_start - window_start % 86400, -count, -sum FROM removed
        ) AS delta GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, meter, day_start) DO UPDATE SET count = d.count + excluded.count, sum = d.sum + excluded.sum;
    ELSE
        INSERT INTO meter_rollups_daily AS d (tenant_id, meter, day_start, count, sum)
        SELECT tenant_id, meter, window_start - window_start % 86400, -sum(count), -sum(sum)
        FROM removed GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, meter, day_start) DO UPDATE SET count = d.count + excluded.count, sum = d.sum + excluded.sum;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER meter_rollups_daily_insert AFTER INSERT ON meter_rollups
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION meter_rollups_daily_apply();
CREATE TRIGGER meter_rollups_daily_update AFTER UPDATE ON meter_rollups
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION meter_rollups_daily_apply();
CREATE TRIGGER meter_rollups_daily_delete AFTER DELETE ON meter_rollups
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION meter_rollups_daily_apply();

INSERT INTO meter_rollups_daily (tenant_id, meter, day_start, count, sum)
SELECT tenant_id, meter, window_start - window_start % 86400, sum(count), sum(sum) FROM meter_rollups GROUP BY 1, 2, 3;
