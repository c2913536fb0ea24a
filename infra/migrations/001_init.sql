-- Parley schema, version 1. Plain SQL that runs on PostgreSQL 15+ and PGlite.
-- Times the protocol carries (message ts, sanction until, audit at) are bigint epoch ms, so they
-- reach clients without conversion; bookkeeping times are timestamptz.

CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE,       -- one namespace for accounts and guests
  password_hash text,                       -- null for guests
  guest         boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Creation time until the first touch, so a guest that never connected is still reaped.
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
-- The guest reaper scans only guests.
CREATE INDEX users_guest_seen_idx ON users (last_seen_at) WHERE guest;

CREATE TABLE channels (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  -- Null once the owner's account is deleted; the channel and its history stay.
  owner_id   bigint REFERENCES users (id) ON DELETE SET NULL,
  public     boolean NOT NULL DEFAULT true,
  -- Highest seq handed out; appenders lock this row, so it is the per-channel sequence.
  last_seq   bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
  cid       bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role      smallint NOT NULL,              -- @parley/protocol Role: 0 guest .. 3 owner
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (cid, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- No foreign key on cid, deliberately: per-row RI checks were ~20% of a group commit (500 rows:
-- 24.6 -> 20.8 ms), and the appender already holds the channel row FOR UPDATE, which proves it
-- exists and keeps it from being deleted meanwhile. ChannelStore.delete removes the messages
-- under the same row lock.
CREATE TABLE messages (
  cid     bigint NOT NULL,
  seq     bigint NOT NULL,
  -- Null after the author (a reaped guest, a deleted account) is gone; `author` keeps the name.
  user_id bigint REFERENCES users (id) ON DELETE SET NULL,
  author  text NOT NULL,
  text    text NOT NULL,
  ts      bigint NOT NULL,
  cmid    text,                             -- client message id, for retried sends
  PRIMARY KEY (cid, seq)                    -- also serves history in both directions
);
-- Retry dedup. Partial: most sends carry no cmid, and a smaller index keeps appends fast.
CREATE UNIQUE INDEX messages_cmid_key ON messages (cid, user_id, cmid) WHERE cmid IS NOT NULL;
-- A user's messages (admin API) and the ON DELETE SET NULL when a user goes. Only user_id on
-- purpose: as (user_id, cid, ...) the planner, before the first ANALYZE, preferred it to the
-- cmid key for the retry lookup and filtered a whole channel per key (measured 1.3 s / batch).
CREATE INDEX messages_user_idx ON messages (user_id);

CREATE TABLE reactions (
  cid        bigint NOT NULL,
  seq        bigint NOT NULL,
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  emoji      text NOT NULL,
  -- clock_timestamp, not now(): "who reacted" is listed in reaction order.
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (cid, seq, user_id, emoji),
  FOREIGN KEY (cid, seq) REFERENCES messages (cid, seq) ON DELETE CASCADE
);
CREATE INDEX reactions_user_idx ON reactions (user_id);

CREATE TABLE sanctions (
  cid     bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind    text NOT NULL CHECK (kind IN ('mute', 'ban')),
  until   bigint,                           -- epoch ms; null = until lifted
  reason  text,
  actor   text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (cid, user_id, kind)
);

-- No foreign keys: the audit trail outlives the channels and users it mentions.
CREATE TABLE moderation_audit (
  id          bigserial PRIMARY KEY,
  cid         bigint NOT NULL,
  action      text NOT NULL,
  actor       text NOT NULL,
  target      text NOT NULL,
  reason      text,
  duration_ms bigint,
  at          bigint NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
);
CREATE INDEX moderation_audit_cid_idx ON moderation_audit (cid, id);
