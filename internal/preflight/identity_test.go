package preflight

import (
	"strings"
	"testing"
	"time"
)

func TestIdentityChecks(t *testing.T) {
	ca := newTestCA(t, "ca.provider.e2l.local")
	other := newTestCA(t, "ca.developer.e2l.local")
	now := time.Now()
	good, goodKey := ca.issue(t, leaf{attrs: collectorAttrs("node1")})
	_, strangerKey := ca.issue(t, leaf{attrs: collectorAttrs("node1")})
	wrongHost, wrongHostKey := ca.issue(t, leaf{attrs: collectorAttrs("node2")})
	noRole, noRoleKey := ca.issue(t, leaf{attrs: map[string]string{"e2l.host": "node1"}})
	expired, expiredKey := ca.issue(t, leaf{attrs: collectorAttrs("node1"), notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-time.Hour)})
	soon, soonKey := ca.issue(t, leaf{attrs: collectorAttrs("node1"), notAfter: now.Add(3 * 24 * time.Hour)})
	future, futureKey := ca.issue(t, leaf{attrs: collectorAttrs("node1"), notBefore: now.Add(time.Hour)})
	foreign, foreignKey := other.issue(t, leaf{attrs: collectorAttrs("node1")})
	// An expired certificate issued (back-dated) by a CA younger than its
	// validity period, as the integration test makes one: no instant is
	// inside both, so the chain is followed by signatures.
	young := newTestCASince(t, "ca.young", now.Add(-time.Minute))
	backdated, backdatedKey := young.issue(t, leaf{attrs: collectorAttrs("node1"), notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-time.Hour)})
	foreignExpired, foreignExpiredKey := other.issue(t, leaf{attrs: collectorAttrs("node1"), notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-time.Hour)})

	tests := []struct {
		name        string
		cert, key   []byte
		orgCA       []byte // nil: no E2L_ORG_CA
		noFiles     bool
		noOrgCAFile bool
		want        map[string]string // check → "status: detail substring"
		loaded      bool
	}{
		{name: "a good identity passes every check", cert: good, key: goodKey, orgCA: ca.pem, loaded: true, want: map[string]string{
			"certificate": "ok: and its private key", "certificate host": "ok: e2l.host=node1", "certificate role": "ok: e2l.role=collector",
			"certificate validity": "ok: valid until", "certificate chain": `ok: issued under "ca.provider.e2l.local"`}},
		{name: "an unreadable certificate fails and the rest is skipped", noFiles: true, want: map[string]string{
			"certificate": "FAIL: cannot read /id/cert.pem", "certificate host": "skip: not checked", "certificate chain": "skip: not checked"}},
		{name: "a key of another certificate fails", cert: good, key: strangerKey, want: map[string]string{
			"certificate": "FAIL: the private key does not match the certificate", "certificate role": "skip:"}},
		{name: "a certificate of another host fails naming both", cert: wrongHost, key: wrongHostKey, loaded: true, want: map[string]string{
			"certificate host": `FAIL: the certificate is for e2l.host "node2", this host is "node1" (E2L_HOST)`, "certificate role": "ok:"}},
		{name: "a certificate without the collector role fails", cert: noRole, key: noRoleKey, loaded: true, want: map[string]string{
			"certificate role": `FAIL: the certificate's e2l.role is "", want "collector"`}},
		{name: "an expired certificate fails and its chain is still checked", cert: expired, key: expiredKey, orgCA: ca.pem, loaded: true, want: map[string]string{
			"certificate validity": "FAIL: expired at", "certificate chain": "ok:"}},
		{name: "an expired back-dated certificate of a younger CA still chains to it", cert: backdated, key: backdatedKey, orgCA: young.pem, loaded: true,
			want: map[string]string{"certificate validity": "FAIL: expired at", "certificate chain": `ok: issued under "ca.young" (by signatures`}},
		{name: "an expired certificate of another CA fails the chain", cert: foreignExpired, key: foreignExpiredKey, orgCA: ca.pem, loaded: true,
			want: map[string]string{"certificate chain": `FAIL: the certificate (issuer "ca.developer.e2l.local") was not issued by the organisation's root CA`}},
		{name: "a certificate expiring in 3 days warns", cert: soon, key: soonKey, loaded: true, want: map[string]string{
			"certificate validity": "warn: expires at"}},
		{name: "a certificate not valid yet fails pointing at the clock", cert: future, key: futureKey, loaded: true, want: map[string]string{
			"certificate validity": "FAIL: not valid before"}},
		{name: "a certificate of another organisation's CA fails the chain", cert: foreign, key: foreignKey, orgCA: ca.pem, loaded: true, want: map[string]string{
			"certificate chain": `FAIL: the certificate (issuer "ca.developer.e2l.local") was not issued by the organisation's root CA in /id/org-ca.pem`}},
		{name: "without an org CA the chain is not checked", cert: good, key: goodKey, loaded: true, want: map[string]string{
			"certificate chain": "skip: not checked: no organisation root CA configured (E2L_ORG_CA)"}},
		{name: "an org CA file that does not exist warns", cert: good, key: goodKey, orgCA: []byte{}, noOrgCAFile: true, loaded: true, want: map[string]string{
			"certificate chain": "warn: not checked: the organisation's root CA /id/org-ca.pem (E2L_ORG_CA) does not exist"}},
		{name: "an org CA file without a certificate fails", cert: good, key: goodKey, orgCA: []byte("not PEM"), loaded: true, want: map[string]string{
			"certificate chain": "FAIL: /id/org-ca.pem holds no PEM certificate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := memFiles{}
			if !tc.noFiles {
				files["/id/cert.pem"], files["/id/key.pem"] = tc.cert, tc.key
			}
			cfg := IdentityConfig{Cert: "/id/cert.pem", Key: "/id/key.pem", MSPID: "ProviderMSP", Host: "node1", ExpiryWarning: 14 * 24 * time.Hour}
			if tc.orgCA != nil {
				files["/id/org-ca.pem"], cfg.OrgCA = tc.orgCA, "/id/org-ca.pem"
			}
			if tc.noOrgCAFile {
				delete(files, "/id/org-ca.pem")
			}
			res, id := Identity(files, cfg, now)
			if (id != nil) != tc.loaded {
				t.Errorf("identity loaded = %v, want %v", id != nil, tc.loaded)
			}
			if len(res) != 5 {
				t.Fatalf("%d results, want 5 (one per check): %v", len(res), res)
			}
			requireResults(t, res, tc.want)
		})
	}
}

// requireResults checks, for each named check, "status: detail substring".
func requireResults(t *testing.T, res []Result, want map[string]string) {
	t.Helper()
	for check, w := range want {
		status, detail, _ := strings.Cut(w, ": ")
		status = strings.TrimSuffix(status, ":")
		found := false
		for _, r := range res {
			if r.Check != check {
				continue
			}
			found = true
			if string(r.Status) != status || !strings.Contains(r.Detail, detail) {
				t.Errorf("%s: got %q, want status %s and a detail containing %q", check, r, status, detail)
			}
		}
		if !found {
			t.Errorf("no result for %s in %v", check, res)
		}
	}
}
