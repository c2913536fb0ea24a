-- Which version of the look-alike key (core/names.ts, NAME_KEY_VERSION) the stored `name_canon`
-- values were computed with. The key is computed in JavaScript, so a change of it cannot be
-- backfilled here: at start a gateway re-keys the non-ASCII names when this is below its own
-- version (adapters/sql/name-keys.ts). 1: Cyrillic and Greek look-alikes (migration 007 on);
-- 2: Armenian, Coptic, Cherokee, Latin small capitals, every script's digits.
CREATE TABLE name_key_version (
  version integer NOT NULL
);
INSERT INTO name_key_version (version) VALUES (1);
