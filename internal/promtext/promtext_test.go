package promtext

import (
	"strings"
	"testing"
)

const page = `# HELP e2l_collector_ledger_transactions_total Transactions by stage and reason.
# TYPE e2l_collector_ledger_transactions_total counter
e2l_collector_ledger_transactions_total{stage="commit",reason="valid"} 7
e2l_collector_ledger_transactions_total{stage="endorse",reason="unavailable"} 2
# TYPE e2l_collector_spool_pending_records gauge
e2l_collector_spool_pending_records 3
# TYPE consensus_etcdraft_is_leader gauge
consensus_etcdraft_is_leader{channel="e2l"} 1
# TYPE e2l_collector_ledger_commit_latency_seconds histogram
e2l_collector_ledger_commit_latency_seconds_bucket{stage="commit",le="0.5"} 4
e2l_collector_ledger_commit_latency_seconds_bucket{stage="commit",le="+Inf"} 6
e2l_collector_ledger_commit_latency_seconds_sum{stage="commit"} 2.5
e2l_collector_ledger_commit_latency_seconds_count{stage="commit"} 6
# TYPE quoted gauge
quoted{path="a\"b\\c"} 9
`

func TestParseKeysSeriesAsThePageWritesThemAndSumsByName(t *testing.T) {
	s, err := Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want float64
	}{
		{`e2l_collector_ledger_transactions_total{reason="valid",stage="commit"}`, 7},
		{`e2l_collector_ledger_transactions_total`, 9},
		{`e2l_collector_spool_pending_records`, 3},
		{`consensus_etcdraft_is_leader{channel="e2l"}`, 1},
		{`e2l_collector_ledger_commit_latency_seconds_bucket{stage="commit",le="0.5"}`, 4},
		{`e2l_collector_ledger_commit_latency_seconds_bucket{stage="commit",le="+Inf"}`, 6},
		{`e2l_collector_ledger_commit_latency_seconds_count`, 6},
		{`e2l_collector_ledger_commit_latency_seconds_sum{stage="commit"}`, 2.5},
		{`quoted{path="a\"b\\c"}`, 9},
	}
	for _, tc := range tests {
		if got, ok := s[tc.key]; !ok || got != tc.want {
			t.Errorf("%s = %v (present %v), want %v", tc.key, got, ok, tc.want)
		}
	}
	if v, ok := s.Get("e2l_collector_ledger_transactions_total", "stage", "endorse", "reason", "unavailable"); !ok || v != 2 {
		t.Errorf("Get by label pairs in any order = %v, %v; want 2", v, ok)
	}
}

func TestParseRefusesABrokenPage(t *testing.T) {
	for _, bad := range []string{"metric{unclosed 1\n", "metric not-a-number\n", "# TYPE m counter\nm -x\n"} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) accepted a broken page", bad)
		}
	}
}

func TestNamesListsThePagesFamilies(t *testing.T) {
	tests := []struct {
		name, page string
		want       string
	}{
		{"every family once, a histogram by its name", page,
			"consensus_etcdraft_is_leader e2l_collector_ledger_commit_latency_seconds e2l_collector_ledger_transactions_total e2l_collector_spool_pending_records quoted"},
		{"an empty page has none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Names(strings.NewReader(tt.page))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("Names = %v, want %s", got, tt.want)
			}
		})
	}
	if _, err := Names(strings.NewReader("# TYPE x counter\nx{ 1\n")); err == nil {
		t.Error("a broken page is read")
	}
}
