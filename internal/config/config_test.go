package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadFiles(t *testing.T) {
	tests := []struct {
		name, file string
		wantErr    []string // substrings, all required
		check      func(t *testing.T, c Config)
	}{
		{name: "a complete YAML file loads", file: "testdata/good.yml", check: func(t *testing.T, c Config) {
			if c.Host != "node1" || len(c.PeerEndpoints) != 2 || c.HeartbeatInterval != 10*time.Second || c.Filter.String() != "container=*" {
				t.Errorf("config = %+v", c)
			}
			if c.Channel != "e2l" || c.Listen != ":9464" {
				t.Errorf("defaults not kept: %+v", c)
			}
		}},
		{name: "a JSON file loads", file: "testdata/good.json", check: func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:9999" {
				t.Errorf("listen = %q", c.Listen)
			}
		}},
		{name: "an unknown key is refused", file: "testdata/unknown-key.yml", wantErr: []string{"field hots not found"}},
		{name: "every bad value is reported at once", file: "testdata/bad-values.yml", wantErr: []string{
			`host (E2L_HOST) "node 1" is not a valid record host`,
			`peer endpoint "peer0" is not host:port`,
			`event-filter (E2L_EVENT_FILTER): event filter: unknown event type "builder"`,
			"ready-window (30s) must be at least the heartbeat interval (1m0s)",
			"batch-max (E2L_BATCH_MAX) must be between 1 and 1000, got 5000",
			`log-level (E2L_LOG_LEVEL) "loud"`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load([]string{"--config", tc.file}, env(nil), io.Discard)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\ndoes not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestFlagsOverrideEnvironmentOverridesFile(t *testing.T) {
	e := env(map[string]string{"E2L_HOST": "from-env", "E2L_LISTEN": ":1", "E2L_HEARTBEAT_INTERVAL": "5s", "DOCKER_HOST": "unix:///tmp/d.sock"})
	c, err := Load([]string{"--config", "testdata/good.yml", "--listen", ":2"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "from-env" || c.Listen != ":2" || c.HeartbeatInterval != 5*time.Second || c.DockerHost != "unix:///tmp/d.sock" {
		t.Errorf("config = %+v", c)
	}
}

func TestMissingRequiredSettingsAreNamedWithTheirVariables(t *testing.T) {
	_, err := Load(nil, env(nil), io.Discard)
	for _, w := range []string{"host (E2L_HOST) is required", "peer-endpoints (E2L_PEER_ENDPOINTS) is required", "cert (E2L_CERT) is required"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not contain %q", err, w)
		}
	}
}

func TestABadEnvironmentValueIsNamed(t *testing.T) {
	_, err := Load([]string{"--config", "testdata/good.yml"}, env(map[string]string{"E2L_BATCH_MAX": "many"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `E2L_BATCH_MAX: not an integer: "many"`) {
		t.Errorf("err = %v", err)
	}
}

func TestTheCheckSettingsAndThePreflightSwitch(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "the preflight is off by default", check: func(t *testing.T, c Config) {
			if c.Preflight || c.OrgCA != "" || len(c.ClockURLs) != 0 {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "--preflight alone turns it on", args: []string{"--preflight"}, check: func(t *testing.T, c Config) {
			if !c.Preflight {
				t.Error("preflight off")
			}
		}},
		{name: "E2L_PREFLIGHT=true turns it on", env: map[string]string{"E2L_PREFLIGHT": "true"}, check: func(t *testing.T, c Config) {
			if !c.Preflight {
				t.Error("preflight off")
			}
		}},
		{name: "--preflight=false overrides the environment", args: []string{"--preflight=false"}, env: map[string]string{"E2L_PREFLIGHT": "true"},
			check: func(t *testing.T, c Config) {
				if c.Preflight {
					t.Error("preflight on")
				}
			}},
		{name: "a bad boolean is named", env: map[string]string{"E2L_PREFLIGHT": "yes please"}, wantErr: `E2L_PREFLIGHT: not a boolean (true, false): "yes please"`},
		{name: "the org CA and the clock URLs are read", env: map[string]string{"E2L_ORG_CA": "/etc/e2l/identity/org-ca.pem",
			"E2L_CLOCK_URLS": "http://peer0:9443/healthz, http://peer1:9443/healthz"}, check: func(t *testing.T, c Config) {
			if c.OrgCA != "/etc/e2l/identity/org-ca.pem" || len(c.ClockURLs) != 2 || c.ClockURLs[1] != "http://peer1:9443/healthz" {
				t.Errorf("config = %+v", c)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range tc.env {
				e[k] = v
			}
			c, err := Load(append([]string{"--config", "testdata/good.yml"}, tc.args...), env(e), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
