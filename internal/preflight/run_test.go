package preflight

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/config"
	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/internal/wire"
)

func TestRunReportsEveryCheckInOrder(t *testing.T) {
	ca := newTestCA(t, "ca.provider")
	cert, key := ca.issue(t, leaf{attrs: collectorAttrs("node1")})
	wrong, wrongKey := ca.issue(t, leaf{attrs: collectorAttrs("node2")})
	good := func() *fakeEvaluator {
		return &fakeEvaluator{answers: map[string][]byte{"Ping": []byte("pong"),
			"GetHost": registration(t, wire.HostRegistration{Host: "node1", MSP: "ProviderMSP", SwarmRole: wire.SwarmManager})}}
	}
	tests := []struct {
		name          string
		cert, key     []byte
		dial          error
		ledgerErr     error
		wantOrder     string
		failed, block bool
	}{
		{name: "a good setup passes, every check in order", cert: cert, key: key,
			wantOrder: "certificate certificate-host certificate-role certificate-validity certificate-chain docker spool peer-p0:1 peer-p1:2 chaincode host-registry clock"},
		{name: "a wrong host blocks the start", cert: wrong, key: wrongKey, failed: true, block: true},
		{name: "no socket permission blocks the start", cert: cert, key: key, dial: dialErr(13), failed: true, block: true},
		{name: "no Gateway connection fails without blocking, the registry skipped", cert: cert, key: key,
			ledgerErr: errors.New("dial: no TLS roots"), failed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Defaults(func(string) string { return "" })
			cfg.Host, cfg.MSPID, cfg.Cert, cfg.Key, cfg.PeerTLSCA, cfg.OrgCA = "node1", "ProviderMSP", "/c", "/k", "/ca", "/org"
			cfg.PeerEndpoints, cfg.SpoolDir = []string{"p0:1", "p1:2"}, t.TempDir()
			var opened *signer.Identity
			deps := Deps{
				Files:      memFiles{"/c": tc.cert, "/k": tc.key, "/ca": ca.pem, "/org": ca.pem},
				Dialer:     fakeDialer{tc.dial},
				Engine:     func(string) (Engine, func(), error) { return &fakeEngine{version: "1.51"}, func() {}, nil },
				Handshaker: &fakeHandshaker{},
				Ledger: func(_ context.Context, _ config.Config, id *signer.Identity) (Evaluator, func(), error) {
					opened = id
					if tc.ledgerErr != nil {
						return nil, nil, tc.ledgerErr
					}
					return good(), func() {}, nil
				},
				Free:  func(string) (uint64, error) { return 1 << 40, nil },
				Clock: time.Now,
			}
			r := Run(t.Context(), cfg, deps)
			if r.Failed() != tc.failed || r.Blocked() != tc.block {
				t.Errorf("failed %v blocked %v, want %v %v:\n%s", r.Failed(), r.Blocked(), tc.failed, tc.block, r)
			}
			if tc.wantOrder != "" {
				var names []string
				for _, res := range r {
					names = append(names, strings.ReplaceAll(res.Check, " ", "-"))
				}
				if got := strings.Join(names, " "); got != tc.wantOrder {
					t.Errorf("checks %s\nwant   %s", got, tc.wantOrder)
				}
			}
			if opened == nil || opened.Host != map[bool]string{true: "node2", false: "node1"}[string(tc.cert) == string(wrong)] {
				t.Errorf("the Gateway was opened with identity %v", opened)
			}
			if tc.ledgerErr != nil {
				requireResults(t, r, map[string]string{"chaincode": "FAIL: Gateway connection: dial: no TLS roots", "host registry": "skip:"})
			}
			if lines := strings.Count(r.String(), "\n"); lines != len(r) {
				t.Errorf("%d lines for %d results", lines, len(r))
			}
		})
	}
}
