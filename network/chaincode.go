package network

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// ChaincodeInfo describes the chaincode definition committed on the channel.
type ChaincodeInfo struct {
	Name       string `json:"name"`       // ChaincodeName
	Sequence   int64  `json:"sequence"`   // definition sequence, from 1
	Label      string `json:"label"`      // package label, e2l_<sequence>
	PackageID  string `json:"packageId"`  // <label>:<sha256 of the package>; the servers' CHAINCODE_ID
	Package    string `json:"package"`    // path of the package file
	BinaryHash string `json:"binaryHash"` // sha256 of the chaincode server binary packaged
}

// chaincodeQuery is the readiness query: the contract API's metadata
// function answers on any contract-api chaincode.
const chaincodeQuery = `{"Args":["org.hyperledger.fabric:GetMetadata"]}`

func (c Config) chaincodeNode(o Org, packageID string) node {
	tlsDir := c.serviceTLSDir(o, "chaincode")
	return node{
		name: chaincodeNode(o),
		bin:  c.ChaincodeBin,
		env: []string{
			"CHAINCODE_ID=" + packageID,
			"CHAINCODE_SERVER_ADDRESS=" + addr(c.port(slotChaincode, o.index(), offMain)),
			"CHAINCODE_TLS_CERT=" + filepath.Join(tlsDir, "server.crt"),
			"CHAINCODE_TLS_KEY=" + filepath.Join(tlsDir, "server.key"),
			"CHAINCODE_TLS_CLIENT_CA=" + c.peerTLSCA(o),
		},
		dir:   c.path(),
		ports: []int{c.port(slotChaincode, o.index(), offMain)},
	}
}

// writePackage writes the chaincode package of a sequence: metadata.json of
// type ccaas and a code.tar.gz holding only the server binary's hash (the
// peer never runs it), and returns its description.
func (c Config) writePackage(seq int64) (ChaincodeInfo, error) {
	info := ChaincodeInfo{Name: ChaincodeName, Sequence: seq, Label: fmt.Sprintf("%s_%d", ChaincodeName, seq)}
	var err error
	if info.BinaryHash, err = fileSHA256(c.ChaincodeBin); err != nil {
		return info, fmt.Errorf("chaincode package: %w", err)
	}
	pkg, id, err := CCaaSPackage(info.Label, map[string][]byte{"binary.sha256": []byte(info.BinaryHash + "\n")})
	if err != nil {
		return info, err
	}
	info.PackageID = id
	info.Package = c.path("chaincode", info.Label+".tar.gz")
	if err := os.MkdirAll(filepath.Dir(info.Package), 0o755); err != nil {
		return info, err
	}
	if err := os.WriteFile(info.Package, pkg, 0o644); err != nil {
		return info, fmt.Errorf("chaincode package: %w", err)
	}
	return info, nil
}

// CCaaSPackage makes a chaincode-as-a-service package: metadata.json of type
// ccaas with the label, and code.tar.gz holding the files of code (what
// identifies the chaincode's code: the peer never runs it). The same label
// and code give the same bytes, so the same package ID
// (<label>:<sha256 of the package>), on every machine.
func CCaaSPackage(label string, code map[string][]byte) (pkg []byte, packageID string, err error) {
	codeTar, err := tarGz(code)
	if err != nil {
		return nil, "", err
	}
	meta, err := json.Marshal(map[string]string{"type": "ccaas", "label": label, "path": ""})
	if err != nil {
		return nil, "", err
	}
	pkg, err = tarGz(map[string][]byte{"metadata.json": meta, "code.tar.gz": codeTar})
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(pkg)
	return pkg, label + ":" + hex.EncodeToString(sum[:]), nil
}

// tarGz makes a deterministic gzipped tar of files, in name order.
func tarGz(files map[string][]byte) ([]byte, error) {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	// metadata.json first, as the peer CLI writes it; others sorted.
	slices.SortFunc(names, func(a, b string) int {
		if (a == "metadata.json") != (b == "metadata.json") {
			if a == "metadata.json" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// deployChaincode packages the chaincode as sequence seq, installs the
// package on every peer, approves the definition for every org, commits it,
// restarts the chaincode servers with the new package ID and waits until
// every peer answers a query.
func (c Config) deployChaincode(ctx context.Context, seq int64, progress func(string, ...any)) (ChaincodeInfo, error) {
	info, err := c.writePackage(seq)
	if err != nil {
		return info, err
	}
	progress("chaincode package %s", info.PackageID)
	if err := eachOrg(ctx, func(ctx context.Context, o Org) error {
		_, err := c.peerCLI(ctx, o, "lifecycle", "chaincode", "install", info.Package)
		if err != nil && !strings.Contains(err.Error(), "already successfully installed") {
			return c.nodeError(peerNode(o), fmt.Errorf("install chaincode: %w", err))
		}
		return nil
	}); err != nil {
		return info, err
	}
	progress("chaincode installed on %d peers", len(Orgs()))
	def := []string{"--channelID", ChannelName, "--name", ChaincodeName,
		"--version", strconv.FormatInt(seq, 10), "--sequence", strconv.FormatInt(seq, 10)}
	if err := eachOrg(ctx, func(ctx context.Context, o Org) error {
		args := append([]string{"lifecycle", "chaincode", "approveformyorg", "--package-id", info.PackageID,
			"--waitForEventTimeout", "60s"}, def...)
		if _, err := c.ordererTx(ctx, o, args...); err != nil {
			return c.nodeError(peerNode(o), fmt.Errorf("approve chaincode: %w", err))
		}
		return nil
	}); err != nil {
		return info, err
	}
	progress("chaincode approved by %d orgs", len(Orgs()))
	args := append([]string{"lifecycle", "chaincode", "commit", "--waitForEventTimeout", "60s"}, def...)
	for _, o := range Orgs() {
		args = append(args, "--peerAddresses", addr(c.port(slotPeer, o.index(), offMain)), "--tlsRootCertFiles", c.peerTLSCA(o))
	}
	// The servers of the old definition stop before the new one is
	// committed: a server whose CHAINCODE_ID is not the committed package ID
	// makes endorsements hang, a stopped one makes them fail fast.
	if err := eachOrg(ctx, func(ctx context.Context, o Org) error {
		return c.stop(ctx, c.chaincodeNode(o, ""))
	}); err != nil {
		return info, err
	}
	if _, err := c.ordererTx(ctx, Provider, args...); err != nil {
		return info, fmt.Errorf("commit chaincode: %w", err)
	}
	progress("chaincode sequence %d committed", seq)
	if err := eachOrg(ctx, func(ctx context.Context, o Org) error {
		return c.restartChaincode(ctx, o, info.PackageID)
	}); err != nil {
		return info, err
	}
	progress("chaincode servers started")
	if err := c.awaitReady(ctx); err != nil {
		return info, err
	}
	progress("chaincode answering on every peer, every gateway endorsing")
	return info, nil
}

// restartChaincode (re)starts o's chaincode server with packageID.
func (c Config) restartChaincode(ctx context.Context, o Org, packageID string) error {
	n := c.chaincodeNode(o, packageID)
	if err := c.stop(ctx, n); err != nil {
		return err
	}
	if err := c.start(n); err != nil {
		return err
	}
	return c.awaitUp(ctx, n, 30*time.Second)
}

// awaitChaincode waits until o's peer answers a chaincode query.
func (c Config) awaitChaincode(ctx context.Context, o Org, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := poll(ctx, 250*time.Millisecond, func() (bool, error) {
		for _, n := range []string{peerNode(o), chaincodeNode(o)} {
			if !c.running(n) {
				return false, c.nodeError(n, errors.New("exited"))
			}
		}
		_, err := c.peerCLI(ctx, o, "chaincode", "query", "-C", ChannelName, "-n", ChaincodeName, "-c", chaincodeQuery)
		return err == nil, retry(err)
	})
	if err != nil {
		return c.nodeError(chaincodeNode(o), fmt.Errorf("chaincode query on %s: %w", peerNode(o), err))
	}
	return nil
}

// committedSequence reads the sequence of the chaincode definition on the channel (0 if none).
func (c Config) committedSequence(ctx context.Context, o Org) (int64, error) {
	out, err := c.peerCLI(ctx, o, "lifecycle", "chaincode", "querycommitted", "-C", ChannelName, "-n", ChaincodeName, "-O", "json")
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return 0, nil
		}
		return 0, fmt.Errorf("query committed chaincode: %w", err)
	}
	var def struct {
		Sequence int64 `json:"sequence"`
	}
	if err := json.Unmarshal(out, &def); err != nil {
		return 0, fmt.Errorf("query committed chaincode: %w", err)
	}
	return def.Sequence, nil
}

// eachOrg runs f for every organisation concurrently and joins the errors.
func eachOrg(ctx context.Context, f func(context.Context, Org) error) error {
	g, ctx := errgroup.WithContext(ctx)
	errs := make([]error, len(Orgs()))
	for i, o := range Orgs() {
		g.Go(func() error {
			errs[i] = f(ctx, o)
			return errs[i]
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

// fileSHA256 returns the hex SHA-256 of a file's content.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
