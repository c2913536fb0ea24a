-- parley_append, same signature and result as 003, with a path for small batches.
-- Measured on Postgres 15 (backend CPU per call, a throwaway script like bench/README.md's): for
-- 1 message the set-based statement of 003 costs ~230 µs of user CPU (executor start-up of a plan
-- with CTEs, a window function, joins), one UPDATE + one INSERT ~140 µs; for 4 messages ~265 vs
-- ~220 µs; for 400 the loop costs twice the set-based statement. Batches of at most 4 therefore
-- loop; larger ones take 003's path unchanged. Below ~1,000 sends/s per node most commits hold
-- 1–4 messages (bench small-rooms). The gateway passes items sorted by channel (SqlMessageStore);
-- during a rolling upgrade an older gateway does not, and two small batches locking the same two
-- channels in opposite orders can deadlock: Postgres aborts one after deadlock_timeout and the
-- group committer retries its items one by one, so it costs latency, never a message.
CREATE OR REPLACE FUNCTION parley_append(
  p_cid bigint[], p_uid bigint[], p_author text[], p_text text[], p_cmid text[], p_ts bigint
) RETURNS TABLE (idx int, seq bigint, ts bigint, duplicate boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  locked bigint;
  missing bigint[];
  k int;
  s bigint;
  e bigint;
  t bigint;
BEGIN
  -- Small batches (the usual case below a few hundred sends/s per node): one short statement per
  -- item. Items must come sorted by channel (arrival order within one), so that every transaction
  -- locks channel rows in id order, as the set-based path below does.
  IF cardinality(p_cid) <= 4 THEN
    FOR k IN 1 .. cardinality(p_cid) LOOP
      -- Lock the channel row and take the next seq; then, in a new statement (a snapshot that sees
      -- every commit made before the lock was granted), look for an earlier copy of a retried cmid.
      UPDATE channels c SET last_seq = c.last_seq + 1 WHERE c.id = p_cid[k] RETURNING c.last_seq INTO s;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'parley: unknown channel(s) %', p_cid[k] USING ERRCODE = 'P0002';
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

  PERFORM 1 FROM channels WHERE id = ANY(p_cid) ORDER BY id FOR UPDATE;
  GET DIAGNOSTICS locked = ROW_COUNT;
  IF locked < (SELECT count(DISTINCT x) FROM unnest(p_cid) AS x) THEN
    SELECT array_agg(DISTINCT x ORDER BY x) INTO missing
      FROM unnest(p_cid) AS x WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.id = x);
    RAISE EXCEPTION 'parley: unknown channel(s) %', array_to_string(missing, ',') USING ERRCODE = 'P0002';
  END IF;

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
