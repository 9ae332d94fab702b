-- The web view's reads (e2l serve, internal/webview), each a range of one
-- index holding the columns it needs, so that a host's page costs a few
-- index ranges however many records the host has, not a pass over its
-- rows with their stored bytes.

-- A host's records in time order: its extent and silences over a period,
-- its activity per stretch of time (Extent, Silences, Activity).
CREATE INDEX records_host_time ON records (host, time, seq, kind);
-- The certificates that signed a host's records (Certificates).
CREATE INDEX records_host_cert ON records (host, cert_sha256, msp, time);
-- A host's container events in chain order with what usage needs of them
-- (UsageEvents; usage and the timelines' intervals).
CREATE INDEX records_container_events ON records (host, seq, time, action, actor, name, service)
	WHERE kind = 'event' AND type = 'container';
