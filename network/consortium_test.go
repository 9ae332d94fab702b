package network

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSwarmNodeConfigurationNamesNodesByDNSAndContainerPaths(t *testing.T) {
	dir := t.TempDir()
	core, orderer := filepath.Join(dir, "core.yaml"), filepath.Join(dir, "orderer.yaml")
	if err := writeSwarmPeerConfig(Developer, core); err != nil {
		t.Fatal(err)
	}
	if err := writeSwarmOrdererConfig(Developer, orderer); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		core: {
			"  listenAddress: 0.0.0.0:7051\n",
			"  address: peer0.developer.e2l.local:7051\n",
			"    externalEndpoint: peer0.developer.e2l.local:7051\n",
			"  mspConfigPath: /etc/hyperledger/fabric/msp\n",
			"  localMspId: DeveloperMSP\n",
			"  fileSystemPath: /var/hyperledger/production\n",
			"      path: /opt/e2l/ccaas\n",
			"  listenAddress: 0.0.0.0:9443\n",
		},
		orderer: {
			"  ListenAddress: 0.0.0.0\n  ListenPort: 7050\n",
			"    ListenAddress: 0.0.0.0\n    ListenPort: 7055\n",
			"      - /etc/hyperledger/fabric/cluster-tlsca.pem\n",
			"  LocalMSPID: DeveloperOrdererMSP\n",
			"  ListenAddress: 0.0.0.0:7053\n",
			"  ListenAddress: 0.0.0.0:9444\n",
			"  Location: /var/hyperledger/production/orderer\n",
		},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", filepath.Base(file), w)
			}
		}
		// Nothing of the native network's loopback layout leaks in (the
		// peer's disabled profiling listener aside).
		if m := regexp.MustCompile(`127\.0\.0\.1:[1-9]`).FindString(string(b)); m != "" {
			t.Errorf("%s names the loopback address %s", filepath.Base(file), m)
		}
	}
}

func TestTheNativePeerStillListensWhereItIsReached(t *testing.T) {
	c, err := Config{Dir: t.TempDir(), PortBase: 27000}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.writePeerConfig(User); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(c.peerDir(User), "core.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"  listenAddress: 127.0.0.1:27050\n", "  address: 127.0.0.1:27050\n", "    externalEndpoint: 127.0.0.1:27050\n"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("native core.yaml lacks %q", w)
		}
	}
}

func TestTheSwarmCAConfigurationHoldsItsBootstrapSecretAlone(t *testing.T) {
	dir := t.TempDir()
	if err := writeSwarmCAConfig(User, dir); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "fabric-ca-server-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile(filepath.Join(dir, "admin.secret"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "    - name: admin\n      pass: "+strings.TrimSpace(string(secret))+"\n") {
		t.Errorf("the configuration's bootstrap admin is not admin with the password of admin.secret:\n%s", cfg)
	}
	for _, w := range []string{"  name: ca-user\n", "  keyfile: /run/secrets/ca-key.pem\n", "  certfile: /etc/hyperledger/fabric-ca-server/ca-cert.pem\n",
		"  datasource: /var/hyperledger/fabric-ca-server/fabric-ca-server.db\n", "  listenAddress: 0.0.0.0:9445\n", "    expiry: 8760h\n"} {
		if !strings.Contains(string(cfg), w) {
			t.Errorf("CA configuration lacks %q", w)
		}
	}
	for _, f := range []string{"fabric-ca-server-config.yaml", "admin.secret"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	other := t.TempDir()
	if err := writeSwarmCAConfig(User, other); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(other, "admin.secret")); string(again) == string(secret) {
		t.Error("two CA configurations have the same bootstrap password")
	}
}

// writeShareFiles makes a share directory of o with placeholder certificates.
func writeShareFiles(t *testing.T, o Org, shareJSON string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "share")
	for _, f := range []string{"msp/cacerts/ca.pem", "msp/tlscacerts/tlsca.pem", "orderer-msp/cacerts/ca.pem",
		"orderer-msp/tlscacerts/tlsca.pem", "orderer-tls.crt"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(string(o)+" "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "share.json"), []byte(shareJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReadShare(t *testing.T) {
	good := `{"name":"User","mspId":"UserMSP","ordererMspId":"UserOrdererMSP","anchorPeer":"peer0.user.e2l.local:7051",` +
		`"orderer":"orderer.user-orderer.e2l.local:7050","ordererCluster":"orderer.user-orderer.e2l.local:7055"}`
	for _, tc := range []struct {
		name, json, wantErr string
	}{
		{name: "a share of one of the three organisations is read", json: good},
		{name: "a field nobody knows is refused", json: strings.Replace(good, `"name"`, `"extra":1,"name"`, 1), wantErr: "unknown field"},
		{name: "an organisation outside the consortium is refused", json: strings.ReplaceAll(good, "User", "Auditor"), wantErr: "unknown organisation"},
		{name: "an MSP ID that is not the organisation's orderer MSP is refused",
			json: strings.Replace(good, "UserOrdererMSP", "ProviderOrdererMSP", 1), wantErr: "do not belong together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadShare(writeShareFiles(t, User, tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("ReadShare: %v, want an error about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || s.AnchorPeer != "peer0.user.e2l.local:7051" {
				t.Errorf("ReadShare: %+v, %v", s, err)
			}
		})
	}
	t.Run("a share without its orderer's TLS certificate is refused", func(t *testing.T) {
		dir := writeShareFiles(t, User, good)
		if err := os.Remove(filepath.Join(dir, "orderer-tls.crt")); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadShare(dir); err == nil {
			t.Error("ReadShare accepted a share without orderer-tls.crt")
		}
	})
}
