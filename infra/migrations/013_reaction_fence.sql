-- The send fence (011) for reactions. A node checks a reacting user against its cache of
-- sanctions, which another node's kick, mute or ban reaches only by a control message; so a
-- muted (or kicked, or banned) user's reaction could still land on a node that had not heard yet.
-- Now a reaction says which restriction generation its check read, and a channel that has moved
-- past it refuses the reaction ('parley: stale check(s) <cid>', SQLSTATE PA001): the node reads
-- that user's standing from the record and refuses the reaction or makes it again. Once a
-- moderator's /mute is acknowledged (= committed), a reaction checked after that cannot be stored.
-- The check reads the channel row without locking it (a reaction does not hold up appends): a
-- reaction whose check read the row before the action committed was made before the
-- acknowledgement, and may land.
--
-- The unfenced parley_react of 008 stays for a previous release during a rolling upgrade.
CREATE FUNCTION parley_reaction_fence(p_cid bigint, p_checked bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF (SELECT c.restrict_gen FROM channels c WHERE c.id = p_cid) > p_checked THEN
    RAISE EXCEPTION 'parley: stale check(s) %', p_cid USING ERRCODE = 'PA001';
  END IF;
END
$$;

CREATE FUNCTION parley_react(p_cid bigint, p_seq bigint, p_uid bigint, p_emoji text, p_max int, p_checked bigint) RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM parley_reaction_fence(p_cid, p_checked);
  RETURN parley_react(p_cid, p_seq, p_uid, p_emoji, p_max);
END
$$;

-- Whether the reaction was there (and is gone now).
CREATE FUNCTION parley_unreact(p_cid bigint, p_seq bigint, p_uid bigint, p_emoji text, p_checked bigint) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM parley_reaction_fence(p_cid, p_checked);
  DELETE FROM reactions WHERE cid = p_cid AND seq = p_seq AND user_id = p_uid AND emoji = p_emoji;
  RETURN FOUND;
END
$$;
