-- 0015_feedback_notes: the supervisor's feedback note (umpan balik, PermenPANRB 6/2022;
-- issue 14), a new event type `feedback`: employee, period, supervisor, text, optional
-- value (the aspect: a BerAKHLAK key or hasil_kerja).
--
-- - kinerja_ingest_staged() (schemas/functions/) has one rule more: a feedback note, like
--   a sign-off, must come from the employee's supervisor (the pejabat penilai: a NIP or
--   an evaluator id). A note is stored in event_log like an evaluation; it derives
--   nothing, changes no score and makes no version.
-- - The employee is told: a `feedback_note` notification (ZeroMQ PUB, webhook, the
--   web's live stream and inbox), written in the same transaction by a statement
--   trigger on event_log.
-- - The result's history shows the notes of its period and of the shorter periods
--   inside it (common/resultstore.c; kinerja_period_parts of 0014); the index below
--   serves that lookup.

CREATE INDEX event_log_feedback_idx ON event_log (employee, period) WHERE type = 'feedback';

ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'signoff_requested', 'signoff_reminder', 'inputs_missing', 'result_approved', 'result_returned',
    'appeal_filed', 'appeal_decided', 'feedback_note'));

-- feedback_note (to the employee): employee, period, supervisor, text, value, event_id, at
CREATE FUNCTION event_log_feedback_note() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notifications (id, kind, recipient, employee, period, payload)
    SELECT gen_random_uuid(), 'feedback_note', n.employee, n.employee, n.period,
           jsonb_build_object('employee', n.employee, 'period', n.period,
                              'supervisor', n.payload ->> 'supervisor', 'text', n.payload ->> 'text',
                              'value', n.payload ->> 'value', 'event_id', n.id, 'at', n.ts)
    FROM new_events n
    WHERE n.type = 'feedback';
    RETURN NULL;
END
$$;

CREATE TRIGGER event_log_feedback_note
    AFTER INSERT ON event_log
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION event_log_feedback_note();

-- kinerja_ingest_staged(): the feedback rule is in schemas/functions/kinerja_ingest_staged.sql.
