-- Member counts kept as memberships change, instead of count(*) per request. List (per channel of
-- the page) and Members (its `total`, asked by every client that opens a channel) counted the
-- channel's memberships each time: ~15 ms of Postgres CPU for a channel of 100k members, ~80 ms
-- for a million (measured 12-03 on this project's 2-vCPU box), where a community's default
-- channel holds every account and recent guest.
--
-- Triggers on memberships see every way a membership comes or goes: join, leave, kick, ban,
-- setRole of a non-member, and the cascades (a deleted account, a reaped guest, a deleted
-- channel). A channel's count is the sum of up to 8 rows (slot = the writer's backend pid mod 8):
-- joins of one busy channel from different connections update different rows, so they do not
-- queue on one row lock until each other's commits. A slot may go negative (a membership
-- counted in one slot, removed through another); only the sum means anything.
CREATE TABLE channel_member_counts (
  cid  bigint NOT NULL,
  slot smallint NOT NULL,
  n    bigint NOT NULL,
  PRIMARY KEY (cid, slot)
);

-- Statement triggers (transition tables): one upsert per channel of a statement, whatever its
-- rows. They fire for statements that change nothing too (a rejoin: ON CONFLICT DO NOTHING, on
-- every reconnect), so they return at once when there is nothing to count: measured with pgbench
-- (4 clients, 12-03), rejoins/s without a trigger 20.9k / 24.0k, with these 22.9k / 20.9k. A row
-- trigger would have cost a bulk insert one update of the same counter row per row, each walking
-- the chain of that row's versions the transaction made: 20k memberships in one statement took
-- 6.3 s against 0.34 s.
CREATE FUNCTION parley_count_memberships_added() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM counted_new) THEN
    RETURN NULL;
  END IF;
  INSERT INTO channel_member_counts AS k (cid, slot, n)
    SELECT r.cid, pg_backend_pid() % 8, count(*) FROM counted_new r GROUP BY r.cid
    ON CONFLICT (cid, slot) DO UPDATE SET n = k.n + EXCLUDED.n;
  RETURN NULL;
END
$$;

-- Not for a channel being deleted (its cascade): its rows go with it, whichever trigger runs first.
CREATE FUNCTION parley_count_memberships_removed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM counted_old) THEN
    RETURN NULL;
  END IF;
  INSERT INTO channel_member_counts AS k (cid, slot, n)
    SELECT r.cid, pg_backend_pid() % 8, -count(*) FROM counted_old r
    WHERE EXISTS (SELECT 1 FROM channels c WHERE c.id = r.cid) GROUP BY r.cid
    ON CONFLICT (cid, slot) DO UPDATE SET n = k.n + EXCLUDED.n;
  RETURN NULL;
END
$$;

-- Nothing may change memberships between the count below and the triggers (a previous release's
-- gateway during a rolling upgrade): the migration's transaction holds this lock until it commits.
LOCK TABLE memberships IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO channel_member_counts (cid, slot, n) SELECT cid, 0, count(*) FROM memberships GROUP BY cid;

CREATE TRIGGER memberships_counted_insert AFTER INSERT ON memberships
  REFERENCING NEW TABLE AS counted_new FOR EACH STATEMENT EXECUTE FUNCTION parley_count_memberships_added();
CREATE TRIGGER memberships_counted_delete AFTER DELETE ON memberships
  REFERENCING OLD TABLE AS counted_old FOR EACH STATEMENT EXECUTE FUNCTION parley_count_memberships_removed();

-- A deleted channel's rows go with it.
CREATE FUNCTION parley_forget_member_counts() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM channel_member_counts k USING counted_gone g WHERE k.cid = g.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER channels_forget_member_counts AFTER DELETE ON channels
  REFERENCING OLD TABLE AS counted_gone FOR EACH STATEMENT EXECUTE FUNCTION parley_forget_member_counts();
