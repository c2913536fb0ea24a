-- messages.user_id loses its foreign key, like messages.cid before it (001): the per-row RI
-- check (an index probe plus a FOR KEY SHARE lock on the author's users row, one per message)
-- cost ~10-20 % of Postgres CPU per appended message (measured: 150-message batches over 4
-- lanes, 52 vs 57-63 µs backend CPU per message). What the key did is now done by the only
-- statement that deletes users, the guest reaper (SqlUserStore.reapGuests): it sets user_id to
-- null on the messages of the users it deletes, in the same statement. Ids are never reused
-- (bigserial), so a user_id can never name a different user.
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_user_id_fkey;
