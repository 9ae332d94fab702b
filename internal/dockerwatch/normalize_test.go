package dockerwatch

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/events"

	"github.com/e2l-project/e2l/internal/record"
)

func TestNormalize(t *testing.T) {
	const ts = int64(1_700_000_000_123_456_789)
	manyLabels := map[string]string{}
	for i := range 70 {
		manyLabels[fmt.Sprintf("l%02d", i)] = "v"
	}
	tests := []struct {
		name    string
		msg     events.Message
		want    record.Event
		dropped map[string]int
		wantErr bool
	}{
		{
			name: "a container die keeps name, image, exit code and user labels",
			msg: events.Message{Type: "container", Action: "die", Scope: "local", TimeNano: ts, Actor: events.Actor{ID: "abc",
				Attributes: map[string]string{"name": "web", "image": "busybox:1", "exitCode": "137", "com.example.team": "a"}}},
			want: record.Event{Type: "container", Action: "die", Actor: "abc", Scope: "local", TimeNano: ts,
				Attrs: record.Attributes{Name: "web", Image: "busybox:1", ExitCode: "137", Labels: map[string]string{"com.example.team": "a"}}},
		},
		{
			name: "a colon action keeps its base as the action and the rest as a label",
			msg: events.Message{Type: "container", Action: "health_status: healthy", Scope: "local", TimeNano: ts,
				Actor: events.Actor{ID: "abc"}},
			want: record.Event{Type: "container", Action: "health_status", Actor: "abc", Scope: "local", TimeNano: ts,
				Attrs: record.Attributes{Labels: map[string]string{LabelActionDetail: "healthy"}}},
		},
		{
			name: "a swarm task container carries the swarm identifiers as attributes",
			msg: events.Message{Type: "container", Action: "start", Scope: "local", TimeNano: ts, Actor: events.Actor{ID: "abc",
				Attributes: map[string]string{"com.docker.swarm.node.id": "n1", "com.docker.swarm.service.id": "s1",
					"com.docker.swarm.service.name": "app", "com.docker.swarm.task.id": "t1", "com.docker.swarm.task.name": "app.1.t1",
					"image": "app@sha256:0123"}}},
			want: record.Event{Type: "container", Action: "start", Actor: "abc", Scope: "local", TimeNano: ts,
				Attrs: record.Attributes{NodeID: "n1", ServiceID: "s1", ServiceName: "app", TaskID: "t1", TaskName: "app.1.t1",
					Image: "app@sha256:0123", ImageDigest: "sha256:0123"}},
		},
		{
			name: "a service update carries the replica counts and old daemons' missing scope is inferred",
			msg: events.Message{Type: "service", Action: "update", Time: 1_700_000_000, Actor: events.Actor{ID: "svc1",
				Attributes: map[string]string{"name": "app", "replicas.old": "1", "replicas.new": "3"}}},
			want: record.Event{Type: "service", Action: "update", Actor: "svc1", Scope: "swarm", TimeNano: 1_700_000_000_000_000_000,
				Attrs: record.Attributes{Name: "app", ReplicasOld: "1", ReplicasNew: "3"}},
		},
		{
			name: "a rename carries the old name",
			msg: events.Message{Type: "container", Action: "rename", Scope: "local", TimeNano: ts, Actor: events.Actor{ID: "abc",
				Attributes: map[string]string{"name": "new", "oldName": "/old"}}},
			want: record.Event{Type: "container", Action: "rename", Actor: "abc", Scope: "local", TimeNano: ts,
				Attrs: record.Attributes{Name: "new", OldName: "/old"}},
		},
		{
			name: "labels beyond the bound are left out in sorted key order and the count is noted",
			msg: events.Message{Type: "container", Action: "create", Scope: "local", TimeNano: ts,
				Actor: events.Actor{ID: "abc", Attributes: manyLabels}},
			want: func() record.Event {
				l := map[string]string{}
				for i := range record.MaxLabels - 1 {
					l[fmt.Sprintf("l%02d", i)] = "v"
				}
				l[LabelDropped] = "7"
				return record.Event{Type: "container", Action: "create", Actor: "abc", Scope: "local", TimeNano: ts,
					Attrs: record.Attributes{Labels: l}}
			}(),
			dropped: map[string]int{dropLabelCount: 7},
		},
		{
			name: "an overlong label value and a non-numeric exit code are left out, never truncated",
			msg: events.Message{Type: "container", Action: "die", Scope: "local", TimeNano: ts, Actor: events.Actor{ID: "abc",
				Attributes: map[string]string{"big": strings.Repeat("x", record.MaxLabelValueLen+1), "exitCode": "oops", "ok": "line1\nline2"}}},
			want: record.Event{Type: "container", Action: "die", Actor: "abc", Scope: "local", TimeNano: ts,
				Attrs: record.Attributes{Labels: map[string]string{"ok": "line1\nline2", LabelDropped: "2"}}},
			dropped: map[string]int{dropLabelValue: 1, dropKnownAttr: 1},
		},
		{
			name:    "an event type the record does not know is refused",
			msg:     events.Message{Type: "builder", Action: "prune", TimeNano: ts, Actor: events.Actor{ID: "x"}},
			wantErr: true,
		},
		{
			name:    "an event without an actor is refused",
			msg:     events.Message{Type: "container", Action: "start", TimeNano: ts},
			wantErr: true,
		},
		{
			name:    "an event without a time is refused",
			msg:     events.Message{Type: "container", Action: "start", Actor: events.Actor{ID: "abc"}},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := normalize(tc.msg)
			if tc.wantErr {
				if !errors.Is(err, errInvalidEvent) {
					t.Fatalf("err = %v, want errInvalidEvent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(n.event, tc.want) {
				t.Errorf("event =\n%+v\nwant\n%+v", n.event, tc.want)
			}
			if tc.dropped == nil {
				tc.dropped = map[string]int{}
			}
			if !maps.Equal(n.dropped, tc.dropped) {
				t.Errorf("dropped = %v, want %v", n.dropped, tc.dropped)
			}
			if err := validateUnchained(eventRecord("node1", n.event)); err != nil {
				t.Errorf("record does not validate: %v", err)
			}
		})
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		name, spec, want, wantErr string
	}{
		{name: "the default selects the container lifecycle and swarm changes", spec: DefaultFilterSpec,
			want: "container=create,destroy,die,kill,oom,pause,rename,restart,start,stop,unpause,update;node=create,remove,update;service=create,remove,update"},
		{name: "a star or nothing selects every action", spec: "container=*; network", want: "container=*;network=*"},
		{name: "an unknown type is refused", spec: "builder=prune", wantErr: `unknown event type "builder"`},
		{name: "a colon action is refused", spec: "container=exec_start: sh", wantErr: "give the base action"},
		{name: "a type twice is refused", spec: "container=start;container=die", wantErr: "appears twice"},
		{name: "an empty filter is refused", spec: " ; ", wantErr: "selects no events"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.String() != tc.want {
				t.Errorf("filter = %q, want %q", f.String(), tc.want)
			}
		})
	}
	f := DefaultFilter()
	for _, c := range []struct {
		typ, action string
		want        bool
	}{{"container", "die", true}, {"container", "exec_start", false}, {"container", "health_status", false}, {"image", "pull", false}, {"service", "remove", true}} {
		if got := f.Match(c.typ, c.action); got != c.want {
			t.Errorf("default Match(%s, %s) = %v", c.typ, c.action, got)
		}
	}
}

func TestSnapshotRecordsSplitIntoBoundedParts(t *testing.T) {
	items := make([]record.SnapshotContainer, record.MaxSnapshotItems+1)
	for i := range items {
		items[i] = record.SnapshotContainer{ID: fmt.Sprintf("c%04d", i), State: "running"}
	}
	recs := snapshotRecords("node1", 1, items)
	if len(recs) != 2 || recs[0].Snapshot.Parts != 2 || len(recs[1].Snapshot.Containers) != 1 {
		t.Fatalf("parts = %d", len(recs))
	}
	for _, r := range append(recs, snapshotRecords("node1", 1, nil)...) {
		if err := validateUnchained(r); err != nil {
			t.Errorf("part %d: %v", r.Snapshot.Part, err)
		}
	}
}
