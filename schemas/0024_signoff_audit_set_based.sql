-- 0024_signoff_audit_set_based: the audit of a period's sign-off requests, once per
-- statement (issue 15, recalculation at scale).
--
-- kinerja_request_signoff moves a period's offerable results collecting ->
-- pending_signoff in one UPDATE; results_transition (BEFORE UPDATE FOR EACH ROW) then ran
-- a PL/pgSQL call, a result_transitions lookup and a one-row INSERT into result_audit for
-- every one of them: at 100 000 requests a large part of the sign-off step. Now that
-- function writes the audit rows itself, from the UPDATE's RETURNING, in one INSERT, and
-- sets kinerja.transition_audit = 'statement' while it runs (set_config, local to the
-- transaction, put back before it returns; a SET clause would be refused to an owner
-- that is not a superuser). The row trigger is skipped only for that exact case: the
-- transition collecting -> pending_signoff (always allowed), no transient transition_*
-- column set, while that setting is on. Every other writer of results.state, the supervisor's offer
-- in kinerja_workflow_apply included, still goes through the trigger: its check and its
-- audit row. The same rows, the same actor and note (p_actor, else kinerja_actor(); p_note,
-- else kinerja.note; kinerja.event_id).
--
-- The setting is spelled out with coalesce: unset, current_setting(.., true) is NULL,
-- and a NULL WHEN skips a trigger.
DROP TRIGGER results_transition ON results;
CREATE TRIGGER results_transition
    BEFORE UPDATE OF state, transition_actor, transition_note, transition_event_id ON results
    FOR EACH ROW
    WHEN (NOT (OLD.state = 'collecting' AND NEW.state = 'pending_signoff'
               AND NEW.transition_actor IS NULL AND NEW.transition_note IS NULL
               AND NEW.transition_event_id IS NULL
               AND coalesce(current_setting('kinerja.transition_audit', true), '') = 'statement'))
    EXECUTE FUNCTION results_transition();
