-- Guest tokens of guests an operator deleted. A guest is known by its token's id (`gst`, the row's
-- guest_tid); once the row is gone the name is free, and the token — valid for 30 days — claimed
-- it again at once (a hostile-client audit, 12-03: deleting an abusive guest did nothing). Deleting
-- a guest through the admin API records its token id here until its last token would have expired;
-- a guest token naming one is refused. Guests reaped for being idle are not recorded: they may come
-- back as themselves while the name is free. Expired rows go with the guest reaping.
CREATE TABLE revoked_guests (
  tid   text PRIMARY KEY,
  until timestamptz NOT NULL
);
