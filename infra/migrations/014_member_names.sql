-- Members pages by name without visiting every member. Members (the web client asks on opening a
-- channel) lists a channel's members by name, 200 a page; with the name only in `users`, Postgres
-- either fetched every member's user row to sort them (a channel of 1,000 among 1M accounts:
-- ~5 ms) or walked the users by name looking for members (a channel of 50,000 among 1M: 14,000
-- users visited for a page, ~17 ms) — measured 12-03 on this project's 2-vCPU box: the cost grows
-- with the channel or with the whole user base. Now 0.2 ms for either. A copy of the member's name on the
-- membership, indexed with the channel, makes a page one range scan of (cid, user_name).
--
-- What it costs joins (pgbench, 4 clients, prepared, 8 s, 1M users, 12-03, three interleaved
-- rounds): rejoins 14.4k / 15.7k per s with this release's join (one statement that reads the
-- membership and inserts nothing) against 13.8k / 15.4k / 17.3k for the previous release's two
-- statements; first joins 2.9k / 3.3k / 3.7k per s against 4.1k / 4.1k / 4.2k (the name's look-up,
-- its index entry and the check below). The migration rewrites every membership: 11.5 s for 1.05M
-- on that box, holding the locks below throughout (joins and renames wait).
--
-- The copy is kept by the database, whoever writes. This release's statements give the name
-- (read from users in the statement); a previous release's (a rolling upgrade) do not, and a row
-- trigger reads it for them. A rename of a user renames their memberships.
ALTER TABLE memberships ADD COLUMN user_name text;

CREATE FUNCTION parley_name_membership() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- A plain read, no row lock: a lock would make every rejoin (ON CONFLICT DO NOTHING fires BEFORE
  -- triggers too) write and flush WAL — measured with pgbench, rejoins/s fell from ~22k to 3–6k.
  SELECT u.name INTO NEW.user_name FROM users u WHERE u.id = NEW.user_id;
  -- No such user: the foreign key refuses the row, with its own error.
  NEW.user_name := coalesce(NEW.user_name, '');
  RETURN NEW;
END
$$;

-- A rename that committed while the insert ran: the name the insert read is the old one, and the
-- rename's own update of memberships did not see this uncommitted row. This runs after the row's
-- foreign key check (AFTER row triggers fire in name order, and the check's RI_ConstraintTrigger_…
-- sorts first), which waits for a rename of the user in flight (it locks the user row FOR UPDATE:
-- the name has a unique index), so this read sees the rename; a rename that starts later waits for
-- this transaction (the check's KEY SHARE lock) and updates the row itself. Fires only for rows
-- inserted: a rejoin that conflicted costs nothing here. A statement trigger with a transition
-- table cost rejoins ~25 % (pgbench).
CREATE FUNCTION parley_rename_membership_meanwhile() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  UPDATE memberships m SET user_name = u.name FROM users u
    WHERE u.id = NEW.user_id AND m.cid = NEW.cid AND m.user_id = NEW.user_id AND m.user_name <> u.name;
  RETURN NULL;
END
$$;

CREATE FUNCTION parley_rename_memberships() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  UPDATE memberships SET user_name = NEW.name WHERE user_id = NEW.id;
  RETURN NULL;
END
$$;

-- Nothing may insert a membership between the backfill and the trigger (a previous release's
-- gateway during a rolling upgrade): the migration's transaction holds these locks until it commits.
LOCK TABLE memberships IN SHARE ROW EXCLUSIVE MODE;
LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;

UPDATE memberships m SET user_name = u.name FROM users u WHERE u.id = m.user_id;
ALTER TABLE memberships ALTER COLUMN user_name SET NOT NULL;
CREATE INDEX memberships_cid_name_idx ON memberships (cid, user_name);

CREATE TRIGGER memberships_named BEFORE INSERT ON memberships
  FOR EACH ROW WHEN (NEW.user_name IS NULL) EXECUTE FUNCTION parley_name_membership();
CREATE TRIGGER memberships_named_again AFTER INSERT ON memberships
  FOR EACH ROW EXECUTE FUNCTION parley_rename_membership_meanwhile();
CREATE TRIGGER users_renamed_memberships AFTER UPDATE OF name ON users
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION parley_rename_memberships();
