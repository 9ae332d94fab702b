package webview

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/testkit/testpki"
)

// testCA is a CA made in memory.
type testCA struct{ testpki.Cert }

func newCA(t *testing.T, name string) testCA {
	t.Helper()
	return testCA{testpki.New(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)}
}

// issue returns a certificate of the CA for cn.
func (ca testCA) issue(t *testing.T, cn string, server bool) testpki.Cert {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"client"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	return testpki.New(t, tmpl, &ca.Cert)
}

func TestAClientCertificateOfTheOrgsCAsIsRequired(t *testing.T) {
	dir := t.TempDir()
	orgs, other, serverCA := newCA(t, "ca.org1"), newCA(t, "ca.stranger"), newCA(t, "ca.web")
	files := TLSFiles{Cert: filepath.Join(dir, "web.crt"), Key: filepath.Join(dir, "web.key"), ClientCA: filepath.Join(dir, "orgs.pem")}
	serverCA.issue(t, "web", true).Write(t, files.Cert, files.Key)
	orgs.Write(t, files.ClientCA, "")
	cfg, err := TLSConfig(files)
	if err != nil {
		t.Fatal(err)
	}
	h := newTestServer(t, fixtureStore(t), Options{RequireClientCert: true}).Handler()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.Cert.Cert)
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
	}
	fetch := func(c *http.Client) (int, string, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/", nil)
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	t.Run("without a client certificate the handshake refuses", func(t *testing.T) {
		if code, _, err := fetch(client()); err == nil {
			t.Errorf("answered %d", code)
		}
	})
	t.Run("a certificate of another CA is refused", func(t *testing.T) {
		if code, _, err := fetch(client(other.issue(t, "mallory", false).TLS())); err == nil {
			t.Errorf("answered %d", code)
		}
	})
	t.Run("an org's auditor logs in and the page says who", func(t *testing.T) {
		code, body, err := fetch(client(orgs.issue(t, "auditor1", false).TLS()))
		if err != nil || code != http.StatusOK || !strings.Contains(body, "CN=auditor1") {
			t.Errorf("%d %v: %s", code, err, body)
		}
	})
	t.Run("a request that reached the handler without a verified certificate is 401", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%d", rec.Code)
		}
	})
	t.Run("a client CA bundle without a certificate is refused at start", func(t *testing.T) {
		empty := filepath.Join(dir, "empty.pem")
		if err := os.WriteFile(empty, []byte("nothing"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := TLSConfig(TLSFiles{Cert: files.Cert, Key: files.Key, ClientCA: empty}); err == nil {
			t.Error("accepted")
		}
	})
}
