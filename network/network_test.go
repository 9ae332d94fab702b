package network

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/wire"
)

func TestParseOrg(t *testing.T) {
	tests := []struct {
		in      string
		want    Org
		wantErr bool
	}{
		{"Provider", Provider, false},
		{"developer", Developer, false},
		{"UserMSP", User, false},
		{"Auditor", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseOrg(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseOrg(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestEveryNodeHasItsOwnPortsWithinTheSpan(t *testing.T) {
	c, err := Config{Dir: t.TempDir(), PortBase: 20000}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	n := &Network{cfg: c}
	seen := map[int]string{}
	for _, nd := range n.allNodes() {
		for _, p := range nd.ports {
			if p < c.PortBase || p >= c.PortBase+portSpan {
				t.Errorf("%s: port %d outside [%d, %d)", nd.name, p, c.PortBase, c.PortBase+portSpan)
			}
			if other, ok := seen[p]; ok {
				t.Errorf("port %d used by %s and %s", p, other, nd.name)
			}
			seen[p] = nd.name
		}
	}
}

func TestScanListeningReadsOnlyListenStates(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tcp")
	content := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1B58 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1B59 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
`
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	ports := map[int]bool{}
	if err := scanListening(file, ports); err != nil {
		t.Fatal(err)
	}
	if !ports[7000] || ports[7001] || len(ports) != 1 {
		t.Fatalf("got %v, want only 7000 listening", ports)
	}
}

func TestPackagesOfTheSameBinaryAreIdentical(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "cc")
	if err := os.WriteFile(bin, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := Config{Dir: dir, ChaincodeBin: bin}
	a, err := c.writePackage(3)
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(a.Package)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.writePackage(3)
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(b.Package)
	if err != nil {
		t.Fatal(err)
	}
	if a.PackageID != b.PackageID || !bytes.Equal(first, second) {
		t.Fatalf("package IDs %s and %s differ", a.PackageID, b.PackageID)
	}
	if a.Label != "e2l_3" || a.PackageID[:6] != "e2l_3:" {
		t.Fatalf("label %s, package ID %s; want e2l_3", a.Label, a.PackageID)
	}
}

func TestValidHostName(t *testing.T) {
	for h, want := range map[string]bool{
		"vm": true, "node-1.example_x": true, "": false, "-x": false, "a,b": false,
		"a=b": false, "../x": false, "a b": false, string(make([]byte, 64)): false,
	} {
		if got := validHostName(h); got != want {
			t.Errorf("validHostName(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestANetworkOfAnotherStateLayoutIsCreatedAgain(t *testing.T) {
	for _, c := range []struct {
		name string
		st   state
		ok   bool
		why  string
	}{
		{"a ready network of this layout is restarted", state{Ready: true, StateLayout: wire.StateLayout}, true, ""},
		{"one never ready is created again", state{StateLayout: wire.StateLayout}, false, ""},
		{"one that recorded no layout is created again", state{Ready: true}, false, "created for chaincode state layout 2 or earlier"},
		{"one of an older layout is created again", state{Ready: true, StateLayout: wire.StateLayout - 1}, false, fmt.Sprintf("layout %d and this e2l writes layout %d", wire.StateLayout-1, wire.StateLayout)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, why := c.st.reusable()
			if ok != c.ok || (c.why == "") != (why == "") || !strings.Contains(why, c.why) {
				t.Errorf("reusable() = %v, %q; want %v, %q", ok, why, c.ok, c.why)
			}
		})
	}
}
