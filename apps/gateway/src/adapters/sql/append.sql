-- Group commit of a batch of chat messages in ONE statement (one round trip, one implicit
-- transaction). $1..$5: parallel arrays cid, user_id, author, text, cmid; $6: ts (epoch ms).
-- Returns (idx, seq, ts, duplicate), idx = 1-based position in the arrays. A cmid repeated
-- INSIDE one batch is the caller's job (it sends each once).
--
-- Why it is correct with many nodes appending to one channel at once:
-- * `locked` takes the channel rows FOR UPDATE in id order (sorting happens below the lock, so
--   two batches never deadlock). Under READ COMMITTED a row lock returns the row's newest
--   committed version, so seqs continue from the latest last_seq whatever the statement's
--   snapshot saw: no duplicate seq, no gap.
-- * Retried cmids are looked up in the statement's snapshot, which is taken BEFORE the locks: a
--   copy committed by another node in between is invisible here, but then the insert hits the
--   unique index messages_cmid_key and the whole statement fails (23505); the caller retries
--   that batch through parley_append (003), which looks cmids up after locking.
-- * A channel without a row (deleted meanwhile) fails the whole statement through
--   parley_unknown_channels (009): nothing is stored.
-- Plan: run with plan_cache_mode = force_generic_plan (set per connection by the store) so the
-- prepared statement is planned once; the LATERAL ... LIMIT 1 keeps the cmid probe on its index
-- whatever the generic plan estimates.
WITH input AS (
  SELECT k.cid, k.uid, k.author, k.text, k.cmid, k.i::int AS i
  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS k(cid, uid, author, text, cmid, i)
),
locked AS MATERIALIZED (
  SELECT c.id, c.last_seq FROM channels c WHERE c.id = ANY($1::bigint[]) ORDER BY c.id FOR UPDATE
),
checked AS MATERIALIZED (
  SELECT CASE WHEN (SELECT count(*) FROM locked) < (SELECT count(DISTINCT x) FROM unnest($1::bigint[]) AS x)
    THEN parley_unknown_channels($1::bigint[]) ELSE 0 END AS ok
),
earlier AS MATERIALIZED (
  SELECT inp.i, m.seq, m.ts FROM input inp
  CROSS JOIN LATERAL (
    SELECT m.seq, m.ts FROM messages m
    WHERE m.cid = inp.cid AND m.user_id = inp.uid AND m.cmid = inp.cmid LIMIT 1
  ) m
  WHERE inp.cmid IS NOT NULL
),
numbered AS MATERIALIZED (
  SELECT inp.cid, inp.uid, inp.author, inp.text, inp.cmid, inp.i,
         l.last_seq + row_number() OVER (PARTITION BY inp.cid ORDER BY inp.i) AS seq
  FROM input inp JOIN locked l ON l.id = inp.cid CROSS JOIN checked
  WHERE checked.ok = 0 AND NOT EXISTS (SELECT 1 FROM earlier e WHERE e.i = inp.i)
),
ins AS (
  INSERT INTO messages (cid, seq, user_id, author, text, ts, cmid)
  SELECT n.cid, n.seq, n.uid, n.author, n.text, $6::bigint, n.cmid FROM numbered n
),
bump AS (
  UPDATE channels c SET last_seq = (SELECT max(n.seq) FROM numbered n WHERE n.cid = c.id)
  WHERE c.id = ANY($1::bigint[]) AND EXISTS (SELECT 1 FROM numbered n WHERE n.cid = c.id)
)
SELECT n.i AS idx, n.seq, $6::bigint AS ts, false AS duplicate FROM numbered n
UNION ALL
SELECT e.i, e.seq, e.ts, true FROM earlier e
