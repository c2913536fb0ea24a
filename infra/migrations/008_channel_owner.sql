-- Channel ownership is a property of the channel (channels.owner_id), not of a membership row.
-- Until now the Owner role lived in the owner's membership, so it vanished when the owner left:
-- a moderator could then ban them, and they rejoined as a plain member. From here on the
-- effective role is Owner for channels.owner_id whether or not that user is a member, and a
-- membership's role stops at Moderator (what an owner keeps after handing the channel on).

-- Backfill: an owner membership names the owner. Channels created through ChannelStore.create
-- already agree; this repairs any that do not (and any with a null owner_id but an owner row).
UPDATE channels c SET owner_id = m.user_id
FROM memberships m
WHERE m.cid = c.id AND m.role = 3 AND c.owner_id IS DISTINCT FROM m.user_id;

UPDATE memberships SET role = 2 WHERE role = 3;

-- Nobody can sanction an owner from here on, and nobody could lift a sanction on one (the owner
-- outranks every moderator): a mute or ban a moderator put on an owner who had left (the bug
-- above) would lock them out of their own channel. Their audit rows stay.
DELETE FROM sanctions s USING channels c WHERE s.cid = c.id AND s.user_id = c.owner_id;

-- The per-user channel quota counts channels by owner, and deleting an account nulls its
-- channels' owner_id (ON DELETE SET NULL), which without an index scans every channel.
CREATE INDEX channels_owner_idx ON channels (owner_id);

-- Adding a reaction with a cap on the different emojis of one message (PARLEY_MAX_REACTIONS_PER_MESSAGE),
-- exact under concurrency, in one round trip. The message row is locked first (FOR NO KEY UPDATE,
-- which the KEY SHARE of reaction inserts' foreign-key checks does not conflict with), so one
-- message's reactions are counted one after another; each later statement of a VOLATILE function
-- takes a new snapshot, which sees every reaction committed by an earlier holder of the lock.
-- Returns 'added', 'present' (this user's reaction was there), 'full' (the cap) or 'missing' (no such message).
CREATE FUNCTION parley_react(p_cid bigint, p_seq bigint, p_uid bigint, p_emoji text, p_max int) RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM 1 FROM messages WHERE cid = p_cid AND seq = p_seq FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN 'missing';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM reactions WHERE cid = p_cid AND seq = p_seq AND emoji = p_emoji)
     AND (SELECT count(DISTINCT emoji) FROM reactions WHERE cid = p_cid AND seq = p_seq) >= p_max THEN
    RETURN 'full';
  END IF;
  INSERT INTO reactions (cid, seq, user_id, emoji) VALUES (p_cid, p_seq, p_uid, p_emoji) ON CONFLICT DO NOTHING;
  IF FOUND THEN
    RETURN 'added';
  END IF;
  RETURN 'present';
END
$$;
