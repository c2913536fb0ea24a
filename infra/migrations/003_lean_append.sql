-- parley_append, leaner (same signature and result as 002). Measured on Postgres 15 with one
-- message per call: 002 cost ~0.9 ms of backend CPU per call, most of it planning; this costs
-- about half of that; with 100 per call ~37 µs per message (measured with a throwaway script against the local Postgres 15).
--   * Plans are cached generic plans (plan_cache_mode): the statements are the same every call.
--   * A cmid repeated INSIDE one batch is the caller's job (the gateway sends each once and maps
--     the copies to the first): no quadratic self-join here.
--   * The unknown-channel check only runs when fewer channel rows were locked than asked for.
-- Correctness as in 002: lock the channel rows first (id order), then, in a new statement (a
-- snapshot that sees every commit made before the locks were taken), look up retried cmids and
-- allocate seqs from channels.last_seq.
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
BEGIN
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
