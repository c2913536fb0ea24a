-- "Who reacted" is listed in reaction order. 001 ordered by created_at (clock_timestamp()), but
-- two reactions in the same clock tick tie — PGlite's clock ticks in whole milliseconds, so two
-- reactions a test (or a fast client) adds back to back came out by user id instead. An identity
-- column is strictly increasing in insertion order; existing rows are numbered as they are stored.
ALTER TABLE reactions ADD COLUMN ord bigint GENERATED ALWAYS AS IDENTITY;
