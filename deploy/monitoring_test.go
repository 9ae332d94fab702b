package deploy

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type dashboard struct {
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
	Panels []struct {
		Type        string `json:"type"`
		Title       string `json:"title"`
		FieldConfig struct {
			Defaults struct {
				Unit string `json:"unit"`
			} `json:"defaults"`
		} `json:"fieldConfig"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("grafana/e2l-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDashboardPanelsHaveUnitsAndAnnotations(t *testing.T) {
	d := readDashboard(t)
	tables := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q has no unit", p.Title)
		}
		if p.Type == "timeseries" && len(p.Targets) > 1 {
			// One unit per panel: the queries of one panel are one quantity.
			for _, tg := range p.Targets[1:] {
				if strings.Contains(tg.Expr, "_bytes") != strings.Contains(p.Targets[0].Expr, "_bytes") {
					t.Errorf("panel %q plots bytes and another quantity on one axis", p.Title)
				}
			}
		}
		if p.Type == "table" && strings.Contains(p.Title, "status") {
			tables++
		}
	}
	if tables != 1 {
		t.Errorf("%d per-node status tables, want 1", tables)
	}
	want := map[string]string{"Gaps": "e2l_collector_watcher_gaps_total", "Collector restarts": "process_start_time_seconds"}
	for _, a := range d.Annotations.List {
		if m, ok := want[a.Name]; ok && strings.Contains(a.Expr, m) {
			delete(want, a.Name)
		}
	}
	for name := range want {
		t.Errorf("no %q annotation", name)
	}
}

// anchor is GitHub's anchor of a Markdown heading.
func anchor(heading string) string {
	h := strings.ToLower(strings.TrimSpace(heading))
	h = regexp.MustCompile("[^a-z0-9 _-]").ReplaceAllString(h, "")
	return strings.ReplaceAll(h, " ", "-")
}

func TestEveryAlertHasARunbookSection(t *testing.T) {
	b, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			anchors[anchor(strings.TrimLeft(h, "#"))] = true
		}
	}
	const base = "https://github.com/e2l-project/e2l/blob/main/docs/operations.md#"
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			url := r.Annotations["runbook_url"]
			a, ok := strings.CutPrefix(url, base)
			switch {
			case !ok:
				t.Errorf("alert %s: runbook_url %q is not a section of docs/operations.md", r.Alert, url)
			case !anchors[a]:
				t.Errorf("alert %s: docs/operations.md has no section #%s", r.Alert, a)
			}
		}
	}
	if n == 0 {
		t.Fatal("no alert read")
	}
}

func TestTheMonitoringFilesUseDocumentedMetrics(t *testing.T) {
	var docs strings.Builder
	for _, f := range []string{"../docs/collector.md", "../docs/operations.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs.Write(b)
	}
	name := regexp.MustCompile(`\be2l_[a-z_]+`)
	suffix := regexp.MustCompile(`_(bucket|count|sum)$`)
	for _, f := range []string{"prometheus/alerts.yml", "prometheus/alerts_test.yml", "grafana/e2l-dashboard.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllString(string(b), -1) {
			m = suffix.ReplaceAllString(m, "")
			if !strings.Contains(docs.String(), "`"+m) {
				t.Errorf("%s uses %s, which the metrics reference does not list", f, m)
			}
		}
	}
}
