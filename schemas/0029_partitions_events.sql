-- 0029_partitions_events: event_log, rejected_events and feedback partitioned by period
-- (issue 17, SPEC 11), the last of the tables that grow with events, as 0027 and 0028 did
-- for the others: LIST on period, one partition per period value and a DEFAULT, made
-- ahead by the scheduler and detached for archive with the others.
--
-- Their keys were the event id alone, and that key is what made storing an event
-- idempotent (ON CONFLICT (id) in the ingest): a partitioned table's unique keys must hold
-- the partition key, so a key of its own can no longer say "this id is stored somewhere".
-- That is now the job of event_ids, a registry of every id the ingest has filed (stored
-- or rejected) with the period it is filed under, HASH-partitioned by id (16 parts: a
-- lookup by id reads one). The ingest files each id there first (INSERT ... ON CONFLICT
-- DO NOTHING RETURNING) and writes only what it filed to event_log or rejected_events, so
-- an id is stored or rejected once, in one period, across all of them; a concurrent
-- delivery of the same id waits on the registry's key as it waited on event_log's. The
-- registry is narrow (an id and a period, ~70 bytes a row with its index) and stays whole
-- when a period is detached: a resend of an archived event is still "already".
--
--   event_log        period: the event's (a recalc without one goes to DEFAULT); no primary
--                    key (event_ids holds the id's uniqueness), an index of ids for the
--                    lookups by id (the inbox's outcome, `kinerja event`, the rebuild)
--   rejected_events  period: new, the event's period where it has one, else the month
--                    it was refused in (time.zone); primary key (period, event_id), an
--                    index of ids (the inbox's outcome, `kinerja event`)
--   feedback         period: the event's (as before); primary key (period, event_id)
--
-- The rows move with their indexes, triggers and grants. The views over event_log
-- (event_ratings, event_work_results, event_feedback) are made again on the new table.
-- Every row goes straight into its period's partition (never through the parent: the log's
-- statement triggers would derive every event again).

-- ---- as 0027 (pg_temp: made again, or replaced when 0027 or 0028 ran in this session) ---
CREATE OR REPLACE FUNCTION pg_temp.kinerja_partition_table(p_table text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    old text := p_table || '_unpartitioned';
    r record;
    def text;
BEGIN
    EXECUTE format('ALTER TABLE %I RENAME TO %I', p_table, old);
    -- free the index and constraint names for the new table (an index-backed
    -- constraint is renamed with its index)
    FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = old::regclass LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, r.relname || '_old');
    END LOOP;
    -- columns, defaults, check constraints, storage, compression, comments, statistics
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL EXCLUDING INDEXES) PARTITION BY LIST (period)',
                   p_table, old);
    -- the primary key, as it was, under its old name
    FOR r IN SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
             WHERE conrelid = old::regclass AND contype = 'p' LOOP
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', p_table, regexp_replace(r.conname, '_old$', ''),
                       r.def);
    END LOOP;
    -- the other indexes, under their old names
    FOR r IN SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = old::regclass AND NOT i.indisprimary LOOP
        def := regexp_replace(r.def, '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ',
                              'CREATE \1INDEX ' || quote_ident(regexp_replace(r.relname, '_old$', '')) ||
                              ' ON public.' || quote_ident(p_table) || ' ');
        EXECUTE def;
    END LOOP;
    -- the triggers, on the partitioned table (PostgreSQL clones row triggers to every
    -- partition, present and future)
    FOR r IN SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t
             WHERE t.tgrelid = old::regclass AND NOT t.tgisinternal LOOP
        EXECUTE replace(r.def, ' ON public.' || old || ' ', ' ON public.' || quote_ident(p_table) || ' ');
    END LOOP;
    -- the grants (the owner's are the owner's)
    FOR r IN SELECT a.privilege_type, g.rolname FROM pg_class c, aclexplode(c.relacl) a
             JOIN pg_roles g ON g.oid = a.grantee
             WHERE c.oid = old::regclass AND a.grantee <> c.relowner LOOP
        EXECUTE format('GRANT %s ON %I TO %I', r.privilege_type, p_table, r.rolname);
    END LOOP;
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', p_table || '_p_default', p_table);
END
$$;

-- An old table's rows into the new table's partitions, a period at a time, each straight
-- into its partition (made first, for every period-partitioned table, as the scheduler
-- would); what is no period into DEFAULT.
CREATE FUNCTION pg_temp.kinerja_partition_rows(p_table text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    old text := p_table || '_unpartitioned';
    q text;
    target text;
BEGIN
    FOR q IN EXECUTE format('SELECT DISTINCT period FROM %I', old) LOOP
        target := p_table || '_p_default';
        IF kinerja_partition_suffix(q) IS NOT NULL THEN
            PERFORM kinerja_partitions_ensure(q);
            target := p_table || '_p_' || kinerja_partition_suffix(q);
        END IF;
        EXECUTE format('INSERT INTO %I SELECT * FROM %I WHERE period IS NOT DISTINCT FROM $1', target, old)
            USING q;
    END LOOP;
END
$$;

-- ---- the views over event_log: their definitions now, made again on the new table -----
CREATE TEMP TABLE kinerja_0029_views ON COMMIT DROP AS
SELECT c.relname AS name, pg_get_viewdef(c.oid) AS def, c.relacl AS acl
FROM pg_class c
WHERE c.relkind = 'v' AND c.oid IN (SELECT w.ev_class FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid
                                    WHERE d.refobjid = 'event_log'::regclass AND w.ev_class <> d.refobjid);
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT name FROM kinerja_0029_views LOOP
        EXECUTE format('DROP VIEW %I', v.name);
    END LOOP;
END
$$;

-- ---- what holds event_log's row type: the derive queue's column (as text for the move)
-- and the functions taking a row (their definitions now, made again on the new type) -
ALTER TABLE derive_queue ALTER COLUMN ev TYPE text USING ev::text;
CREATE TEMP TABLE kinerja_0029_functions ON COMMIT DROP AS
SELECT p.oid::regprocedure::text AS sig, pg_get_functiondef(p.oid) AS def, p.proacl AS acl
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND ('event_log'::regtype = ANY (p.proargtypes::oid[]) OR p.prorettype = 'event_log'::regtype);
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT sig FROM kinerja_0029_functions LOOP
        EXECUTE 'DROP FUNCTION ' || f.sig;
    END LOOP;
END
$$;

-- ---- the keys -----------------------------------------------------------------------
ALTER TABLE event_log DROP CONSTRAINT event_log_pkey;

-- the period a rejected event is filed under: the event's, where it is one; else the
-- month the event was refused in, in the organisation's zone (the ingest says which)
CREATE FUNCTION kinerja_filed_period(p_period text, p_at timestamptz, p_tz text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN kinerja_partition_suffix(p_period) IS NOT NULL THEN p_period
                ELSE to_char(p_at AT TIME ZONE p_tz, 'YYYY-MM') END
$$;
ALTER TABLE rejected_events ADD COLUMN period text;
UPDATE rejected_events
SET period = kinerja_filed_period(CASE WHEN type = 'citizen_feedback' THEN NULL ELSE payload ->> 'period' END,
                                  rejected_at, current_setting('TimeZone'));
ALTER TABLE rejected_events ALTER COLUMN period SET NOT NULL,
                            ALTER COLUMN period SET DEFAULT to_char(now(), 'YYYY-MM');
ALTER TABLE rejected_events DROP CONSTRAINT rejected_events_pkey;
ALTER TABLE rejected_events ADD CONSTRAINT rejected_events_pkey PRIMARY KEY (period, event_id);
ALTER TABLE feedback DROP CONSTRAINT feedback_pkey;
ALTER TABLE feedback ADD CONSTRAINT feedback_pkey PRIMARY KEY (period, event_id);

SELECT pg_temp.kinerja_partition_table('event_log');
SELECT pg_temp.kinerja_partition_table('rejected_events');
SELECT pg_temp.kinerja_partition_table('feedback');

-- ---- the registry of filed ids ------------------------------------------------------
CREATE TABLE event_ids (
    id     uuid PRIMARY KEY,
    period text
) PARTITION BY HASH (id);
DO $$
BEGIN
    FOR k IN 0..15 LOOP
        EXECUTE format('CREATE TABLE event_ids_h%s PARTITION OF event_ids FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
                       lpad(k::text, 2, '0'), k);
    END LOOP;
END
$$;
COMMENT ON TABLE event_ids IS
    'Every event id the ingest filed, stored (event_log) or rejected (rejected_events), with its period: '
    'what makes an id stored or rejected once across every partition (0029).';
GRANT SELECT, INSERT ON event_ids TO kinerja_app;

INSERT INTO event_ids (id, period)
SELECT id, period FROM event_log_unpartitioned
UNION ALL
SELECT event_id, period FROM rejected_events_unpartitioned
ON CONFLICT (id) DO NOTHING;

-- ---- the rows, straight into their partitions -----------------------------------------
SELECT pg_temp.kinerja_partition_rows('event_log');
SELECT pg_temp.kinerja_partition_rows('rejected_events');
SELECT pg_temp.kinerja_partition_rows('feedback');
-- looked up by id (the inbox's outcome, `kinerja event`, the rebuild): one index probe
-- a partition; a refusal too (its key leads with the period)
CREATE INDEX event_log_id_idx ON event_log (id);
CREATE INDEX rejected_events_event_idx ON rejected_events (event_id);

-- ---- the views again, with their grants --------------------------------------------
DO $$
DECLARE
    v record;
    g record;
BEGIN
    FOR v IN SELECT name, def, acl FROM kinerja_0029_views ORDER BY name LOOP
        EXECUTE format('CREATE VIEW %I AS %s', v.name, v.def);
        FOR g IN SELECT a.privilege_type, r.rolname FROM aclexplode(v.acl) a JOIN pg_roles r ON r.oid = a.grantee
                 WHERE r.rolname <> current_user LOOP
            EXECUTE format('GRANT %s ON %I TO %I', g.privilege_type, v.name, g.rolname);
        END LOOP;
    END LOOP;
END
$$;

-- ---- the row type's holders again ----------------------------------------------------
ALTER TABLE derive_queue ALTER COLUMN ev TYPE event_log USING ev::event_log;
DO $$
DECLARE
    f record;
    g record;
BEGIN
    FOR f IN SELECT sig, def, acl FROM kinerja_0029_functions LOOP
        EXECUTE f.def;
        CONTINUE WHEN f.acl IS NULL;
        -- the grants as they were (the owner's are the owner's; grantee 0 is PUBLIC)
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.sig);
        FOR g IN SELECT a.grantee, r.rolname FROM aclexplode(f.acl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
                 WHERE a.privilege_type = 'EXECUTE' AND r.rolname IS DISTINCT FROM current_user LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', f.sig,
                           CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.rolname) END);
        END LOOP;
    END LOOP;
END
$$;

DROP TABLE event_log_unpartitioned, rejected_events_unpartitioned, feedback_unpartitioned;
SELECT kinerja_partitions_maintain(now()::timestamp, 3);
