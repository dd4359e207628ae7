-- JSON documents by collection: OpenADR VTN objects (programs, events,
-- reports, subscriptions, VENs) and demand-response event lifecycles.
CREATE TABLE objects (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	collection TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	created_ns INTEGER NOT NULL,
	updated_ns INTEGER NOT NULL,
	UNIQUE (collection, id)
);
