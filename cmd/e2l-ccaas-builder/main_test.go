package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTheStepIsChosenByNameOrFirstArgument(t *testing.T) {
	dir := t.TempDir()
	meta := filepath.Join(dir, "meta")
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(meta, "metadata.json"), []byte(`{"type":"ccaas"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	conn := filepath.Join(dir, "connection.json")
	if err := os.WriteFile(conn, []byte(`{"address":"cc:9999"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "E2L_CCAAS_CONNECTION" {
			return conn
		}
		return ""
	}
	for _, tc := range []struct {
		name    string
		args    []string
		want    int
		wantErr string
	}{
		{name: "run as bin/detect it claims a ccaas package", args: []string{"/opt/builder/bin/detect", dir, meta}, want: exitOK},
		{name: "run by its own name the first argument is the step", args: []string{"e2l-ccaas-builder", "detect", dir, meta}, want: exitOK},
		{name: "release installs the connection named by the environment", args: []string{"/b/bin/release", dir, filepath.Join(dir, "rel")}, want: exitOK},
		{name: "a wrong number of arguments is a usage error", args: []string{"/b/bin/build", dir}, want: exitUsage, wantErr: "usage"},
		{name: "an unknown step is a usage error", args: []string{"e2l-ccaas-builder", "run", dir, meta}, want: exitUsage, wantErr: "usage"},
		{name: "a failing step says why", args: []string{"/b/bin/detect", dir, filepath.Join(dir, "none")}, want: exitNo, wantErr: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := run(tc.args, env, &out, &errb); got != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", got, tc.want, errb.String())
			}
			if !strings.Contains(errb.String(), tc.wantErr) {
				t.Errorf("stderr %q, want %q in it", errb.String(), tc.wantErr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "rel", "chaincode", "server", "connection.json")); err != nil {
		t.Errorf("release wrote nothing: %v", err)
	}
}
