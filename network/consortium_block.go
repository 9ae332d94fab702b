package network

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CheckGenesis checks a genesis block received from the channel's creator
// before the organisation's nodes join it (`configtxgen -inspectBlock`):
// it must define exactly the three organisations of the shares, each with
// the root and TLS root certificates of its share, their anchor peers and
// orderer endpoints, the three orderers as the Raft consenters with the
// TLS certificates of the shares, and endorsement by a majority of the
// organisations. What it finds wrong is returned, all of it.
func CheckGenesis(ctx context.Context, binDir, dir, block string, sharePaths []string) error {
	if binDir == "" {
		binDir = DefaultBinDir
	}
	shares, err := readShares(dir, sharePaths)
	if err != nil {
		return err
	}
	out, err := Config{BinDir: binDir}.output(ctx, "configtxgen", nil, "", "-inspectBlock", block)
	if err != nil {
		return err
	}
	var b inspectedBlock
	if err := json.Unmarshal(out, &b); err != nil {
		return fmt.Errorf("genesis block %s: %w", block, err)
	}
	if len(b.Data.Data) != 1 {
		return fmt.Errorf("genesis block %s: %d envelopes, want 1", block, len(b.Data.Data))
	}
	ch := b.Data.Data[0].Payload.Data.Config.ChannelGroup
	if got := b.Data.Data[0].Payload.Header.ChannelHeader.ChannelID; got != ChannelName {
		return fmt.Errorf("genesis block %s is of channel %q, want %q", block, got, ChannelName)
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	app, ord := ch.Groups["Application"], ch.Groups["Orderer"]
	var wantApp, wantOrd []string
	for _, s := range shares {
		wantApp, wantOrd = append(wantApp, s.MSPID), append(wantOrd, s.OrdererMSPID)
	}
	if got := sortedKeys(app.Groups); !slices.Equal(got, sorted(wantApp)) {
		bad("application organisations %v, want %v", got, sorted(wantApp))
	}
	if got := sortedKeys(ord.Groups); !slices.Equal(got, sorted(wantOrd)) {
		bad("orderer organisations %v, want %v", got, sorted(wantOrd))
	}
	var consenters []string
	for _, c := range ord.Values["ConsensusType"].Value.Metadata.Consenters {
		consenters = append(consenters, fmt.Sprintf("%s:%d %s", c.Host, c.Port, decodeB64(c.ServerTLSCert)))
	}
	var wantConsenters []string
	for _, s := range shares {
		tlsCert, err := os.ReadFile(s.ordererTLSCert())
		if err != nil {
			return err
		}
		wantConsenters = append(wantConsenters, s.OrdererCluster+" "+string(tlsCert))
		checkMSP(bad, app.Groups[s.MSPID], s.MSPID, s.mspDir())
		checkMSP(bad, ord.Groups[s.OrdererMSPID], s.OrdererMSPID, s.ordererMSPDir())
		var anchors []string
		for _, a := range app.Groups[s.MSPID].Values["AnchorPeers"].Value.AnchorPeers {
			anchors = append(anchors, fmt.Sprintf("%s:%d", a.Host, a.Port))
		}
		if !slices.Equal(anchors, []string{s.AnchorPeer}) {
			bad("%s: anchor peers %v, want [%s]", s.MSPID, anchors, s.AnchorPeer)
		}
		if got := ord.Groups[s.OrdererMSPID].Values["Endpoints"].Value.Addresses; !slices.Equal(got, []string{s.Orderer}) {
			bad("%s: orderer endpoints %v, want [%s]", s.OrdererMSPID, got, s.Orderer)
		}
	}
	if !slices.Equal(sorted(consenters), sorted(wantConsenters)) {
		bad("the Raft consenters are not the three orderers of the shares (host:port and TLS certificate)")
	}
	for _, p := range []string{"Endorsement", "LifecycleEndorsement"} {
		if r := app.Policies[p].Policy.Value; string(r.Rule) != `"MAJORITY"` || r.SubPolicy != "Endorsement" {
			bad("application policy %s is %s %s, want MAJORITY Endorsement", p, r.Rule, r.SubPolicy)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("genesis block %s does not define the agreed channel:\n  %s", block, strings.Join(problems, "\n  "))
	}
	return nil
}

// checkMSP compares an MSP definition in the block with a share's MSP directory.
func checkMSP(bad func(string, ...any), g configGroup, mspID, dir string) {
	m := g.Values["MSP"].Value.Config
	if m.Name != mspID {
		bad("%s: MSP name %q", mspID, m.Name)
	}
	for _, f := range []struct {
		what, file string
		got        []string
	}{
		{"root certificates", filepath.Join(dir, "cacerts", "ca.pem"), m.RootCerts},
		{"TLS root certificates", filepath.Join(dir, "tlscacerts", "tlsca.pem"), m.TLSRootCerts},
	} {
		want, err := os.ReadFile(f.file)
		if err != nil {
			bad("%s: %v", mspID, err)
			continue
		}
		if len(f.got) != 1 || decodeB64(f.got[0]) != string(want) {
			bad("%s: %s are not those of its share", mspID, f.what)
		}
	}
}

// inspectedBlock is the part of `configtxgen -inspectBlock`'s JSON that
// CheckGenesis reads.
type inspectedBlock struct {
	Data struct {
		Data []struct {
			Payload struct {
				Header struct {
					ChannelHeader struct {
						ChannelID string `json:"channel_id"`
					} `json:"channel_header"`
				} `json:"header"`
				Data struct {
					Config struct {
						ChannelGroup configGroup `json:"channel_group"`
					} `json:"config"`
				} `json:"data"`
			} `json:"payload"`
		} `json:"data"`
	} `json:"data"`
}

type configGroup struct {
	Groups   map[string]configGroup `json:"groups"`
	Values   map[string]configValue `json:"values"`
	Policies map[string]struct {
		Policy struct {
			Value struct {
				// A string for an implicit meta policy ("MAJORITY"), an
				// object for a signature policy.
				Rule      json.RawMessage `json:"rule"`
				SubPolicy string          `json:"sub_policy"`
			} `json:"value"`
		} `json:"policy"`
	} `json:"policies"`
}

type configValue struct {
	Value struct {
		Config struct {
			Name         string   `json:"name"`
			RootCerts    []string `json:"root_certs"`
			TLSRootCerts []string `json:"tls_root_certs"`
		} `json:"config"`
		AnchorPeers []struct {
			Host string `json:"host"`
			Port int    `json:"port"`
		} `json:"anchor_peers"`
		Addresses []string `json:"addresses"`
		Metadata  struct {
			Consenters []struct {
				Host          string `json:"host"`
				Port          int    `json:"port"`
				ServerTLSCert string `json:"server_tls_cert"`
			} `json:"consenters"`
		} `json:"metadata"`
	} `json:"value"`
}

func decodeB64(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
