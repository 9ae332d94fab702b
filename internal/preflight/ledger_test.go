package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/e2l-project/e2l/internal/wire"
)

// fakeEvaluator answers by function name.
type fakeEvaluator struct {
	answers map[string][]byte
	errs    map[string]error
	calls   []string
}

func (f *fakeEvaluator) Evaluate(_ context.Context, fn string, args ...string) ([]byte, error) {
	f.calls = append(f.calls, fmt.Sprint(fn, args))
	if err := f.errs[fn]; err != nil {
		return nil, err
	}
	return f.answers[fn], nil
}

func registration(t *testing.T, reg wire.HostRegistration) []byte {
	t.Helper()
	b, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestChaincodeAndRegistryChecks(t *testing.T) {
	// How a refusal reaches a client through the Gateway: the peer's
	// message in a gRPC status.
	notRegistered := status.Error(codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, "+
		wire.Refuse(wire.CodeNotRegistered, `host "node1" is not registered`).Error())
	tests := []struct {
		name string
		ev   *fakeEvaluator
		want map[string]string
	}{
		{name: "a chaincode answering pong and a host of this org pass", ev: &fakeEvaluator{answers: map[string][]byte{
			"Ping": []byte("pong"), "GetHost": registration(t, wire.HostRegistration{Host: "node1", MSP: "ProviderMSP", SwarmRole: wire.SwarmManager})}},
			want: map[string]string{"chaincode": "ok: e2l on channel e2l answers Ping", "host registry": "ok: host node1 is registered to ProviderMSP as manager"}},
		{name: "a chaincode that is unreachable fails", ev: &fakeEvaluator{errs: map[string]error{
			"Ping": status.Error(codes.Unavailable, "connection refused"), "GetHost": status.Error(codes.Unavailable, "connection refused")}},
			want: map[string]string{"chaincode": "FAIL: e2l on channel e2l does not answer Ping", "host registry": "FAIL: GetHost \"node1\""}},
		{name: "another chaincode answering Ping otherwise fails", ev: &fakeEvaluator{answers: map[string][]byte{"Ping": []byte(`"ok"`)}},
			want: map[string]string{"chaincode": `FAIL: e2l on channel e2l answered Ping with "\"ok\"", want pong`}},
		{name: "a host not registered fails saying who registers it", ev: &fakeEvaluator{answers: map[string][]byte{"Ping": []byte("pong")},
			errs: map[string]error{"GetHost": notRegistered}},
			want: map[string]string{"host registry": "FAIL: host \"node1\" is not registered: an admin of ProviderMSP must run `e2l host register --host node1"}},
		{name: "a host of another organisation fails naming both", ev: &fakeEvaluator{answers: map[string][]byte{"Ping": []byte("pong"),
			"GetHost": registration(t, wire.HostRegistration{Host: "node1", MSP: "DeveloperMSP", SwarmRole: wire.SwarmWorker})}},
			want: map[string]string{"host registry": "FAIL: host \"node1\" is registered to DeveloperMSP, not to this collector's ProviderMSP"}},
		{name: "a host released to another organisation warns", ev: &fakeEvaluator{answers: map[string][]byte{"Ping": []byte("pong"),
			"GetHost": registration(t, wire.HostRegistration{Host: "node1", MSP: "ProviderMSP", SwarmRole: wire.SwarmWorker, ReleasedTo: "UserMSP"})}},
			want: map[string]string{"host registry": "warn: host node1 is registered to ProviderMSP as worker, and released to UserMSP"}},
		{name: "an undecodable registry entry fails", ev: &fakeEvaluator{answers: map[string][]byte{"Ping": []byte("pong"), "GetHost": []byte("{")}},
			want: map[string]string{"host registry": "FAIL: GetHost \"node1\": undecodable answer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := []Result{Chaincode(t.Context(), tc.ev, "e2l", "e2l"), Registration(t.Context(), tc.ev, "node1", "ProviderMSP")}
			requireResults(t, res, tc.want)
			for _, r := range res {
				if r.Blocks {
					t.Errorf("%s blocks the start; the ledger's answers must not", r)
				}
			}
			if got := fmt.Sprint(tc.ev.calls); got != "[Ping[] GetHost[node1]]" {
				t.Errorf("calls %s", got)
			}
		})
	}
	if !errors.Is(wire.Refuse(wire.CodeNotRegistered, "x"), wire.CodeNotRegistered) {
		t.Fatal("a refusal is not errors.Is its code")
	}
}
