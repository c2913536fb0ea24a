-- Group commit in ONE round trip: the gateway's append of a batch of messages was five round
-- trips (BEGIN, lock, duplicate lookup, insert, COMMIT); under load each one waits behind the
-- node's event loop. As a function it is one statement, atomic, in its own implicit transaction.
--
-- parley_append(cids, user_ids, authors, texts, cmids, ts) → (idx, seq, ts, duplicate)
--   idx is the 1-based position in the input arrays. Rows that repeat an earlier (cid, user_id,
--   cmid) of the SAME batch are not returned: the caller maps them to that earlier row.
--
-- Order of work (what makes it correct with many nodes appending to one channel at once):
--   1. lock the batch's channel rows in id order (no deadlock between batches);
--   2. only then, in a NEW statement (so a new snapshot that sees every commit made before we
--      got the locks), look up retried cmids and allocate seqs from channels.last_seq.
CREATE OR REPLACE FUNCTION parley_append(
  p_cid bigint[], p_uid bigint[], p_author text[], p_text text[], p_cmid text[], p_ts bigint
) RETURNS TABLE (idx int, seq bigint, ts bigint, duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  missing bigint[];
BEGIN
  PERFORM 1 FROM channels WHERE id = ANY(p_cid) ORDER BY id FOR UPDATE;
  SELECT array_agg(DISTINCT x ORDER BY x) INTO missing
    FROM unnest(p_cid) AS x WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.id = x);
  IF missing IS NOT NULL THEN
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
  fresh AS (
    SELECT inp.*, row_number() OVER (PARTITION BY inp.cid ORDER BY inp.i) AS rn
    FROM input inp
    WHERE NOT EXISTS (SELECT 1 FROM earlier e WHERE e.i = inp.i)
      AND (inp.cmid IS NULL OR NOT EXISTS (
        SELECT 1 FROM input j WHERE j.cid = inp.cid AND j.uid = inp.uid AND j.cmid = inp.cmid AND j.i < inp.i))
  ),
  numbered AS (
    SELECT f.cid, f.uid, f.author, f.text, f.cmid, f.i, c.last_seq + f.rn AS seq
    FROM fresh f JOIN channels c ON c.id = f.cid
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
