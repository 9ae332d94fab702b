-- The audit index's first schema. Column types are tokens that the dialect
-- replaces (dialect.go); statements end with a semicolon at the end of a line.
-- Integers are 64-bit signed: block numbers and sequence numbers above
-- 2^63-1 are refused by Apply.

-- One row per block of the channel.
CREATE TABLE blocks (
	number      {{int}} PRIMARY KEY,
	header_hash {{bytes}} NOT NULL,
	prev_hash   {{bytes}} NOT NULL,
	data_hash   {{bytes}} NOT NULL,
	txs         {{int}} NOT NULL,
	records     {{int}} NOT NULL,
	config      {{bool}} NOT NULL,
	digest      {{bytes}} NOT NULL,
	root        {{bytes}} NOT NULL,
	raw         {{bytes}}
);

-- One row per record a VALID transaction wrote. A host's chain slot
-- (host, seq) holds one record; a record ID is not unique (a misbehaving
-- host may record one Docker event at two seqs). block_pos is the record's
-- place among its block's rows, so that the rows read back in the order
-- the block's digest summed them.
CREATE TABLE records (
	host        {{text}} NOT NULL,
	seq         {{int}} NOT NULL,
	id          {{text}} NOT NULL,
	hash        {{text}} NOT NULL,
	prev_hash   {{text}} NOT NULL,
	kind        {{text}} NOT NULL,
	time        {{int}} NOT NULL,
	event_id    {{text}} NOT NULL,
	scope       {{text}} NOT NULL,
	type        {{text}} NOT NULL,
	action      {{text}} NOT NULL,
	actor       {{text}} NOT NULL,
	name        {{text}} NOT NULL,
	service     {{text}} NOT NULL,
	msp         {{text}} NOT NULL,
	cert_sha256 {{text}} NOT NULL,
	tx_id       {{text}} NOT NULL,
	tx_time     {{int}} NOT NULL,
	block       {{int}} NOT NULL REFERENCES blocks (number),
	tx_index    {{int}} NOT NULL,
	block_pos   {{int}} NOT NULL,
	stored      {{bytes}} NOT NULL,
	PRIMARY KEY (host, seq)
);
-- The chains in seq order with their links: ChainProblems reads this
-- index alone, not the rows with their stored bytes.
CREATE INDEX records_chain ON records (host, seq, prev_hash, hash);
CREATE INDEX records_id ON records (id);
CREATE INDEX records_event_id ON records (event_id);
CREATE INDEX records_type_action_time ON records (type, action, time);
CREATE INDEX records_kind_time ON records (kind, time);
-- A host's last heartbeat (Hosts) without a scan of its records.
CREATE INDEX records_host_kind_seq ON records (host, kind, seq);
CREATE UNIQUE INDEX records_block_pos ON records (block, block_pos);

-- Each host's chain as the index holds it, kept by Apply with the
-- records: Hosts reads it instead of counting a host's records.
CREATE TABLE chains (
	host      {{text}} PRIMARY KEY,
	records   {{int}} NOT NULL,
	first_seq {{int}} NOT NULL,
	last_seq  {{int}} NOT NULL
);

-- The actors a record is about, in the record's order (ord), with the
-- record's time: an actor's timeline is a range of one index.
CREATE TABLE record_actors (
	host  {{text}} NOT NULL,
	seq   {{int}} NOT NULL,
	ord   {{int}} NOT NULL,
	actor {{text}} NOT NULL,
	time  {{int}} NOT NULL,
	PRIMARY KEY (host, seq, ord),
	FOREIGN KEY (host, seq) REFERENCES records (host, seq)
);
CREATE INDEX record_actors_actor_time ON record_actors (actor, time);

-- The host registry as it stands: each host's last entry.
CREATE TABLE hosts (
	host       {{text}} PRIMARY KEY,
	msp        {{text}} NOT NULL,
	swarm_role {{text}} NOT NULL,
	tx_id      {{text}} NOT NULL,
	block      {{int}} NOT NULL REFERENCES blocks (number),
	entry      {{bytes}} NOT NULL
);

-- Every registry entry written, in ledger order (block, block_pos).
CREATE TABLE host_history (
	block      {{int}} NOT NULL REFERENCES blocks (number),
	block_pos  {{int}} NOT NULL,
	host       {{text}} NOT NULL,
	msp        {{text}} NOT NULL,
	swarm_role {{text}} NOT NULL,
	tx_id      {{text}} NOT NULL,
	entry      {{bytes}} NOT NULL,
	PRIMARY KEY (block, block_pos)
);
CREATE INDEX host_history_host ON host_history (host, block, block_pos);

-- Verification findings, in the order they were applied (id).
CREATE TABLE findings (
	id        {{serial}},
	block     {{int}} NOT NULL REFERENCES blocks (number),
	tx_id     {{text}} NOT NULL,
	record_id {{text}} NOT NULL,
	host      {{text}} NOT NULL,
	severity  {{text}} NOT NULL,
	problem   {{text}} NOT NULL
);
CREATE INDEX findings_block ON findings (block, id);

-- The one checkpoint row: the next block to apply and the indexer's state
-- after the last applied one, written in the same transaction as the rows.
CREATE TABLE checkpoint (
	id         {{int}} PRIMARY KEY CHECK (id = 1),
	next_block {{int}} NOT NULL,
	state      {{bytes}} NOT NULL
);
INSERT INTO checkpoint (id, next_block, state) VALUES (1, 0, {{no_bytes}});
