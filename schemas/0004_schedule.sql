-- 0004_schedule: what the schedule role of kinerja-worker (workers/schedule.c) calls
-- (SPEC 6 "Scheduled jobs"): its leadership lock and fence, the record of job runs, the
-- full recalculation on its cron schedule, period close, sign-off reminders and the end
-- of the appeal window. The workflow itself (transitions, audit, notifications) is
-- 0003's: these functions decide WHEN and call 0003's kinerja_close_period(),
-- kinerja_queue_reminders() and kinerja_finalize_due(), which go through the transition
-- trigger (audited, actor 'scheduler') and the outbox.
--
-- Exactly one scheduler is active across all hosts: the one holding the session
-- advisory lock kinerja_schedule_lock_key() on its own connection. Every job function
-- first checks that the backend the caller names (its lock connection) still holds the
-- lock (kinerja_schedule_fence), and every job is idempotent when two run at once
-- anyway (row locks and conditional writes), so a leader that lost its lock a moment
-- before noticing cannot do anything twice.

-- The record --------------------------------------------------------------------------

-- One row per job: when it last did something, who ran it, what it did. For recalc,
-- last_due is the cron minute (wall clock of time.zone) last carried out: a restart or
-- a new leader in the same minute does not repeat it.
CREATE TABLE schedule_runs (
    job      text PRIMARY KEY,
    last_due timestamp,
    last_run timestamptz NOT NULL DEFAULT now(),
    ran_by   text,
    runs     bigint NOT NULL DEFAULT 0,
    detail   text
);

-- Who is the active scheduler (written when one becomes leader; the lock, not this
-- row, decides: after a crash the row names the dead holder until the next takes over).
CREATE TABLE schedule_leader (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    holder      text NOT NULL,
    backend_pid int,
    since       timestamptz NOT NULL DEFAULT now()
);

-- Periods closed by the scheduler, once each (SPEC 6: results still collecting when the
-- period closes go to pending_signoff).
CREATE TABLE closed_periods (
    period     text PRIMARY KEY,
    period_end timestamptz NOT NULL, -- the first instant after the period, in time.zone
    closed_at  timestamptz NOT NULL DEFAULT now(),
    closed_by  text
);

-- Leadership --------------------------------------------------------------------------

-- 'schedule' in ASCII as a bigint; pg_try_advisory_lock(kinerja_schedule_lock_key()).
CREATE FUNCTION kinerja_schedule_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT 8314045480958798949::bigint $$;

-- Raises (55P03) unless backend p_lock_pid holds the scheduler's lock.
CREATE FUNCTION kinerja_schedule_fence(p_lock_pid int) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_locks l
                   WHERE l.locktype = 'advisory' AND l.granted AND l.pid = p_lock_pid
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                     AND l.classid = ((kinerja_schedule_lock_key() >> 32) & 4294967295)::oid
                     AND l.objid = (kinerja_schedule_lock_key() & 4294967295)::oid
                     AND l.objsubid = 1) THEN
        RAISE EXCEPTION 'not the scheduler leader: backend % does not hold the schedule lock', p_lock_pid
            USING ERRCODE = 'lock_not_available';
    END IF;
END
$$;

CREATE FUNCTION kinerja_schedule_became_leader(p_holder text, p_lock_pid int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kinerja_schedule_fence(p_lock_pid);
    INSERT INTO schedule_leader AS l (singleton, holder, backend_pid, since)
    VALUES (true, p_holder, p_lock_pid, now())
    ON CONFLICT (singleton) DO UPDATE SET holder = excluded.holder, backend_pid = excluded.backend_pid,
                                          since = excluded.since;
END
$$;

-- Records that a job did something (housekeeping, which runs in Redis, calls it too).
CREATE FUNCTION kinerja_schedule_record(p_job text, p_ran_by text, p_detail text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO schedule_runs AS s (job, last_run, ran_by, runs, detail)
    VALUES (p_job, now(), p_ran_by, 1, p_detail)
    ON CONFLICT (job) DO UPDATE SET last_run = now(), ran_by = excluded.ran_by, runs = s.runs + 1,
                                    detail = excluded.detail
$$;

-- The jobs ----------------------------------------------------------------------------

-- Full recalculation due at cron minute p_due (wall clock of time.zone): a recalc
-- request for everything (period, unit, employee NULL), which the score worker carries
-- out (0002: rebuild the derived tables from the event log, recompute). Returns the
-- request's id, or NULL when the run due at p_due (or a later one) was already done.
CREATE FUNCTION kinerja_schedule_recalc(p_due timestamp, p_ran_by text, p_lock_pid int) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    req uuid := gen_random_uuid();
    n bigint;
BEGIN
    PERFORM kinerja_schedule_fence(p_lock_pid);
    INSERT INTO schedule_runs AS s (job, last_due, last_run, ran_by, runs, detail)
    VALUES ('recalc', p_due, now(), p_ran_by, 1, 'recalc request ' || req)
    ON CONFLICT (job) DO UPDATE SET last_due = excluded.last_due, last_run = now(), ran_by = excluded.ran_by,
                                    runs = s.runs + 1, detail = excluded.detail
        WHERE s.last_due IS NULL OR s.last_due < excluded.last_due;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO recalc_requests (event_id, period, unit, employee) VALUES (req, NULL, NULL, NULL);
    PERFORM pg_notify('kinerja_score', '');
    RETURN req;
END
$$;

-- The first instant after a period, as wall-clock time: 'YYYY-MM' -> the first of the
-- next month, 'YYYY' -> 1 January of the next year; NULL for anything else.
CREATE FUNCTION kinerja_period_end(p_period text) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'
            THEN make_timestamp(left(p_period, 4)::int, substr(p_period, 6, 2)::int, 1, 0, 0, 0) + interval '1 month'
        WHEN p_period ~ '^[0-9]{4}$'
            THEN make_timestamp(p_period::int, 1, 1, 0, 0, 0) + interval '1 year'
    END
$$;

-- Period close. A period that ended at least p_grace_days ago (wall clock of p_tz) is
-- closed once: recorded in closed_periods, and every result of it that has a score
-- version and is still collecting goes to pending_signoff with a signoff_requested to
-- the supervisor (0003's kinerja_close_period). A closed period's result that is
-- collecting again later (returned by the supervisor) follows once its new version is
-- in (0003 leaves a result without a digest alone). Returns one row per period acted
-- on: whether it was closed now, how many results moved, how many requests went out.
CREATE FUNCTION kinerja_schedule_close_periods(p_tz text, p_grace_days int, p_ran_by text, p_lock_pid int)
RETURNS TABLE (period text, newly_closed boolean, period_end timestamptz, moved bigint, requests bigint)
LANGUAGE plpgsql AS $$
DECLARE
    local_now timestamp := now() AT TIME ZONE p_tz; -- raises for an unknown zone
    p record;
    closed_list text[];
    acted bigint := 0;
    closed_now bigint := 0;
    total_moved bigint := 0;
BEGIN
    PERFORM kinerja_schedule_fence(p_lock_pid);
    WITH ended AS (
        INSERT INTO closed_periods AS c (period, period_end, closed_by)
        SELECT sp.period, kinerja_period_end(sp.period) AT TIME ZONE p_tz, p_ran_by
        FROM score_periods sp
        WHERE kinerja_period_end(sp.period) + make_interval(days => p_grace_days) <= local_now
        ORDER BY sp.period
        ON CONFLICT ON CONSTRAINT closed_periods_pkey DO NOTHING
        RETURNING c.period
    )
    SELECT coalesce(array_agg(e.period), '{}') INTO closed_list FROM ended e;
    FOR p IN
        SELECT c.period, c.period = ANY (closed_list) AS newly, c.period_end
        FROM closed_periods c
        WHERE c.period = ANY (closed_list)
           OR EXISTS (SELECT 1 FROM results r
                      WHERE r.period = c.period AND r.state = 'collecting' AND r.version >= 1
                        AND r.digest IS NOT NULL)
        ORDER BY c.period
    LOOP
        period := p.period;
        newly_closed := p.newly;
        period_end := p.period_end;
        SELECT count(*) INTO moved FROM results r
        WHERE r.period = p.period AND r.state = 'collecting' AND r.version >= 1 AND r.digest IS NOT NULL;
        requests := CASE WHEN moved > 0 THEN kinerja_close_period(p.period) ELSE 0 END;
        IF p.newly OR moved > 0 THEN
            acted := acted + 1;
            closed_now := closed_now + p.newly::int;
            total_moved := total_moved + moved;
            RETURN NEXT;
        END IF;
    END LOOP;
    IF acted > 0 THEN
        PERFORM kinerja_schedule_record('period_close', p_ran_by,
                                        format('%s periods closed, %s results to pending_signoff', closed_now,
                                               total_moved));
    END IF;
END
$$;

-- Sign-off reminders (0003's kinerja_queue_reminders). Returns how many were queued.
CREATE FUNCTION kinerja_schedule_remind(p_days int, p_ran_by text, p_lock_pid int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM kinerja_schedule_fence(p_lock_pid);
    n := kinerja_queue_reminders(p_days);
    IF n > 0 THEN
        PERFORM kinerja_schedule_record('reminders', p_ran_by, format('%s signoff_reminder notifications', n));
    END IF;
    RETURN n;
END
$$;

-- The end of the appeal window: approved -> final (0003's kinerja_finalize_due).
-- Returns how many results became final.
CREATE FUNCTION kinerja_schedule_finalize(p_ran_by text, p_lock_pid int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM kinerja_schedule_fence(p_lock_pid);
    n := kinerja_finalize_due();
    IF n > 0 THEN
        PERFORM kinerja_schedule_record('appeal_window', p_ran_by, format('%s results final', n));
    END IF;
    RETURN n;
END
$$;

-- Daemon role (SPEC 8) -----------------------------------------------------------------

GRANT SELECT, INSERT, UPDATE ON schedule_runs, schedule_leader, closed_periods TO kinerja_app;
GRANT EXECUTE ON FUNCTION kinerja_schedule_lock_key(), kinerja_schedule_fence(int),
    kinerja_schedule_became_leader(text, int), kinerja_schedule_record(text, text, text),
    kinerja_schedule_recalc(timestamp, text, int), kinerja_period_end(text),
    kinerja_schedule_close_periods(text, int, text, int), kinerja_schedule_remind(int, text, int),
    kinerja_schedule_finalize(text, int) TO kinerja_app;
