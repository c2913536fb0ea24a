-- Look-alike names and guest tokens (issue 10, items 4, 5 and 10).
--
-- name_canon: the look-alike class of the name (apps/gateway/src/core/names.ts `nameKey`); only
-- one user may hold a class, so `alice`, `Alice` and `aIice` can no longer be three accounts.
-- Every name so far was ASCII ([A-Za-z0-9_.-]), where nameKey is exactly the expression below.
--
-- Existing collisions: the first holder keeps the class (accounts before guests, then the
-- oldest); every other colliding row keeps its name, its password and its messages, but gets a
-- class of its own ("<class>#<id>", a form nameKey never produces), so nobody is locked out or
-- renamed and no NEW look-alike of any of them can be created. Operators can list them with
--   SELECT id, name FROM users WHERE name_canon LIKE '%#%';
-- and rename them through the admin API if they want them gone.
--
-- guest_tid: the id inside a guest's guest token (a random string); a guest row is the guest's
-- only while the token presented matches. Rows of guests created before this migration have
-- none: nobody can take them over, and they are reaped as usual (PARLEY_GUEST_TTL_S).
--
-- name_canon is NOT NULL: a gateway of an older version (which does not know the column) cannot
-- create users once this has run, rather than create look-alikes; upgrade gateways together.
ALTER TABLE users ADD COLUMN name_canon text;
ALTER TABLE users ADD COLUMN guest_tid text;

WITH k AS (
  SELECT id, replace(replace(translate(lower(name), 'i10', 'llo'), 'rn', 'm'), 'vv', 'w') AS canon,
         row_number() OVER (
           PARTITION BY replace(replace(translate(lower(name), 'i10', 'llo'), 'rn', 'm'), 'vv', 'w')
           ORDER BY guest, id
         ) AS nth
  FROM users
)
UPDATE users u SET name_canon = CASE WHEN k.nth = 1 THEN k.canon ELSE k.canon || '#' || u.id END
FROM k WHERE u.id = k.id;

ALTER TABLE users ALTER COLUMN name_canon SET NOT NULL;
CREATE UNIQUE INDEX users_name_canon_key ON users (name_canon);
