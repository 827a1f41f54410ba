-- 0001_intake: the intake milestone. Organisation (units, employees), the immutable
-- event log, rejected events, dead letters, and kinerja_ingest_staged(), the set-based
-- check-and-store step the ingest worker calls once per batch (common/pgstore.c).
--
-- Applied by `kinerja migrate` (pgstore_migrate) in one transaction, recorded in
-- schema_migrations. Never edit a migration that has shipped: add NNNN_*.sql instead.
--
-- Scale-out (SPEC 11): every table that grows with events (event_log, rejected_events)
-- carries `employee`, the distribution key Citus would use, and `period` where the event
-- has one. Partitioning event_log by period is a later migration: the primary key then
-- has to include the partition key ((id, period) or a separate id registry), and the
-- ON CONFLICT (id) in kinerja_ingest_staged() changes with it.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Organisation (SPEC 4) ---------------------------------------------------------------

CREATE TABLE units (
    code text PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 64),
    name text
);

-- supervisor_nip is the employee's pejabat penilai (direct supervisor who rates and
-- signs off); that person's own supervisor decides appeals. The reference is deferred
-- so an import can load a whole chain in any order inside one transaction.
CREATE TABLE employees (
    nip            text PRIMARY KEY CHECK (nip ~ '^[0-9]{18}$'),
    name           text NOT NULL CHECK (length(name) > 0),
    unit           text NOT NULL REFERENCES units (code),
    position       text,
    supervisor_nip text CHECK (supervisor_nip ~ '^[0-9]{18}$' AND supervisor_nip <> nip)
                   REFERENCES employees (nip) DEFERRABLE INITIALLY DEFERRED,
    job_family     text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX employees_supervisor_idx ON employees (supervisor_nip);
CREATE INDEX employees_unit_idx ON employees (unit);

-- Events ---------------------------------------------------------------------------------

-- One immutable row per accepted event: the audit trail appeals and recalculation rest
-- on (SPEC 7). Corrections (a rater re-rating, a newer work result) live in derived
-- tables, never here. `unit` is the event's own unit for citizen_feedback and recalc,
-- and the employee's unit at the time of storing for the other types.
CREATE TABLE event_log (
    id          uuid PRIMARY KEY,
    type        text NOT NULL,
    source      text NOT NULL,
    ts          timestamptz NOT NULL,
    employee    text,
    unit        text,
    period      text,
    rater       text,
    relation    text,
    payload     jsonb NOT NULL,
    stream_key  text,
    stream_id   text,
    received_at timestamptz,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_log_employee_period_idx ON event_log (employee, period);
CREATE INDEX event_log_unit_period_idx ON event_log (unit, period);
CREATE INDEX event_log_type_idx ON event_log (type);

CREATE FUNCTION event_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER event_log_immutable
    BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION event_log_refuse_change();

-- Events the worker refused, with the reason (unknown NIP, wrong relation, ...).
CREATE TABLE rejected_events (
    event_id    uuid PRIMARY KEY,
    type        text,
    source      text,
    employee    text,
    payload     jsonb,
    reason      text NOT NULL,
    stream_key  text,
    stream_id   text,
    rejected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_events_employee_idx ON rejected_events (employee);

-- Stream entries that failed worker.max_deliveries times (SPEC 7: nothing dropped
-- silently). raw is the entry's msgpack exactly as it sat in Redis.
CREATE TABLE dead_letters (
    stream_key text NOT NULL,
    stream_id  text NOT NULL,
    event_id   uuid,
    raw        bytea,
    deliveries int NOT NULL,
    error      text,
    dead_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_key, stream_id)
);

-- The ingest step ----------------------------------------------------------------------

-- Works on the session's TEMP table ingest_staging, which pgstore.c creates per
-- connection (ON COMMIT DELETE ROWS) and fills with COPY inside the same transaction:
--   seq int, id uuid, type text, source text, ts_ms bigint, employee text, unit text,
--   period text, rater text, relation text, supervisor text, decider text,
--   payload jsonb, stream_key text, stream_id text, received_ms bigint,
--   reject_reason text
-- Set-based, no per-row loop:
--   1. each row's rejection reason (a preset reject_reason from C wins; the first
--      failing rule otherwise): unknown employee / unit / rater / supervisor / decider,
--      the rater's relation against the supervisor chain (SPEC 4), a sign-off from
--      someone other than the employee's supervisor, an appeal decision from someone
--      other than the supervisor's supervisor;
--   2. the period of citizen_feedback = month of ts in time zone tz;
--   3. refused rows into rejected_events, good rows into event_log, idempotent on the
--      event id across both tables; a repeated id inside the batch counts once (the
--      lowest seq wins);
--   4. returns how many were stored, rejected, and already there (or repeated).
-- Exactly once across the two tables holds as long as two deliveries of one id reach
-- the same verdict; they can only differ if the organisation changes between two
-- concurrent deliveries of the same entry, which the primary keys do not catch.
CREATE FUNCTION kinerja_ingest_staged(tz text, OUT stored bigint, OUT rejected bigint, OUT already bigint)
LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    -- An unknown zone raises here (22023), once, before any row is touched.
    PERFORM now() AT TIME ZONE tz;

    SELECT count(*) INTO total FROM ingest_staging;

    WITH s AS (
        SELECT DISTINCT ON (id) *
        FROM ingest_staging
        ORDER BY id, seq
    ), checked AS (
        SELECT s.*,
            CASE WHEN s.type = 'citizen_feedback'
                 THEN to_char(to_timestamp(s.ts_ms / 1000.0) AT TIME ZONE tz, 'YYYY-MM')
                 ELSE s.period END AS eff_period,
            CASE WHEN s.type IN ('citizen_feedback', 'recalc') THEN s.unit
                 ELSE e.unit END AS eff_unit,
            COALESCE(s.reject_reason, CASE
                WHEN s.employee IS NOT NULL AND e.nip IS NULL
                    THEN 'employee: unknown NIP ' || s.employee
                WHEN s.unit IS NOT NULL AND u.code IS NULL
                    THEN 'unit: unknown unit ' || s.unit
                WHEN s.rater IS NOT NULL AND r.nip IS NULL
                    THEN 'rater: unknown NIP ' || s.rater
                WHEN s.supervisor IS NOT NULL AND sv.nip IS NULL
                    THEN 'supervisor: unknown NIP ' || s.supervisor
                WHEN s.decider IS NOT NULL AND d.nip IS NULL
                    THEN 'decider: unknown NIP ' || s.decider
                WHEN s.type = 'evaluation' AND s.relation = 'supervisor'
                     AND e.supervisor_nip IS DISTINCT FROM s.rater
                    THEN 'rater: ' || s.rater || ' is not the supervisor of ' || s.employee
                WHEN s.type = 'evaluation' AND s.relation = 'subordinate'
                     AND r.supervisor_nip IS DISTINCT FROM s.employee
                    THEN 'rater: ' || s.rater || ' does not report to ' || s.employee
                WHEN s.type = 'evaluation' AND s.relation = 'self'
                     AND s.rater IS DISTINCT FROM s.employee
                    THEN 'rater: ' || s.rater || ' is not ' || s.employee
                         || ' (a self evaluation comes from the employee)'
                WHEN s.type = 'evaluation' AND s.relation = 'peer'
                     AND (s.rater IS NOT DISTINCT FROM s.employee OR r.unit IS DISTINCT FROM e.unit)
                    THEN 'rater: ' || s.rater || ' is not a peer of ' || s.employee
                         || ' (peers are others in unit ' || e.unit || ')'
                WHEN s.type = 'evaluation' AND s.relation IS NULL
                    THEN 'relation: missing'
                WHEN s.type = 'signoff' AND e.supervisor_nip IS DISTINCT FROM s.supervisor
                    THEN 'supervisor: ' || s.supervisor || ' is not the supervisor of ' || s.employee
                WHEN s.type = 'appeal_decision' AND e.supervisor_nip IS NULL
                    THEN 'decider: ' || s.employee || ' has no supervisor, so no one decides appeals'
                WHEN s.type = 'appeal_decision' AND es.supervisor_nip IS NULL
                    THEN 'decider: ' || e.supervisor_nip || ', the supervisor of ' || s.employee
                         || ', has no supervisor to decide appeals'
                WHEN s.type = 'appeal_decision' AND es.supervisor_nip <> s.decider
                    THEN 'decider: ' || s.decider || ' is not the supervisor of '
                         || e.supervisor_nip || ', the supervisor of ' || s.employee
            END) AS reason
        FROM s
        LEFT JOIN employees e ON e.nip = s.employee
        LEFT JOIN employees es ON es.nip = e.supervisor_nip
        LEFT JOIN employees r ON r.nip = s.rater
        LEFT JOIN employees sv ON sv.nip = s.supervisor
        LEFT JOIN employees d ON d.nip = s.decider
        LEFT JOIN units u ON u.code = s.unit
    ), ins_log AS (
        INSERT INTO event_log (id, type, source, ts, employee, unit, period, rater, relation,
                               payload, stream_key, stream_id, received_at)
        SELECT c.id, c.type, c.source, to_timestamp(c.ts_ms / 1000.0), c.employee, c.eff_unit,
               c.eff_period, c.rater, c.relation, c.payload, c.stream_key, c.stream_id,
               to_timestamp(c.received_ms / 1000.0)
        FROM checked c
        WHERE c.reason IS NULL
          AND NOT EXISTS (SELECT 1 FROM rejected_events x WHERE x.event_id = c.id)
        ON CONFLICT (id) DO NOTHING
        RETURNING 1
    ), ins_rej AS (
        INSERT INTO rejected_events (event_id, type, source, employee, payload, reason,
                                     stream_key, stream_id)
        SELECT c.id, c.type, c.source, c.employee, c.payload, c.reason, c.stream_key, c.stream_id
        FROM checked c
        WHERE c.reason IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM event_log x WHERE x.id = c.id)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins_log), (SELECT count(*) FROM ins_rej)
    INTO stored, rejected;

    already := total - stored - rejected;
END
$$;

-- Daemon role (SPEC 8) -----------------------------------------------------------------

-- kinerja_app holds only the DML the daemons need; a deployment creates a LOGIN role
-- and grants kinerja_app to it (GRANT kinerja_app TO kinerja_worker). NOLOGIN itself.
-- Roles are cluster-wide, hence the existence check; migrations run as the owner.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kinerja_app') THEN
        CREATE ROLE kinerja_app NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO kinerja_app;
-- The ingest step needs a TEMP table; the database name is only known at run time.
DO $$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO kinerja_app', current_database());
END
$$;
GRANT SELECT ON units, employees, schema_migrations TO kinerja_app;
GRANT SELECT, INSERT ON event_log, rejected_events TO kinerja_app;
GRANT SELECT, INSERT, UPDATE ON dead_letters TO kinerja_app;
GRANT EXECUTE ON FUNCTION kinerja_ingest_staged(text) TO kinerja_app;
