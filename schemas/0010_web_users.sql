-- 0010_web_users: accounts of the web front end (issue 13, SPEC 12).
--
-- kinerja-web signs people in by id and password. One row per account:
--   id        an employee's NIP, an evaluator's id (both checked by `kinerja user add`,
--             common/userstore.c) or, for role operator, any name; 1..64 characters of
--             [A-Za-z0-9._-] (so an id never holds the ':' a session cookie may use as a
--             separator; an evaluator id with ':' cannot have an account)
--   role      employee (sees their own results), supervisor (also their reports' queue
--             and appeals), operator (runs the organisation)
--   pwhash    crypto_pwhash_str of libsodium (argon2id, OPSLIMIT/MEMLIMIT_INTERACTIVE);
--             never the password, never shown by `kinerja user list`
--   disabled  a disabled account cannot sign in
--   epoch     the session generation: a session carries the epoch it was made under and
--             is void once the row's epoch is higher. The trigger below bumps it whenever
--             the password, the role or disabled changes, so `kinerja user passwd`,
--             `disable` and `enable` end every open session of that account.
-- Written only by `kinerja user` (the CLI, as the database owner); kinerja_app reads it
-- (the web signs in through common/userstore.h).

CREATE TABLE web_users (
    id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    role       text NOT NULL CHECK (role IN ('employee', 'supervisor', 'operator')),
    pwhash     text NOT NULL CHECK (pwhash LIKE '$argon2%'),
    disabled   boolean NOT NULL DEFAULT false,
    epoch      bigint NOT NULL DEFAULT 1 CHECK (epoch >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE web_users IS 'accounts of kinerja-web (SPEC 12); written by kinerja user';
COMMENT ON COLUMN web_users.epoch IS
    'session generation: bumped when pwhash, role or disabled changes; older sessions are void';

-- The one place the epoch rule lives: a change of what a session rests on bumps it; the
-- epoch never goes back (that would revive voided sessions).
CREATE FUNCTION web_users_bump_epoch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.epoch < OLD.epoch THEN
        RAISE EXCEPTION 'web user %: epoch: may not go back from % to %', OLD.id, OLD.epoch, NEW.epoch
            USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.pwhash, NEW.role, NEW.disabled) IS DISTINCT FROM (OLD.pwhash, OLD.role, OLD.disabled) THEN
        NEW.epoch := greatest(NEW.epoch, OLD.epoch + 1);
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER web_users_bump_epoch
    BEFORE UPDATE ON web_users
    FOR EACH ROW EXECUTE FUNCTION web_users_bump_epoch();

GRANT SELECT ON web_users TO kinerja_app;
