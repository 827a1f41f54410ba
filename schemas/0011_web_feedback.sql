-- 0011_web_feedback: a citizen's response through kinerja-web is one respondent, not a
-- kiosk (issue 13).
--
-- The kiosk-misuse step counts presses per device (feedback.source, 0009): one CURVE key
-- is one device. Every response sent through kinerja-web carries source web:<unit> and
-- the web's one key, so within fairness.kiosk_repeat_s all citizens answering on the web
-- counted as one (measured: 5 responses, counted 1). A response whose source is web:*
-- is its own device here (web:<event id>); the web limits responses per address instead
-- (web.respond_max per hour). With CURVE on, only keys allowed source=web: may send such
-- a source (scripts/stack.sh admits the web's key with exactly that binding).
-- Rows already in feedback keep their device (the table's rows are immutable but for
-- `repeat`); the web did not exist before this migration.

CREATE OR REPLACE VIEW event_feedback AS
SELECT e.id AS event_id, e.period, e.unit, e.employee,
       CASE WHEN e.source LIKE 'web:%' THEN 'web:' || e.id::text
            WHEN e.client IS NOT NULL THEN 'key:' || e.client
            ELSE e.source END AS source,
       (extract(epoch FROM e.ts) * 1000)::bigint AS ts_ms,
       coalesce(e.payload ->> 'respondent', 'citizen') AS respondent,
       kinerja_value4(e.payload ->> 'rating') AS rating,
       CASE WHEN e.payload ? 'skm' THEN
           ARRAY[kinerja_value4(q.u1), kinerja_value4(q.u2), kinerja_value4(q.u3), kinerja_value4(q.u4),
                 kinerja_value4(q.u5), kinerja_value4(q.u6), kinerja_value4(q.u7), kinerja_value4(q.u8),
                 kinerja_value4(q.u9)]
       END AS skm,
       e.payload ->> 'comment' AS comment
FROM event_log e
LEFT JOIN LATERAL jsonb_to_record(kinerja_jsonb_object(e.payload -> 'skm'))
    AS q(u1 text, u2 text, u3 text, u4 text, u5 text, u6 text, u7 text, u8 text, u9 text) ON true
WHERE e.type = 'citizen_feedback';
