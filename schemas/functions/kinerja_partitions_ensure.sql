-- kinerja_partitions_ensure: its one definition (schemas/functions/, re-applied by every
-- `kinerja migrate` after the migrations; see schemas/functions/README). From
-- 0027_partitions.sql; 0029 moves the rows of a DEFAULT partition straight into their
-- partitions, not through the parent: event_log's statement triggers would derive every
-- moved event again.
--
-- kinerja_partitions_ensure(period): every period-partitioned table gets its partition
-- of the period. A DEFAULT partition holding rows (of this or any period: rows that came
-- before their partition) is emptied first: detached, replaced by an empty one, its
-- periods given partitions, its rows inserted into them (a value that is no period into
-- the new DEFAULT). That path locks the table for the move; the usual one (partitions
-- made ahead, DEFAULT empty) does not. Runs as the owner (SECURITY DEFINER: the
-- scheduler's role holds only DML); one at a time. Returns how many partitions it made.
CREATE OR REPLACE FUNCTION kinerja_partitions_ensure(p_period text) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t record;
    q text;
    dflt text;
    moving text;
    target text;
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
            target := dflt;
            IF kinerja_partition_suffix(q) IS NOT NULL THEN
                made := made + kinerja_partition_make(t.name, q);
                target := t.name || '_p_' || kinerja_partition_suffix(q);
            END IF;
            EXECUTE format('INSERT INTO %I SELECT * FROM %I WHERE period IS NOT DISTINCT FROM $1', target, moving)
                USING q;
        END LOOP;
        EXECUTE format('DROP TABLE %I', moving);
    END LOOP;
    RETURN made;
END
$$;
