package index

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The fixture's times: alpha's seq n at n*1000, beta's at n*1000+100,
// gamma's one record at 1200 (fixture_test.go).

func TestExtentCountsAPeriodAndFindsItsNeighbours(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		applyFixture(t, s)
		tests := []struct {
			name     string
			host     string
			from, to int64
			want     Extent
		}{
			{"a period inside the chain", hostAlpha, 2000, 5000, Extent{Records: 4, First: 2000, Last: 5000, Before: 1000, After: 6000}},
			{"a period between two records", hostBeta, 5000, 6000, Extent{Before: 4100, After: 7100}},
			{"a period after the chain", hostBeta, 10000, 20000, Extent{Before: 9100}},
			{"a host without records", hostZeta, 0, 20000, Extent{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Extent(t.Context(), tt.host, tt.from, tt.to)
				if err != nil || got != tt.want {
					t.Errorf("Extent = %+v, %v; want %+v", got, err, tt.want)
				}
			})
		}
	})
}

func TestSilencesAreTheStretchesWithoutRecords(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		applyFixture(t, s)
		tests := []struct {
			name           string
			from, to, over int64
			want           []Silence
		}{
			{"the one stretch longer than 1500", 0, 20000, 1500, []Silence{{From: 4100, To: 7100, FromSeq: 4, ToSeq: 7, FromKind: "event", ToKind: "event"}}},
			{"every stretch longer than 999", 0, 20000, 999, []Silence{
				{From: 3100, To: 4100, FromSeq: 3, ToSeq: 4, FromKind: "event", ToKind: "event"},
				{From: 4100, To: 7100, FromSeq: 4, ToSeq: 7, FromKind: "event", ToKind: "event"},
				{From: 7100, To: 8100, FromSeq: 7, ToSeq: 8, FromKind: "event", ToKind: "event"},
				{From: 8100, To: 9100, FromSeq: 8, ToSeq: 9, FromKind: "event", ToKind: "event"},
			}},
			{"none as long as 1000 counts: longer means longer", 0, 20000, 1000, []Silence{{From: 4100, To: 7100, FromSeq: 4, ToSeq: 7, FromKind: "event", ToKind: "event"}}},
			{"a period inside a silence finds it", 5000, 6000, 1500, []Silence{{From: 4100, To: 7100, FromSeq: 4, ToSeq: 7, FromKind: "event", ToKind: "event"}}},
			{"nothing longer than the chain's widest stretch", 0, 20000, 3000, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Silences(t.Context(), hostBeta, tt.from, tt.to, tt.over)
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Silences = %+v, %v; want %+v", got, err, tt.want)
				}
			})
		}
		if _, err := s.Silences(t.Context(), hostBeta, 0, 1, 0); err == nil {
			t.Error("a zero length was accepted")
		}
		t.Run("the walk and the counts find the same silences", func(t *testing.T) {
			for _, over := range []int64{1, 500, 999, 1000, 1500, 2999, 3000, 10000} {
				walk, err := s.silencesByWalk(t.Context(), hostBeta, 3100, 9100, over)
				if err != nil {
					t.Fatal(err)
				}
				counts, err := s.silencesByCounts(t.Context(), hostBeta, 3100, 9100, over)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(walk, counts) {
					t.Errorf("longer than %d: the walk finds %v, the counts %v", over, walk, counts)
				}
			}
		})
	})
}

func TestActivityCountsRecordsPerStretch(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		applyFixture(t, s)
		got, err := s.Activity(t.Context(), hostAlpha, 0, 8000, 2000)
		want := []Bucket{
			{Start: 0, Records: 1, Events: 1, FirstSeq: 1, LastSeq: 1},
			{Start: 2000, Records: 2, Events: 1, Heartbeats: 1, FirstSeq: 2, LastSeq: 3},
			{Start: 4000, Records: 2, Events: 1, FirstSeq: 4, LastSeq: 5},
			{Start: 6000, Records: 2, Events: 1, Heartbeats: 1, FirstSeq: 6, LastSeq: 7},
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Activity = %+v, %v; want %+v", got, err, want)
		}
		if got, err := s.Activity(t.Context(), hostBeta, 5000, 7000, 1000); err != nil || got != nil {
			t.Errorf("a period without records: %+v, %v", got, err)
		}
		if _, err := s.Activity(t.Context(), hostBeta, 0, 7000, 0); err == nil {
			t.Error("a zero width was accepted")
		}
	})
}

func TestCertificatesAreTheSignersOfAHostsChain(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		applyFixture(t, s)
		got, err := s.Certificates(t.Context(), hostAlpha)
		want := []CertUse{{CertSHA256: strings.Repeat("ab", 32), MSP: "Org1MSP", Records: 7, FirstTime: 1000, LastTime: 7000}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Certificates = %+v, %v; want %+v", got, err, want)
		}
	})
}

func TestUsageEventsAreAHostsContainerEventsUsageReads(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		applyFixture(t, s)
		tests := []struct {
			host string
			want []string // seq:action:actor
		}{
			{hostAlpha, []string{"2:start:c-alpha", "5:die:c-alpha"}}, // 1 is a create; 6 a service's event
			{hostBeta, []string{"3:start:c-beta", "4:die:c-beta", "7:start:c-beta", "8:start:c-beta", "9:start:c-beta"}},
			{hostGamma, nil},
		}
		for _, tt := range tests {
			t.Run(tt.host, func(t *testing.T) {
				var got []string
				err := s.UsageEvents(t.Context(), tt.host, func(r Record) error {
					if r.Host != tt.host || r.Kind != "event" || r.Type != "container" || r.Name != "web."+tt.host || r.Service != "web" ||
						r.Time != int64(r.Seq)*1000+map[string]int64{hostAlpha: 0, hostBeta: 100}[tt.host] {
						t.Errorf("event %+v", r)
					}
					got = append(got, strings.Join([]string{itoa(r.Seq), r.Action, r.Actor}, ":"))
					return nil
				})
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Errorf("UsageEvents = %v, %v; want %v", got, err, tt.want)
				}
			})
		}
	})
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestServiceContainersAreItsTasks(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		applyFixture(t, s)
		got, err := s.ServiceContainers(t.Context(), "web")
		if want := []string{"c-alpha", "c-beta"}; err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ServiceContainers = %v, %v; want %v", got, err, want)
		}
		if got, err := s.ServiceContainers(t.Context(), "nothing"); err != nil || got != nil {
			t.Errorf("an unknown service: %v, %v", got, err)
		}
	})
}

func TestSearchActorsByNameIDHostAndTime(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		applyFixture(t, s)
		tests := []struct {
			name string
			q    Search
			want []string // actor/type/host events first last
		}{
			{"a name's start, the most recent first", Search{Text: "web."}, []string{
				"c-beta/container/beta 5 3100 9100", "c-alpha/container/alpha 3 1000 5000"}},
			{"an ID's start, one match per host", Search{Text: "svc"}, []string{
				"svc-1/service/alpha 1 6000 6000", "svc-1/service/gamma 1 1200 1200"}},
			{"a whole name", Search{Text: "web"}, []string{
				"c-beta/container/beta 5 3100 9100", "svc-1/service/alpha 1 6000 6000", "c-alpha/container/alpha 3 1000 5000", "svc-1/service/gamma 1 1200 1200"}},
			{"one host", Search{Host: hostGamma}, []string{"svc-1/service/gamma 1 1200 1200"}},
			{"a time range counts only its events", Search{Text: "c-", Since: 4000, Until: 7500}, []string{
				"c-beta/container/beta 2 4100 7100", "c-alpha/container/alpha 1 5000 5000"}},
			{"a limit", Search{Limit: 1}, []string{"c-beta/container/beta 5 3100 9100"}},
			{"nothing matches", Search{Text: "zzz"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ms, err := s.SearchActors(t.Context(), tt.q)
				var got []string
				for _, m := range ms {
					got = append(got, m.Actor+"/"+m.Type+"/"+m.Host+" "+itoa(uint64(m.Events))+" "+itoa(uint64(m.First))+" "+itoa(uint64(m.Last)))
				}
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Errorf("SearchActors = %v, %v; want %v", got, err, tt.want)
				}
			})
		}
	})
}

func TestHostFindingsAreAHostsFindingsInOrder(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		applyFixture(t, s)
		got, err := s.HostFindings(t.Context(), hostBeta, 0)
		if err != nil || len(got) != 2 || got[0].Problem != "broken link" || got[1].Problem != "event recorded twice" || got[1].Block != 3 {
			t.Errorf("HostFindings = %+v, %v", got, err)
		}
		if got, err := s.HostFindings(t.Context(), hostBeta, 1); err != nil || len(got) != 1 {
			t.Errorf("with a limit of 1: %+v, %v", got, err)
		}
		if got, err := s.HostFindings(t.Context(), hostAlpha, 0); err != nil || got != nil {
			t.Errorf("a host without findings: %+v, %v", got, err)
		}
	})
}
