-- Revoking a user's access tokens: every token carries the epoch it was issued in (claim "ep",
-- absent = 0) and is accepted only while it matches. An operator's password reset bumps it, so
-- every token issued before is refused from then on (a rename already is: tokens carry the name).
-- Safe under older gateways: they neither read nor write the column (their tokens have no "ep",
-- which is epoch 0).
ALTER TABLE users ADD COLUMN token_epoch integer NOT NULL DEFAULT 0;
