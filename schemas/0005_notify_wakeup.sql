-- 0005_notify_wakeup: wake the notify workers when notifications are queued, so
-- delivery does not wait for their poll (workers/notify.c LISTENs on kinerja_notify).
-- Delivered at commit, once per transaction, whatever the number of rows.
CREATE FUNCTION notifications_wakeup() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kinerja_notify', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER notifications_wakeup
    AFTER INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_wakeup();
