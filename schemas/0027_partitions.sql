-- 0027_partitions: the period-keyed tables that grow with every period partitioned by
-- period (issue 17, SPEC 11: declarative partitioning, a partition made before its
-- period starts, old ones detachable for archive).
--
-- This migration partitions the three tables whose primary key already holds the period
-- and the employee (the distribution key a Citus deployment would use): ratings,
-- work_results and score_versions. LIST partitioning, one partition per period value
-- ('YYYY-MM', 'YYYY-Qn', 'YYYY': <table>_p_2026_06, <table>_p_2026_q2, <table>_p_2026),
-- and a DEFAULT partition (<table>_p_default) so that a row of a period nobody made a
-- partition for yet is stored, never refused. Every query of these tables names its
-- period, so it reads one partition (test_pgstore shows the plans).
--
-- Partitions are made by kinerja_partitions_ensure(period) (schemas/functions/), which
-- the scheduler calls for the months, quarters and years ahead (schedule.partitions_ahead)
-- and for every period found in a DEFAULT partition; kinerja_partition_detach(period)
-- detaches a period's partitions, which stay as ordinary tables to dump and drop.
--
-- Not partitioned yet (their keys do not hold the period; see docs/SCALING.md):
-- event_log, rejected_events, feedback, notifications, result_audit.

-- ---- the partitioning of an existing table, its rows, indexes, triggers and grants kept --
CREATE FUNCTION pg_temp.kinerja_partition_table(p_table text) RETURNS void
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

SELECT pg_temp.kinerja_partition_table('ratings');
SELECT pg_temp.kinerja_partition_table('work_results');
SELECT pg_temp.kinerja_partition_table('score_versions');

-- The partition name of a period (NULL for a value that is no period: its rows stay in
-- the DEFAULT partition).
CREATE FUNCTION kinerja_partition_suffix(p_period text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_period ~ '^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$'
                THEN lower(replace(p_period, '-', '_')) END
$$;

-- The tables partitioned by period (LIST on a column named period), in name order.
CREATE VIEW kinerja_period_partitioned AS
SELECT c.oid::regclass AS parent, c.relname::text AS name
FROM pg_partitioned_table p
JOIN pg_class c ON c.oid = p.partrelid
JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
WHERE c.relnamespace = 'public'::regnamespace AND p.partstrat = 'l' AND a.attname = 'period';

-- Every partition of those tables, with its period ('' for DEFAULT).
CREATE VIEW kinerja_partitions AS
SELECT t.name AS parent, c.relname::text AS partition,
       coalesce(substring(pg_get_expr(c.relpartbound, c.oid) FROM $re$IN \('([^']*)'\)$re$), '') AS period,
       pg_total_relation_size(c.oid) AS bytes
FROM kinerja_period_partitioned t
JOIN pg_inherits i ON i.inhparent = t.parent
JOIN pg_class c ON c.oid = i.inhrelid;

-- One period's partition of one table, if missing: made as a table of its own, then
-- attached (ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, so writers of other
-- periods go on; CREATE TABLE ... PARTITION OF would lock them all out). The CHECK lets
-- ATTACH skip scanning it. Returns 1 when made.
CREATE FUNCTION kinerja_partition_make(p_parent text, p_period text) RETURNS int
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    part text := p_parent || '_p_' || kinerja_partition_suffix(p_period);
BEGIN
    IF kinerja_partition_suffix(p_period) IS NULL OR to_regclass('public.' || quote_ident(part)) IS NOT NULL THEN
        RETURN 0;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE '
                   'INCLUDING COMPRESSION INCLUDING STATISTICS, CONSTRAINT %I CHECK (period = %L))',
                   part, p_parent, part || '_period', p_period);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%L)', p_parent, part, p_period);
    RETURN 1;
END
$$;
REVOKE ALL ON FUNCTION kinerja_partition_make(text, text) FROM PUBLIC;

-- kinerja_partitions_ensure(period): every period-partitioned table gets its partition
-- of the period. A DEFAULT partition holding rows (of this or any period: rows that came
-- before their partition) is emptied first: detached, replaced by an empty one, its
-- periods given partitions, its rows inserted again through the parent, so each lands in
-- its period's partition (a value that is no period stays in DEFAULT). That path locks
-- the table for the move; the usual one (partitions made ahead, DEFAULT empty) does not.
-- Runs as the owner (SECURITY DEFINER: the scheduler's role holds only DML); one at a
-- time. Returns how many partitions it made.
CREATE FUNCTION kinerja_partitions_ensure(p_period text) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t record;
    q text;
    dflt text;
    moving text;
    busy boolean;
    made int := 0;
BEGIN
    IF kinerja_partition_suffix(p_period) IS NULL THEN
        RAISE EXCEPTION 'kinerja_partitions_ensure: "%" is not a period (YYYY-MM, YYYY-Qn or YYYY)', p_period
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('kinerja_partitions'));
    FOR t IN SELECT name FROM kinerja_period_partitioned ORDER BY name LOOP
        dflt := t.name || '_p_default';
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE kinerja_partition_suffix(period) IS NOT NULL)', dflt)
            INTO busy;
        IF NOT busy THEN
            made := made + kinerja_partition_make(t.name, p_period);
            CONTINUE;
        END IF;
        moving := dflt || '_moving';
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', t.name, dflt);
        EXECUTE format('ALTER TABLE %I RENAME TO %I', dflt, moving);
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', dflt, t.name);
        made := made + kinerja_partition_make(t.name, p_period);
        FOR q IN EXECUTE format('SELECT DISTINCT period FROM %I', moving) LOOP
            made := made + kinerja_partition_make(t.name, q);
        END LOOP;
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', t.name, moving);
        EXECUTE format('DROP TABLE %I', moving);
    END LOOP;
    RETURN made;
END
$$;
REVOKE ALL ON FUNCTION kinerja_partitions_ensure(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kinerja_partitions_ensure(text) TO kinerja_app;

-- The periods to have partitions for at p_now: the month of p_now and the p_ahead
-- months after it, their quarters and their years (every cadence: monthly, quarterly,
-- and the annual evaluation), in the organisation's time zone as the caller gives it.
CREATE FUNCTION kinerja_partition_periods(p_now timestamp, p_ahead int) RETURNS SETOF text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT DISTINCT x FROM generate_series(0, greatest(p_ahead, 0)) AS g(k),
         LATERAL (SELECT date_trunc('month', p_now) + make_interval(months => g.k) AS m) AS mm,
         LATERAL (VALUES (to_char(mm.m, 'YYYY-MM')), (to_char(mm.m, 'YYYY-"Q"Q')), (to_char(mm.m, 'YYYY'))) AS v(x)
$$;

-- The scheduler's pass (schedule role, every schedule.housekeeping_s): partitions for the
-- periods ahead and for any period whose rows wait in a DEFAULT partition. Returns how
-- many partitions it made and how many rows were left in DEFAULT (values that are no
-- period).
CREATE FUNCTION kinerja_partitions_maintain(p_now timestamp, p_ahead int, OUT made int, OUT left_in_default bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    q text;
    t record;
    n bigint;
BEGIN
    made := 0;
    left_in_default := 0;
    FOR q IN SELECT kinerja_partition_periods(p_now, p_ahead) ORDER BY 1 LOOP
        made := made + kinerja_partitions_ensure(q);
    END LOOP;
    FOR t IN SELECT name FROM kinerja_period_partitioned LOOP
        EXECUTE format('SELECT count(*) FROM %I', t.name || '_p_default') INTO n;
        left_in_default := left_in_default + n;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION kinerja_partitions_maintain(timestamp, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kinerja_partitions_maintain(timestamp, int) TO kinerja_app;

-- kinerja_partition_detach(period): the period's partitions out of the tables, for
-- archive. They stay as ordinary tables, renamed <partition>_detached_<UTC time as YYYYMMDDHHMISS>, to be
-- dumped (pg_dump -t) and dropped by the operator. Refused while a result of the period
-- is not final (its inputs and versions are still read), and for a period ahead of now.
-- The results themselves (one row per employee) stay. Owner only. Returns the tables.
CREATE FUNCTION kinerja_partition_detach(p_period text) RETURNS SETOF text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    t record;
    part text;
    archived text;
    open bigint;
BEGIN
    IF kinerja_partition_suffix(p_period) IS NULL THEN
        RAISE EXCEPTION 'kinerja_partition_detach: "%" is not a period (YYYY-MM, YYYY-Qn or YYYY)', p_period
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT count(*) INTO open FROM results WHERE period = p_period AND state <> 'final';
    IF open > 0 THEN
        RAISE EXCEPTION 'kinerja_partition_detach: period % has % results that are not final', p_period, open
            USING ERRCODE = 'object_in_use';
    END IF;
    IF EXISTS (SELECT 1 FROM kinerja_partition_periods(now()::timestamp, 0) x WHERE x = p_period) THEN
        RAISE EXCEPTION 'kinerja_partition_detach: period % is the current one', p_period
            USING ERRCODE = 'object_in_use';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('kinerja_partitions'));
    FOR t IN SELECT name FROM kinerja_period_partitioned ORDER BY name LOOP
        part := t.name || '_p_' || kinerja_partition_suffix(p_period);
        CONTINUE WHEN to_regclass('public.' || quote_ident(part)) IS NULL;
        archived := part || '_detached_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS');
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', t.name, part);
        EXECUTE format('ALTER TABLE %I RENAME TO %I', part, archived);
        RETURN NEXT archived;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION kinerja_partition_detach(text) FROM PUBLIC;

-- The existing rows: into the DEFAULT partitions, then every period they hold gets its
-- partitions (moved out of DEFAULT), as do the periods ahead of today.
INSERT INTO ratings SELECT * FROM ratings_unpartitioned;
INSERT INTO work_results SELECT * FROM work_results_unpartitioned;
INSERT INTO score_versions SELECT * FROM score_versions_unpartitioned;
DROP TABLE ratings_unpartitioned, work_results_unpartitioned, score_versions_unpartitioned;
SELECT kinerja_partitions_maintain(now()::timestamp, 3);
