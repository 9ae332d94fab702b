package deploy

import (
	"bufio"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/config"
)

// unitDirectives reads a systemd unit's Key=Value lines, per section.
func unitDirectives(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			k, v, _ := strings.Cut(line, "=")
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

func TestTheSystemdUnitIsHardenedAndRunsThePreflight(t *testing.T) {
	svc := unitDirectives(t, "deb/e2l-collector.service")["Service"]
	want := map[string]string{
		"User": "e2l-collector", "SupplementaryGroups": "docker", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "StateDirectory": "e2l-collector",
		"Environment": "E2L_SPOOL_DIR=/var/lib/e2l-collector", "EnvironmentFile": "/etc/e2l/collector.env",
		"ExecStartPre": "/usr/bin/e2l-collector check --gate", "ExecStart": "/usr/bin/e2l-collector",
		"Restart": "on-failure", "RestartPreventExitStatus": "2",
	}
	for k, v := range want {
		t.Run(k+"="+v, func(t *testing.T) {
			if !slices.Contains(svc[k], v) {
				t.Errorf("the unit's %s = %q, want %q", k, svc[k], v)
			}
		})
	}
	t.Run("the system call filter allows @system-service and no more", func(t *testing.T) {
		if !slices.Contains(svc["SystemCallFilter"], "@system-service") || !slices.Contains(svc["SystemCallFilter"], "~@privileged @resources") {
			t.Errorf("SystemCallFilter = %q", svc["SystemCallFilter"])
		}
	})
}

// Every setting the example configuration names, set or commented out, is
// one the collector reads: a misspelt key would be ignored silently.
func TestTheExampleConfigurationNamesOnlyCollectorSettings(t *testing.T) {
	var usage strings.Builder
	if _, err := config.Load([]string{"--help"}, func(string) string { return "" }, &usage); err == nil {
		t.Fatal("--help gave no usage")
	}
	known := map[string]bool{"E2L_CONFIG": true}
	for _, m := range regexp.MustCompile(`\(env (E2L_[A-Z_]+)\)`).FindAllStringSubmatch(usage.String(), -1) {
		known[m[1]] = true
	}
	b, err := os.ReadFile("deb/collector.env")
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(#?)(E2L_[A-Z_]+)=(.*)$`).FindAllStringSubmatch(string(b), -1) {
		if !known[m[2]] {
			t.Errorf("collector.env names %s, which the collector does not read", m[2])
		}
		if m[1] == "" {
			set[m[2]] = m[3]
		}
	}
	if v, ok := set["E2L_HOST"]; !ok || v != "" {
		t.Errorf("E2L_HOST = %q: the example must leave it empty (the check then fails until it is set)", v)
	}
	// With the host set, the example's own values are valid settings.
	set["E2L_HOST"] = "node1"
	set["E2L_CONFIG"] = ""
	set["E2L_MSP_ID"], set["E2L_PEER_ENDPOINTS"] = "ProviderMSP", "peer0:7051"
	if _, err := config.Load(nil, func(k string) string { return set[k] }, io.Discard); err != nil {
		t.Errorf("the example's settings do not load: %v", err)
	}
	conffiles, err := os.ReadFile("deb/conffiles")
	if err != nil || strings.TrimSpace(string(conffiles)) != "/etc/e2l/collector.env" {
		t.Errorf("conffiles = %q (%v), want /etc/e2l/collector.env", conffiles, err)
	}
}
