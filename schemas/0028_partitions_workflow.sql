-- 0028_partitions_workflow: notifications and result_audit partitioned by period too
-- (issue 17), as 0027 did for ratings, work_results and score_versions: LIST on period,
-- one partition per period value and a DEFAULT, made ahead by the scheduler
-- (kinerja_partitions_maintain) and detached for archive with the others
-- (kinerja_partition_detach), both of which take every table of kinerja_period_partitioned.
--
-- Both grow with every period's workflow (a sign-off request, its reminders and the
-- approval per result; an audit row per transition) and every query of them names a
-- result (employee, period) or a notification's id. A partitioned table's primary key
-- must hold the partition key, so the keys become (employee, period, id), leading with
-- what a Citus deployment would distribute by, as the other partitioned tables' do: ids
-- stay unique (a notification's is gen_random_uuid(), an audit row's its sequence), and
-- nothing refers to either table by key. The audit's id sequence is kept (its owner
-- moves to the new table before the old one is dropped). Who finds a notification by
-- its id finds it with its result too (the notify worker's lease, the inbox's
-- superseding request: the same result's), or through notifications_due_idx (the
-- worker's updates: status and next_attempt_at), so no index of ids alone is kept.
--
-- Still not partitioned: event_log, rejected_events and feedback, whose keys are the
-- event id alone: that key is what makes storing an event idempotent across periods
-- (ON CONFLICT (id) in the ingest and the derivation), see docs/SCALING.md.

-- ---- as 0027 (pg_temp: made again, or replaced when 0027 ran in this session) -------
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


ALTER TABLE notifications DROP CONSTRAINT notifications_pkey;
ALTER TABLE notifications ADD CONSTRAINT notifications_pkey PRIMARY KEY (employee, period, id);
ALTER TABLE result_audit DROP CONSTRAINT result_audit_pkey;
ALTER TABLE result_audit ADD CONSTRAINT result_audit_pkey PRIMARY KEY (employee, period, id);

SELECT pg_temp.kinerja_partition_table('notifications');
SELECT pg_temp.kinerja_partition_table('result_audit');

-- the audit's sequence: owned by the new table's column, so dropping the old one keeps it
ALTER SEQUENCE result_audit_id_seq OWNED BY result_audit.id;

INSERT INTO notifications SELECT * FROM notifications_unpartitioned;
INSERT INTO result_audit SELECT * FROM result_audit_unpartitioned;
DROP TABLE notifications_unpartitioned, result_audit_unpartitioned;
-- the key leads with what result_audit_result_idx held
DROP INDEX result_audit_result_idx;
SELECT kinerja_partitions_maintain(now()::timestamp, 3);
