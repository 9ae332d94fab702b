package dockerwatch

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/docker/docker/api/types/events"

	"github.com/e2l-project/e2l/internal/record"
)

// FuzzNormalize feeds arbitrary event JSON, as the Engine's stream would
// carry it, through decoding and normalisation. It must never panic, and
// whatever normalize accepts must make a valid record: the watcher must not
// build a record that the spool or the chaincode would refuse.
func FuzzNormalize(f *testing.F) {
	seeds := []string{
		`{"Type":"container","Action":"die","Actor":{"ID":"0123456789abcdef","Attributes":{"exitCode":"137","image":"busybox","name":"web"}},"scope":"local","time":1764103920,"timeNano":1764103920123456789}`,
		`{"Type":"container","Action":"exec_start: sh -c 'echo hi'","Actor":{"ID":"c1","Attributes":{"execID":"e1"}},"scope":"local","time":1,"timeNano":1000000001}`,
		`{"Type":"service","Action":"update","Actor":{"ID":"svc1","Attributes":{"name":"app","replicas.old":"1","replicas.new":"3"}},"scope":"swarm","time":2,"timeNano":2000000000}`,
		`{"Type":"container","Action":"rename","Actor":{"ID":"c2","Attributes":{"oldName":"/a","name":"b","com.example.label":"x\ny"}},"time":5}`,
		`{"Type":"container","Action":"kill","Actor":{"ID":"c3","Attributes":{"signal":"15","image":"repo@sha256:0123"}},"scope":"local","timeNano":9}`,
		`{"Type":"bogus","Action":"x","Actor":{"ID":"c"},"timeNano":1}`,
		`{"Type":"container","Action":"","Actor":{"ID":""},"timeNano":-1}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m events.Message
		if json.Unmarshal(data, &m) != nil {
			return
		}
		n, err := normalize(m)
		if err != nil {
			if !errors.Is(err, errInvalidEvent) {
				t.Fatalf("refusal does not wrap errInvalidEvent: %v", err)
			}
			return
		}
		rec := eventRecord("fuzzhost", n.event)
		if err := validateUnchained(rec); err != nil {
			t.Fatalf("normalize accepted an event whose record is invalid: %v\nevent: %s", err, data)
		}
		if len(n.event.Attrs.Labels) > record.MaxLabels {
			t.Fatalf("%d labels exceed the bound", len(n.event.Attrs.Labels))
		}
	})
}
