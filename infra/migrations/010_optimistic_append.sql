-- parley_append_fresh: parley_append for a batch none of whose cmids has been stored before (the
-- usual case: a cmid repeats only when a client resends after losing an ack). It takes the same
-- locks in the same order and numbers the same way, but does not look for earlier copies: a cmid
-- that is already stored fails the whole statement on messages_cmid_key (23505), nothing of the
-- batch is kept, and the gateway sends the batch again through parley_append. Measured with
-- 650-row batches over 200 channels (backend CPU per row, alternated, bench/README.md "seventh
-- session"): the lookup was a quarter of the statement's cost. parley_append stays as it is: the
-- gateway's path after a conflict (and a previous release's during a rolling upgrade).
CREATE FUNCTION parley_append_fresh(
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
BEGIN
  -- Small batches: one short statement per item (009's measurements). Items come sorted by
  -- channel, arrival order within one, so channel rows are locked in id order.
  IF cardinality(p_cid) <= 4 THEN
    FOR k IN 1 .. cardinality(p_cid) LOOP
      UPDATE channels c SET last_seq = c.last_seq + 1 WHERE c.id = p_cid[k] RETURNING c.last_seq INTO s;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'parley: unknown channel(s) %', p_cid[k] USING ERRCODE = 'P0002';
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
