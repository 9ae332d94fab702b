package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	pem := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("PEM of "+name), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert, key, ca := pem("cert.pem"), pem("key.pem"), pem("ca.pem")
	base := map[string]string{"CHAINCODE_ID": "e2l_1:abc", "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999"}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}

	errCases := []struct {
		name, want string
		env        func(string) string
	}{
		{"both required variables missing are named", "missing environment: CHAINCODE_ID (the chaincode package ID), CHAINCODE_SERVER_ADDRESS (host:port to listen on)",
			func(string) string { return "" }},
		{"a missing address is named", "missing environment: CHAINCODE_SERVER_ADDRESS (host:port to listen on)",
			with("CHAINCODE_SERVER_ADDRESS", "")},
		{"a certificate without a key is refused", "CHAINCODE_TLS_CERT and CHAINCODE_TLS_KEY must be set together",
			with("CHAINCODE_TLS_CERT", cert)},
		{"a client CA without TLS is refused", "CHAINCODE_TLS_CLIENT_CA is set but TLS is off: set CHAINCODE_TLS_CERT and CHAINCODE_TLS_KEY too",
			with("CHAINCODE_TLS_CLIENT_CA", ca)},
		{"an unreadable key file is refused", "CHAINCODE_TLS_KEY: open " + filepath.Join(dir, "nope") + ": no such file or directory",
			with("CHAINCODE_TLS_CERT", cert, "CHAINCODE_TLS_KEY", filepath.Join(dir, "nope"))},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadConfig(c.env)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error\n got: %v\nwant: %s", err, c.want)
			}
			if _, ok := errors.AsType[*configError](err); !ok {
				t.Error("not a configError (exit code 2)")
			}
		})
	}

	t.Run("without TLS variables TLS is off", func(t *testing.T) {
		cfg, err := loadConfig(with())
		if err != nil || !cfg.tls.Disabled || cfg.ccID != "e2l_1:abc" || cfg.address != "127.0.0.1:9999" {
			t.Fatalf("%+v, %v", cfg, err)
		}
	})
	t.Run("certificate, key and client CA are read", func(t *testing.T) {
		cfg, err := loadConfig(with("CHAINCODE_TLS_CERT", cert, "CHAINCODE_TLS_KEY", key, "CHAINCODE_TLS_CLIENT_CA", ca))
		if err != nil || cfg.tls.Disabled || string(cfg.tls.Cert) != "PEM of cert.pem" || string(cfg.tls.Key) != "PEM of key.pem" || string(cfg.tls.ClientCACerts) != "PEM of ca.pem" {
			t.Fatalf("%+v, %v", cfg, err)
		}
	})
	t.Run("run exits 2 on a configuration error", func(t *testing.T) {
		if code := run(t.Context(), func(string) string { return "" }); code != exitConfig {
			t.Fatalf("exit code %d", code)
		}
	})
}
