-- The send fence: a channel's restrict_gen counts the moderation actions that took someone's
-- right to send there (kick, mute, ban: ModerationStore.act bumps it in the action's transaction).
-- A node checks a sender against its cache of sanctions, which another node's action reaches only
-- by a control message through the broker; so every append says which generation its sender was
-- checked against (p_checked, per item), and an item whose channel has moved on since fails the
-- statement whole ('parley: stale check(s) <cids>', SQLSTATE PA001): the node re-reads that
-- sender's standing from the record and sends the batch again. Once a moderator's /mute is
-- acknowledged (= committed), no node can commit that user's next message, whether or not its
-- control message has arrived. The check is one comparison on the channel row the append locks
-- anyway.
--
-- The functions of 009/010 stay for a previous release during a rolling upgrade (no fence there);
-- these are their overloads with p_checked.
ALTER TABLE channels ADD COLUMN restrict_gen bigint NOT NULL DEFAULT 0;

-- A one-item step found no channel row it may append to: says why (stale check, or no channel).
CREATE FUNCTION parley_append_refuse(p_cid bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM channels c WHERE c.id = p_cid) THEN
    RAISE EXCEPTION 'parley: stale check(s) %', p_cid USING ERRCODE = 'PA001';
  END IF;
  RAISE EXCEPTION 'parley: unknown channel(s) %', p_cid USING ERRCODE = 'P0002';
END
$$;

-- The set-based path's first step: lock the batch's channel rows in id order (a locked row reads
-- as its newest version), then refuse the batch if a channel is missing or has moved past what an
-- item was checked against.
CREATE FUNCTION parley_append_lock(p_cid bigint[], p_checked bigint[]) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  locked bigint;
  missing bigint[];
  stale bigint[];
BEGIN
  SELECT count(*), array_agg(l.id ORDER BY l.id) FILTER (WHERE l.restrict_gen > q.chk) INTO locked, stale
    FROM (SELECT c.id, c.restrict_gen FROM channels c WHERE c.id = ANY(p_cid) ORDER BY c.id FOR UPDATE) l
    JOIN (SELECT x.cid, min(x.chk) AS chk FROM unnest(p_cid, p_checked) AS x(cid, chk) GROUP BY x.cid) q ON q.cid = l.id;
  IF locked < (SELECT count(DISTINCT x) FROM unnest(p_cid) AS x) THEN
    SELECT array_agg(DISTINCT x ORDER BY x) INTO missing
      FROM unnest(p_cid) AS x WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.id = x);
    RAISE EXCEPTION 'parley: unknown channel(s) %', array_to_string(missing, ',') USING ERRCODE = 'P0002';
  END IF;
  IF stale IS NOT NULL THEN
    RAISE EXCEPTION 'parley: stale check(s) %', array_to_string(stale, ',') USING ERRCODE = 'PA001';
  END IF;
END
$$;

CREATE FUNCTION parley_append(
  p_cid bigint[], p_uid bigint[], p_author text[], p_text text[], p_cmid text[], p_ts bigint, p_checked bigint[]
) RETURNS TABLE (idx int, seq bigint, ts bigint, duplicate boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  k int;
  s bigint;
  e bigint;
  t bigint;
BEGIN
  IF cardinality(p_cid) <= 4 THEN
    FOR k IN 1 .. cardinality(p_cid) LOOP
      UPDATE channels c SET last_seq = c.last_seq + 1 WHERE c.id = p_cid[k] AND c.restrict_gen <= p_checked[k]
        RETURNING c.last_seq INTO s;
      IF NOT FOUND THEN
        PERFORM parley_append_refuse(p_cid[k]);
      END IF;
      IF p_cmid[k] IS NOT NULL THEN
        SELECT m.seq, m.ts INTO e, t FROM messages m
          WHERE m.cid = p_cid[k] AND m.user_id = p_uid[k] AND m.cmid = p_cmid[k];
        IF FOUND THEN
          UPDATE channels c SET last_seq = c.last_seq - 1 WHERE c.id = p_cid[k]; -- still locked: no gap
          idx := k; seq := e; ts := t; duplicate := true;
          RETURN NEXT;
          CONTINUE;
        END IF;
      END IF;
      INSERT INTO messages (cid, seq, user_id, author, text, ts, cmid)
        VALUES (p_cid[k], s, p_uid[k], p_author[k], p_text[k], p_ts, p_cmid[k]);
      idx := k; seq := s; ts := p_ts; duplicate := false;
      RETURN NEXT;
    END LOOP;
    RETURN;
  END IF;

  PERFORM parley_append_lock(p_cid, p_checked);

  RETURN QUERY
  WITH input AS (
    SELECT k.cid, k.uid, k.author, k.text, k.cmid, k.i::int AS i
    FROM unnest(p_cid, p_uid, p_author, p_text, p_cmid) WITH ORDINALITY AS k(cid, uid, author, text, cmid, i)
  ),
  earlier AS (
    SELECT inp.i, m.seq, m.ts FROM input inp
    CROSS JOIN LATERAL (
      SELECT m.seq, m.ts FROM messages m
      WHERE m.cid = inp.cid AND m.user_id = inp.uid AND m.cmid = inp.cmid LIMIT 1
    ) m
    WHERE inp.cmid IS NOT NULL
  ),
  numbered AS (
    SELECT inp.cid, inp.uid, inp.author, inp.text, inp.cmid, inp.i,
           c.last_seq + row_number() OVER (PARTITION BY inp.cid ORDER BY inp.i) AS seq
    FROM input inp JOIN channels c ON c.id = inp.cid
    WHERE NOT EXISTS (SELECT 1 FROM earlier e WHERE e.i = inp.i)
  ),
  ins AS (
    INSERT INTO messages (cid, seq, user_id, author, text, ts, cmid)
    SELECT n.cid, n.seq, n.uid, n.author, n.text, p_ts, n.cmid FROM numbered n
  ),
  bump AS (
    UPDATE channels c SET last_seq = b.mx
    FROM (SELECT n.cid, max(n.seq) AS mx FROM numbered n GROUP BY n.cid) b
    WHERE c.id = b.cid
  )
  SELECT n.i, n.seq, p_ts, false FROM numbered n
  UNION ALL
  SELECT e.i, e.seq, e.ts, true FROM earlier e;
END
$$;

CREATE FUNCTION parley_append_fresh(
  p_cid bigint[], p_uid bigint[], p_author text[], p_text text[], p_cmid text[], p_ts bigint, p_checked bigint[]
) RETURNS TABLE (idx int, seq bigint, ts bigint, duplicate boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  k int;
  s bigint;
BEGIN
  IF cardinality(p_cid) <= 4 THEN
    FOR k IN 1 .. cardinality(p_cid) LOOP
      UPDATE channels c SET last_seq = c.last_seq + 1 WHERE c.id = p_cid[k] AND c.restrict_gen <= p_checked[k]
        RETURNING c.last_seq INTO s;
      IF NOT FOUND THEN
        PERFORM parley_append_refuse(p_cid[k]);
      END IF;
      INSERT INTO messages (cid, seq, user_id, author, text, ts, cmid)
        VALUES (p_cid[k], s, p_uid[k], p_author[k], p_text[k], p_ts, p_cmid[k]);
      idx := k; seq := s; ts := p_ts; duplicate := false;
      RETURN NEXT;
    END LOOP;
    RETURN;
  END IF;

  PERFORM parley_append_lock(p_cid, p_checked);

  RETURN QUERY
  WITH numbered AS (
    SELECT k.cid, k.uid, k.author, k.text, k.cmid, k.i::int AS i,
           c.last_seq + row_number() OVER (PARTITION BY k.cid ORDER BY k.i) AS seq
    FROM unnest(p_cid, p_uid, p_author, p_text, p_cmid) WITH ORDINALITY AS k(cid, uid, author, text, cmid, i)
    JOIN channels c ON c.id = k.cid
  ),
  ins AS (
    INSERT INTO messages (cid, seq, user_id, author, text, ts, cmid)
    SELECT n.cid, n.seq, n.uid, n.author, n.text, p_ts, n.cmid FROM numbered n
  ),
  bump AS (
    UPDATE channels c SET last_seq = b.mx
    FROM (SELECT n.cid, max(n.seq) AS mx FROM numbered n GROUP BY n.cid) b
    WHERE c.id = b.cid
  )
  SELECT n.i, n.seq, p_ts, false FROM numbered n;
END
$$;
