package index

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The queries of the web view (internal/webview): a host's coverage over a
// period, its activity, the certificates that signed its chain, container
// events as usage needs them, and a search of containers and services.
// Each reads a range of an index that holds the columns it needs
// (migration 0002), so that a page costs about as much for a host of a
// hundred records as for one of a hundred thousand.

// Extent is what a host's chain holds of a period.
type Extent struct {
	Records     int64 // records with from <= time <= to
	First, Last int64 // the times of the first and last of them (0 without)
	// Before is the time of the host's last record before from, After of
	// its first after to; 0 when there is none.
	Before, After int64
}

// Extent returns what host's records hold of [from, to].
func (s *Store) Extent(ctx context.Context, host string, from, to int64) (Extent, error) {
	var e Extent
	err := s.db.QueryRowContext(ctx, `SELECT
	(SELECT COUNT(*) FROM records WHERE host = $1 AND time >= $2 AND time <= $3),
	COALESCE((SELECT MIN(time) FROM records WHERE host = $1 AND time >= $2 AND time <= $3), 0),
	COALESCE((SELECT MAX(time) FROM records WHERE host = $1 AND time >= $2 AND time <= $3), 0),
	COALESCE((SELECT MAX(time) FROM records WHERE host = $1 AND time < $2), 0),
	COALESCE((SELECT MIN(time) FROM records WHERE host = $1 AND time > $3), 0)`, host, from, to).
		Scan(&e.Records, &e.First, &e.Last, &e.Before, &e.After)
	if err != nil {
		return Extent{}, fmt.Errorf("index: extent of %s: %w", host, err)
	}
	return e, nil
}

// Silence is a stretch of a host's time with no record: from the record
// at FromSeq to the next one in time, at ToSeq.
type Silence struct {
	From, To         int64
	FromSeq, ToSeq   uint64
	FromKind, ToKind string
}

// Silences returns the stretches of host's time, around [from, to], in
// which no record was written for longer than longer nanoseconds, in time
// order: between two records consecutive in time, the last record before
// from and the first after to included (so a silence that spans an end of
// the period is found; callers clip it).
//
// A window function over every record of the period would cost a pass in
// the database per record. Instead the database walks the host's records
// in time order by jumps: from a record, to the last one within longer of
// it, or, when there is none, to the next one, a silence (a recursive query
// of two index seeks per step, about (to-from)/longer steps). When the
// period holds fewer records than steps, the records are counted in
// stretches of longer/2 instead (a silence longer than longer holds an
// empty stretch) and each run of empty stretches is measured exactly.
func (s *Store) Silences(ctx context.Context, host string, from, to, longer int64) ([]Silence, error) {
	if longer <= 0 {
		return nil, errors.New("index: silences: the length must be positive")
	}
	ext, err := s.Extent(ctx, host, from, to)
	if err != nil {
		return nil, err
	}
	start, end := ext.Before, ext.After
	if start == 0 {
		start = ext.First
	}
	if end == 0 {
		end = ext.Last
	}
	if start == 0 || end <= start {
		return nil, nil
	}
	var spans [][2]int64
	if (end-start)/longer < ext.Records {
		spans, err = s.silencesByWalk(ctx, host, start, end, longer)
	} else {
		spans, err = s.silencesByCounts(ctx, host, start, end, longer)
	}
	if err != nil {
		return nil, fmt.Errorf("index: silences of %s: %w", host, err)
	}
	var out []Silence
	for _, sp := range spans {
		sl := Silence{From: sp[0], To: sp[1]}
		var fromSeq, toSeq int64
		// The last record at the silence's start, the first at its end.
		if err := s.db.QueryRowContext(ctx, `SELECT seq, kind FROM records WHERE host = $1 AND time = $2
ORDER BY seq DESC LIMIT 1`, host, sl.From).Scan(&fromSeq, &sl.FromKind); err != nil {
			return nil, fmt.Errorf("index: silences of %s: %w", host, err)
		}
		if err := s.db.QueryRowContext(ctx, `SELECT seq, kind FROM records WHERE host = $1 AND time = $2
ORDER BY seq LIMIT 1`, host, sl.To).Scan(&toSeq, &sl.ToKind); err != nil {
			return nil, fmt.Errorf("index: silences of %s: %w", host, err)
		}
		sl.FromSeq, sl.ToSeq = uint64(fromSeq), uint64(toSeq)
		out = append(out, sl)
	}
	return out, nil
}

// silencesWalk walks a host's records from the one at $2 until $3 in
// jumps of at most $4; a row whose silent flag is set is a silence from
// prev to t.
const silencesWalk = `WITH RECURSIVE walk(t, prev, silent) AS (
	SELECT CAST($2 AS BIGINT), CAST($2 AS BIGINT), 0
	UNION ALL
	SELECT COALESCE(
			(SELECT MAX(r.time) FROM records r WHERE r.host = $1 AND r.time > w.t AND r.time <= w.t + $4),
			(SELECT MIN(r.time) FROM records r WHERE r.host = $1 AND r.time > w.t)),
		w.t,
		CASE WHEN EXISTS (SELECT 1 FROM records r WHERE r.host = $1 AND r.time > w.t AND r.time <= w.t + $4) THEN 0 ELSE 1 END
	FROM walk w WHERE w.t < $3
)
SELECT prev, t FROM walk WHERE silent = 1 AND t IS NOT NULL ORDER BY prev`

func (s *Store) silencesByWalk(ctx context.Context, host string, start, end, longer int64) ([][2]int64, error) {
	rows, err := s.db.QueryContext(ctx, silencesWalk, host, start, end, longer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]int64
	for rows.Next() {
		var a, b int64
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out = append(out, [2]int64{a, b})
	}
	return out, rows.Err()
}

func (s *Store) silencesByCounts(ctx context.Context, host string, start, end, longer int64) ([][2]int64, error) {
	width := max(longer/2, 1)
	rows, err := s.db.QueryContext(ctx, `SELECT (time - $2) / $4 AS b FROM records
WHERE host = $1 AND time >= $2 AND time <= $3 GROUP BY b ORDER BY b`, host, start, end, width)
	if err != nil {
		return nil, err
	}
	var occupied []int64
	for rows.Next() {
		var b int64
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return nil, err
		}
		occupied = append(occupied, b)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, err
	}
	var out [][2]int64
	for i := 1; i < len(occupied); i++ {
		if occupied[i]-occupied[i-1] < 2 {
			continue
		}
		var a, b int64
		if err := s.db.QueryRowContext(ctx, `SELECT MAX(time) FROM records WHERE host = $1 AND time < $2`,
			host, start+(occupied[i-1]+1)*width).Scan(&a); err != nil {
			return nil, err
		}
		if err := s.db.QueryRowContext(ctx, `SELECT MIN(time) FROM records WHERE host = $1 AND time >= $2`,
			host, start+occupied[i]*width).Scan(&b); err != nil {
			return nil, err
		}
		if b-a > longer {
			out = append(out, [2]int64{a, b})
		}
	}
	return out, nil
}

// Bucket is one stretch of a host's time and the records written in it.
type Bucket struct {
	Start             int64 // the stretch's start (unix ns)
	Records           int64
	Events            int64 // event records
	Heartbeats        int64
	Gaps              int64 // gap records
	FirstSeq, LastSeq uint64
}

// Activity returns host's records in [from, to) counted per stretch of
// width nanoseconds from from, the stretches without records left out, in
// time order.
func (s *Store) Activity(ctx context.Context, host string, from, to, width int64) ([]Bucket, error) {
	if width <= 0 || to < from {
		return nil, fmt.Errorf("index: activity: bad period %d…%d or width %d", from, to, width)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT (time - $2) / $4 AS b, COUNT(*),
	SUM(CASE WHEN kind = 'event' THEN 1 ELSE 0 END),
	SUM(CASE WHEN kind = 'heartbeat' THEN 1 ELSE 0 END),
	SUM(CASE WHEN kind = 'gap' THEN 1 ELSE 0 END),
	MIN(seq), MAX(seq)
FROM records WHERE host = $1 AND time >= $2 AND time < $3 GROUP BY b ORDER BY b`, host, from, to, width)
	if err != nil {
		return nil, fmt.Errorf("index: activity of %s: %w", host, err)
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		var (
			b           Bucket
			n           int64
			first, last int64
		)
		if err := rows.Scan(&n, &b.Records, &b.Events, &b.Heartbeats, &b.Gaps, &first, &last); err != nil {
			return nil, fmt.Errorf("index: activity of %s: %w", host, err)
		}
		b.Start, b.FirstSeq, b.LastSeq = from+n*width, uint64(first), uint64(last)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: activity of %s: %w", host, err)
	}
	return out, nil
}

// CertUse is a certificate that signed records of a host.
type CertUse struct {
	CertSHA256, MSP     string
	Records             int64
	FirstTime, LastTime int64
}

// Certificates returns the certificates (by SHA-256) that signed host's
// records, with the MSP the records name, in the order they were first
// used.
func (s *Store) Certificates(ctx context.Context, host string) ([]CertUse, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cert_sha256, msp, COUNT(*), MIN(time), MAX(time)
FROM records WHERE host = $1 GROUP BY cert_sha256, msp ORDER BY MIN(time), cert_sha256, msp`, host)
	if err != nil {
		return nil, fmt.Errorf("index: certificates of %s: %w", host, err)
	}
	defer rows.Close()
	var out []CertUse
	for rows.Next() {
		var c CertUse
		if err := rows.Scan(&c.CertSHA256, &c.MSP, &c.Records, &c.FirstTime, &c.LastTime); err != nil {
			return nil, fmt.Errorf("index: certificates of %s: %w", host, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: certificates of %s: %w", host, err)
	}
	return out, nil
}

// UsageActions are the container events usage reads (audit.UsageOf: start
// and unpause open an interval, pause and die close one) and rename, which
// changes the name later intervals carry.
var UsageActions = []string{"start", "unpause", "pause", "die", "rename"}

// UsageEvents hands host's container events of the UsageActions to each in
// seq order, with the columns usage needs: Host, Seq, Kind, Time, Type,
// Action, Actor, Name and Service (not the stored value nor the actors).
// An error each returns ends the query and is returned as it is.
func (s *Store) UsageEvents(ctx context.Context, host string, each func(Record) error) error {
	// records_container_events holds every column read: the rows, with
	// their stored bytes, are not read (SQLite would choose
	// records_host_kind_seq and read each row: 5 times slower).
	rows, err := s.db.QueryContext(ctx, `SELECT seq, time, action, actor, name, service FROM records `+s.d.indexedBy("records_container_events")+`
WHERE host = $1 AND kind = 'event' AND type = 'container'
	AND action IN ('start', 'unpause', 'pause', 'die', 'rename') ORDER BY host, seq`, host)
	if err != nil {
		return fmt.Errorf("index: usage events of %s: %w", host, err)
	}
	defer rows.Close()
	for rows.Next() {
		r := Record{Host: host, Kind: "event", Type: "container"}
		var seq int64
		if err := rows.Scan(&seq, &r.Time, &r.Action, &r.Actor, &r.Name, &r.Service); err != nil {
			return fmt.Errorf("index: usage events of %s: %w", host, err)
		}
		r.Seq = uint64(seq)
		if err := each(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("index: usage events of %s: %w", host, err)
	}
	return nil
}

// ServiceContainers returns the IDs of the containers that ran as tasks of
// the Swarm service named service (their events' service column), in the
// order of their first event.
func (s *Store) ServiceContainers(ctx context.Context, service string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT actor, MIN(time) AS first FROM records
WHERE kind = 'event' AND type = 'container' AND service = $1 GROUP BY actor ORDER BY first, actor`, service)
	if err != nil {
		return nil, fmt.Errorf("index: containers of service %s: %w", service, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			id    string
			first int64
		)
		if err := rows.Scan(&id, &first); err != nil {
			return nil, fmt.Errorf("index: containers of service %s: %w", service, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: containers of service %s: %w", service, err)
	}
	return out, nil
}

// ActorMatch is a container or service a search found, on one host.
type ActorMatch struct {
	Actor, Type, Name, Host string
	Events                  int64
	First, Last             int64 // the times of its first and last event
}

// Search selects containers and services for SearchActors.
type Search struct {
	// Text is a name or an ID, or the start of one (case-sensitive); ""
	// matches every container and service.
	Text string
	Host string // only events of this host, when set
	// Since and Until bound the events' time, both inclusive; 0 leaves
	// that end open.
	Since, Until int64
	Limit        int // at most this many matches (0: 100)
}

// SearchActors returns the containers and services whose events match q,
// one match per actor, type and host, the most recently active first.
func (s *Store) SearchActors(ctx context.Context, q Search) ([]ActorMatch, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	where := `kind = 'event' AND type IN ('container', 'service')`
	args := []any{}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Text != "" {
		t, end := arg(q.Text), arg(q.Text+string(utf8.MaxRune))
		where += " AND ((name >= " + t + " AND name < " + end + ") OR (actor >= " + t + " AND actor < " + end + "))"
	}
	if q.Host != "" {
		where += " AND host = " + arg(q.Host)
	}
	if q.Since != 0 {
		where += " AND time >= " + arg(q.Since)
	}
	if q.Until != 0 {
		where += " AND time <= " + arg(q.Until)
	}
	query := `SELECT actor, type, MAX(name), host, COUNT(*), MIN(time), MAX(time) FROM records WHERE ` + where +
		` GROUP BY actor, type, host ORDER BY MAX(time) DESC, actor, host LIMIT ` + arg(int64(q.Limit))
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("index: search %q: %w", q.Text, err)
	}
	defer rows.Close()
	var out []ActorMatch
	for rows.Next() {
		var m ActorMatch
		if err := rows.Scan(&m.Actor, &m.Type, &m.Name, &m.Host, &m.Events, &m.First, &m.Last); err != nil {
			return nil, fmt.Errorf("index: search %q: %w", q.Text, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: search %q: %w", q.Text, err)
	}
	return out, nil
}

// HostFindings returns up to limit findings about host (0: all), in the
// order they were applied.
func (s *Store) HostFindings(ctx context.Context, host string, limit int) ([]Finding, error) {
	q := `SELECT block, tx_id, record_id, host, severity, problem FROM findings WHERE host = $1 ORDER BY id`
	args := []any{host}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, int64(limit))
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("index: findings of %s: %w", host, err)
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var (
			f     Finding
			block int64
		)
		if err := rows.Scan(&block, &f.TxID, &f.RecordID, &f.Host, &f.Severity, &f.Problem); err != nil {
			return nil, fmt.Errorf("index: findings of %s: %w", host, err)
		}
		f.Block = uint64(block)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: findings of %s: %w", host, err)
	}
	return out, nil
}
