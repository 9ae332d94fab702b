package deploy

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// orgStack is what TestOrgStack reads of deploy/consortium/org.yml.
type orgStack struct {
	Services map[string]struct {
		Image    string `yaml:"image"`
		Networks map[string]struct {
			Aliases []string `yaml:"aliases"`
		} `yaml:"networks"`
		Ports   []port    `yaml:"ports"`
		Secrets []fileRef `yaml:"secrets"`
		Configs []fileRef `yaml:"configs"`
		Volumes []string  `yaml:"volumes"`
		Deploy  struct {
			EndpointMode string            `yaml:"endpoint_mode"`
			Labels       map[string]string `yaml:"labels"`
			Placement    struct {
				Constraints []string `yaml:"constraints"`
			} `yaml:"placement"`
			UpdateConfig  updateConfig `yaml:"update_config"`
			RestartPolicy struct {
				Condition string `yaml:"condition"`
			} `yaml:"restart_policy"`
		} `yaml:"deploy"`
	} `yaml:"services"`
	Networks map[string]struct {
		External bool   `yaml:"external"`
		Name     string `yaml:"name"`
	} `yaml:"networks"`
	Configs map[string]struct {
		File string `yaml:"file"`
	} `yaml:"configs"`
	Secrets map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

type port struct {
	Target    int    `yaml:"target"`
	Published string `yaml:"published"`
	Mode      string `yaml:"mode"`
}

type fileRef struct {
	Source string `yaml:"source"`
	Target string `yaml:"target"`
	UID    string `yaml:"uid"`
	Mode   *int   `yaml:"mode"`
}

func TestOrgStack(t *testing.T) {
	b, err := os.ReadFile("consortium/org.yml")
	if err != nil {
		t.Fatal(err)
	}
	var st orgStack
	if err := yaml.Unmarshal(b, &st); err != nil {
		t.Fatalf("org.yml: %v", err)
	}
	if got := slices.Sorted(maps.Keys(st.Services)); !slices.Equal(got, []string{"ca", "chaincode", "orderer", "peer"}) {
		t.Fatalf("services %v, want ca, chaincode, orderer, peer", got)
	}
	net, ok := st.Networks["consortium"]
	if !ok || !net.External || !strings.Contains(net.Name, "E2L_CONSORTIUM_NETWORK") {
		t.Errorf("the consortium network must be external and named by E2L_CONSORTIUM_NETWORK: %+v", net)
	}
	keyFile := regexp.MustCompile(`(priv_sk|\.key|key\.pem|ccaas-connection\.json|fabric-ca-server-config\.yaml)"?$`)
	for name, svc := range st.Services {
		t.Run(name+" is pinned to its organisation's hosts and reached by its DNS name on the consortium network", func(t *testing.T) {
			if !slices.Contains(svc.Deploy.Placement.Constraints, "node.labels.e2l.org.${E2L_ORG:?source the settings in DIR/org.env} == true") {
				t.Errorf("placement %v", svc.Deploy.Placement.Constraints)
			}
			if aliases := svc.Networks["consortium"].Aliases; len(aliases) != 1 || !strings.HasPrefix(aliases[0], "${E2L_") {
				t.Errorf("aliases on the consortium network %v, want the node's DNS name from org.env", aliases)
			}
			if svc.Deploy.EndpointMode != "dnsrr" {
				t.Errorf("endpoint_mode %q, want dnsrr (the DNS name is the task)", svc.Deploy.EndpointMode)
			}
			if svc.Deploy.RestartPolicy.Condition != "any" || svc.Deploy.UpdateConfig.Order != "stop-first" {
				t.Errorf("restart %q, update order %q: want any, stop-first", svc.Deploy.RestartPolicy.Condition, svc.Deploy.UpdateConfig.Order)
			}
		})
		t.Run(name+" gets private keys only as secrets readable by its uid alone", func(t *testing.T) {
			for _, c := range svc.Configs {
				if keyFile.MatchString(st.Configs[c.Source].File) {
					t.Errorf("config %s holds a private key (%s): make it a secret", c.Source, st.Configs[c.Source].File)
				}
				if st.Configs[c.Source].File == "" {
					t.Errorf("config %s is not defined", c.Source)
				}
			}
			for _, s := range svc.Secrets {
				if st.Secrets[s.Source].File == "" {
					t.Errorf("secret %s is not defined", s.Source)
				}
				mode := -1
				if s.Mode != nil {
					mode = *s.Mode
				}
				if s.UID != "65532" || mode != 0o400 {
					t.Errorf("secret %s: uid %q mode %#o, want 65532 and 0400", s.Source, s.UID, mode)
				}
			}
		})
		t.Run(name+" publishes only in mode host", func(t *testing.T) {
			for _, p := range svc.Ports {
				if p.Mode != "host" {
					t.Errorf("port %d published in mode %q", p.Target, p.Mode)
				}
			}
		})
	}
	for _, secret := range []string{"ca-key", "ca-config", "peer-msp-key", "peer-tls-key", "peer-ccaas-connection", "orderer-msp-key", "orderer-tls-key", "chaincode-tls-key"} {
		if !keyFile.MatchString(st.Secrets[secret].File) {
			t.Errorf("secret %s (%q) is not one of the key files", secret, st.Secrets[secret].File)
		}
	}
	for svc, job := range map[string]string{"peer": "fabric-peer", "orderer": "fabric-orderer", "ca": "fabric-ca"} {
		s := st.Services[svc]
		published := slices.ContainsFunc(s.Ports, func(p port) bool { return p.Published == s.Deploy.Labels["prometheus.port"] })
		if s.Deploy.Labels["prometheus.job"] != job || !published {
			t.Errorf("%s: labels %v: want prometheus.job %s and prometheus.port the published operations port", svc, s.Deploy.Labels, job)
		}
	}
	if n := len(st.Services["chaincode"].Ports); n != 0 {
		t.Errorf("the chaincode server publishes %d ports: only its peer calls it, on the consortium network", n)
	}
}
