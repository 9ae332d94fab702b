package webview

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
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
)

// testCA is a CA made in memory.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{c, key}
}

// issue returns a certificate of the CA for cn, as a tls.Certificate.
func (ca testCA) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"client"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAClientCertificateOfTheOrgsCAsIsRequired(t *testing.T) {
	dir := t.TempDir()
	orgs, other, serverCA := newCA(t, "ca.org1"), newCA(t, "ca.stranger"), newCA(t, "ca.web")
	srvCert := serverCA.issue(t, "web", true)
	keyDER, err := x509.MarshalECPrivateKey(srvCert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	files := TLSFiles{Cert: filepath.Join(dir, "web.crt"), Key: filepath.Join(dir, "web.key"), ClientCA: filepath.Join(dir, "orgs.pem")}
	writePEM(t, files.Cert, "CERTIFICATE", srvCert.Certificate[0])
	writePEM(t, files.Key, "EC PRIVATE KEY", keyDER)
	writePEM(t, files.ClientCA, "CERTIFICATE", orgs.cert.Raw)
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
	roots.AddCert(serverCA.cert)
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
		if code, _, err := fetch(client(other.issue(t, "mallory", false))); err == nil {
			t.Errorf("answered %d", code)
		}
	})
	t.Run("an org's auditor logs in and the page says who", func(t *testing.T) {
		code, body, err := fetch(client(orgs.issue(t, "auditor1", false)))
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
