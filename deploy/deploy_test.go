// Package deploy holds no Go code: these tests check the deployment files
// (the Swarm stack, the Grafana dashboard) for the properties operations
// rely on. Prometheus files are checked by promtool (make deploy-check).
package deploy

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type stackFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		User        string            `yaml:"user"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []mount           `yaml:"volumes"`
		Ports       []struct {
			Target    int    `yaml:"target"`
			Published string `yaml:"published"`
			Mode      string `yaml:"mode"`
		} `yaml:"ports"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Deploy struct {
			Mode          string            `yaml:"mode"`
			Labels        map[string]string `yaml:"labels"`
			UpdateConfig  updateConfig      `yaml:"update_config"`
			RollbackCfg   updateConfig      `yaml:"rollback_config"`
			RestartPolicy struct {
				Condition string `yaml:"condition"`
			} `yaml:"restart_policy"`
			Resources struct {
				Limits struct {
					CPUs   string `yaml:"cpus"`
					Memory string `yaml:"memory"`
				} `yaml:"limits"`
			} `yaml:"resources"`
		} `yaml:"deploy"`
	} `yaml:"services"`
	Volumes map[string]struct {
		Driver string `yaml:"driver"`
	} `yaml:"volumes"`
}

type mount struct {
	Type, Source, Target string
	ReadOnly             bool `yaml:"read_only"`
}

type updateConfig struct {
	Parallelism int    `yaml:"parallelism"`
	Order       string `yaml:"order"`
}

func TestStackKeepsOneCollectorPerNodeAndSpool(t *testing.T) {
	b, err := os.ReadFile("swarm/stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	var st stackFile
	if err := yaml.Unmarshal(b, &st); err != nil {
		t.Fatalf("stack.yml: %v", err)
	}
	c, ok := st.Services["collector"]
	if !ok {
		t.Fatal("stack.yml has no collector service")
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"runs one task on every node (mode: global)", c.Deploy.Mode == "global"},
		{"updates stop the old task first, one node at a time", c.Deploy.UpdateConfig.Order == "stop-first" && c.Deploy.UpdateConfig.Parallelism == 1},
		{"rollbacks stop the old task first, one node at a time", c.Deploy.RollbackCfg.Order == "stop-first" && c.Deploy.RollbackCfg.Parallelism == 1},
		{"names the node by the Swarm template", c.Environment["E2L_HOST"] == "{{.Node.Hostname}}"},
		{"reaches Docker through the mounted runtime directory", c.Environment["E2L_DOCKER_HOST"] == "unix:///host/run/docker.sock" &&
			slices.ContainsFunc(c.Volumes, func(v mount) bool {
				// /var/run unless E2L_DOCKER_RUN_DIR names the node's own.
				return v.Type == "bind" && v.Source == "${E2L_DOCKER_RUN_DIR:-/var/run}" && v.Target == "/host/run" && v.ReadOnly
			})},
		{"keeps the spool on a node-local named volume", c.Environment["E2L_SPOOL_DIR"] != "" && st.Volumes["spool"].Driver == "local" &&
			slices.ContainsFunc(c.Volumes, func(v mount) bool {
				return v.Type == "volume" && v.Source == "spool" && v.Target == c.Environment["E2L_SPOOL_DIR"]
			})},
		{"publishes /metrics on each node (mode: host)", len(c.Ports) == 1 && c.Ports[0].Mode == "host" && c.Ports[0].Target == 9464},
		{"carries the Prometheus discovery label", c.Deploy.Labels["prometheus.job"] == "e2l-collector"},
		{"probes liveness with the collector binary", slices.Equal(c.Healthcheck.Test, []string{"CMD", "/e2l-collector", "healthcheck"})},
		{"has resource limits", c.Deploy.Resources.Limits.CPUs != "" && c.Deploy.Resources.Limits.Memory != ""},
		{"restarts on any exit", c.Deploy.RestartPolicy.Condition == "any"},
		{"does not run as root", regexp.MustCompile(`^[1-9][0-9]*:`).MatchString(c.User)},
		{"runs the preflight before starting", c.Environment["E2L_PREFLIGHT"] == "true"},
		{"selects the image's version by E2L_VERSION", strings.HasSuffix(c.Image, ":${E2L_VERSION:-latest}")},
	}
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) {
			if !ck.ok {
				t.Errorf("stack.yml: the collector service does not satisfy this")
			}
		})
	}
}

func TestDashboardIsValidAndQueriesCollectorMetrics(t *testing.T) {
	b, err := os.ReadFile("grafana/e2l-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("e2l-dashboard.json: %v", err)
	}
	if d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard without uid or panels")
	}
	metric := regexp.MustCompile(`\b(e2l_collector_[a-z_]+|up|process_[a-z_]+)\{`)
	seen := map[int]bool{}
	for _, p := range d.Panels {
		if seen[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		seen[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if !metric.MatchString(tg.Expr) {
				t.Errorf("panel %q: query %q reads no collector metric", p.Title, tg.Expr)
			}
		}
	}
}
