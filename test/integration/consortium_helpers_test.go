//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e2l-project/e2l/network"
)

// The consortium of deploy/consortium on a Swarm of private daemons: each
// organisation's admin runs deploy/consortium/org.sh in a directory of its
// own, and the organisations exchange only their shares, the genesis block
// and the package IDs they compare.

// consortiumImages are the images the test builds with make under its own names.
type consortiumImages struct {
	peer, orderer, ca, chaincode, collector string
}

func (i consortiumImages) all() []string {
	return []string{i.peer, i.orderer, i.ca, i.chaincode, i.collector}
}

// imageBuild is the build of the five images (make image-collector
// image-chaincode image-fabric: static binaries, FROM scratch) under test
// names into the machine's Engine, saved to one archive for the nodes. It
// runs beside the nodes' start; the images are removed from the machine's
// Engine when the test ends, after the build.
type imageBuild struct {
	images  consortiumImages
	archive string
	took    time.Duration
	err     error
	done    chan struct{}
}

func startImageBuild(t *testing.T, root string) *imageBuild {
	tag := fmt.Sprintf("itc-%d", os.Getpid())
	b := &imageBuild{done: make(chan struct{}), images: consortiumImages{
		peer: "e2l-fabric-peer-itc:" + tag, orderer: "e2l-fabric-orderer-itc:" + tag, ca: "e2l-fabric-ca-itc:" + tag,
		chaincode: "e2l-chaincode-itc:" + tag, collector: "e2l-collector-itc:" + tag,
	}}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(func() {
		cancel()
		<-b.done
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var refs []string
		for _, ref := range b.images.all() {
			refs = append(refs, ref, strings.Split(ref, ":")[0]+":latest")
		}
		_, _ = docker(ctx, "", append([]string{"image", "rm"}, refs...)...)
	})
	go func() {
		defer close(b.done)
		start := time.Now()
		cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-j5", "image-collector", "image-chaincode", "image-fabric",
			"IMAGE_TAG="+tag, "IMAGE_CTX="+filepath.Join(dir, "ctx"),
			"COLLECTOR_IMAGE=e2l-collector-itc", "CHAINCODE_IMAGE=e2l-chaincode-itc",
			"FABRIC_PEER_IMAGE=e2l-fabric-peer-itc", "FABRIC_ORDERER_IMAGE=e2l-fabric-orderer-itc", "FABRIC_CA_IMAGE=e2l-fabric-ca-itc")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("make images: %w\n%s", err, out)
			return
		}
		b.archive = filepath.Join(dir, "images.tar")
		if out, err := dockerCmd(ctx, "", append([]string{"save", "-o", b.archive}, b.images.all()...)...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("docker save: %w: %s", err, out)
		}
		b.took = time.Since(start)
	}()
	return b
}

// wait waits for the build and fails the test if it failed.
func (b *imageBuild) wait(t *testing.T) {
	t.Helper()
	<-b.done
	if b.err != nil {
		t.Fatal(b.err)
	}
}

// loadImages loads the archive into every node's daemon, concurrently.
func loadImages(t *testing.T, nodes []*swarmNode, archive string) {
	t.Helper()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			if out, err := dockerCmd(ctx, n.d.host, "load", "-q", "-i", archive).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("docker load on %s: %w: %s", n.name, err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// consortiumOrg is one organisation: its directory, its node, and the
// relays by which its admin (this test) reaches its nodes' published ports.
type consortiumOrg struct {
	org   network.Org
	dir   string
	node  *swarmNode
	relay map[int]string // container port → 127.0.0.1:<port> on this machine
}

// consortiumEnv is what org.sh needs besides its command line.
type consortiumEnv struct {
	root, fabricBin, e2lnet, e2l string
	manager                      *swarmNode
	images                       consortiumImages
}

// orgSh runs deploy/consortium/org.sh as o's admin: against the Swarm's
// manager, its nodes reached through the relays (their certificates name
// 127.0.0.1 besides their DNS names). It fails the test on error.
func (e consortiumEnv) orgSh(t *testing.T, o *consortiumOrg, args ...string) string {
	t.Helper()
	out, err := e.orgShErr(t, o, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// orgShErr is orgSh with the error returned and, when dockerHost is not
// empty, another daemon than the manager.
func (e consortiumEnv) orgShErr(t *testing.T, o *consortiumOrg, dockerHost string, args ...string) (string, error) {
	if dockerHost == "" {
		dockerHost = e.manager.d.host
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.root, "deploy", "consortium", "org.sh"), append([]string{o.dir}, args...)...)
	cmd.Env = append(os.Environ(),
		"FABRIC_BIN="+e.fabricBin, "E2LNET="+e.e2lnet, "E2L_CLI="+e.e2l, "DOCKER_HOST="+dockerHost, "E2L_TIMEOUT=120",
		"E2L_FABRIC_PEER_IMAGE="+e.images.peer, "E2L_FABRIC_ORDERER_IMAGE="+e.images.orderer,
		"E2L_FABRIC_CA_IMAGE="+e.images.ca, "E2L_CHAINCODE_IMAGE="+e.images.chaincode)
	if o.relay != nil {
		cmd.Env = append(cmd.Env,
			"E2L_PEER_ADDRESS="+o.relay[network.SwarmPeerPort], "E2L_ORDERER_ADDRESS="+o.relay[network.SwarmOrdererPort],
			"E2L_ORDERER_ADMIN_ADDRESS="+o.relay[network.SwarmOrdererAdminPort], "E2L_CA_ADDRESS="+o.relay[network.SwarmCAPort])
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: org.sh %s: %w\n%s", o.org, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// eachConsortiumOrg runs f for every organisation concurrently and fails
// the test with their errors.
func eachConsortiumOrg(t *testing.T, orgs []*consortiumOrg, f func(o *consortiumOrg) error) {
	t.Helper()
	errs := make([]error, len(orgs))
	var wg sync.WaitGroup
	for i, o := range orgs {
		wg.Go(func() { errs[i] = f(o) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// relayOrgPorts relays the ports o's admin uses (peer, orderer, orderer
// admin, CA), published on o's node, to 127.0.0.1 of this machine,
// dialing them from the manager's network namespace.
func relayOrgPorts(t *testing.T, o *consortiumOrg, manager *swarmNode) {
	t.Helper()
	o.relay = map[int]string{}
	for _, p := range []int{network.SwarmPeerPort, network.SwarmOrdererPort, network.SwarmOrdererAdminPort, network.SwarmCAPort} {
		o.relay[p] = swarmRelayVia(t, "127.0.0.1", o.node.ip+":"+strconv.Itoa(p), netnsDialer(manager.d.ns))
	}
}

// removeStacks removes each group of stacks in turn, the stacks of a group
// at once, and waits until their containers are gone from every node (the
// collectors first: they drain their spools while the peers still run).
func removeStacks(t *testing.T, manager *swarmNode, nodes []*swarmNode, groups ...[]string) {
	for _, stacks := range groups {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if _, err := docker(ctx, manager.d.host, append([]string{"stack", "rm"}, stacks...)...); err != nil {
			t.Logf("docker stack rm %v: %v", stacks, err)
		}
		for _, n := range nodes {
			for _, st := range stacks {
				for ctx.Err() == nil {
					ids, err := docker(ctx, n.d.host, "ps", "-q", "--filter", "label=com.docker.stack.namespace="+st)
					if err != nil || ids == "" {
						break
					}
					time.Sleep(500 * time.Millisecond)
				}
			}
		}
		cancel()
	}
}

// awaitServiceRunning waits until a service's tasks meant to run are all
// running, their containers healthy (or without a health check) on their
// nodes if healthy, and returns the containers by node.
func awaitServiceRunning(t *testing.T, manager *swarmNode, nodes []*swarmNode, service string, want int, healthy bool, timeout time.Duration) map[*swarmNode]string {
	t.Helper()
	var got map[*swarmNode]string
	eventually(t, timeout, 500*time.Millisecond, func() (err error) {
		got, err = serviceContainers(t.Context(), manager, nodes, service, want, healthy)
		return err
	})
	return got
}

// serviceContainers returns the containers of a service's tasks by node if
// want tasks are meant to run, all running with a running container,
// healthy (or without a health check) if healthy; else an error saying
// what is not.
func serviceContainers(ctx context.Context, manager *swarmNode, nodes []*swarmNode, service string, want int, healthy bool) (map[*swarmNode]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	byID := map[string]*swarmNode{}
	for _, n := range nodes {
		byID[n.nodeID] = n
	}
	out, err := docker(ctx, manager.d.host, "service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", service)
	if err != nil {
		return nil, err
	}
	tasks := strings.Fields(out)
	if len(tasks) != want {
		return nil, fmt.Errorf("%s: %d tasks meant to run, want %d", service, len(tasks), want)
	}
	out, err = docker(ctx, manager.d.host, append([]string{"inspect", "--format",
		"{{.NodeID}} {{.Status.State}} {{.Status.ContainerStatus.ContainerID}}"}, tasks...)...)
	if err != nil {
		return nil, err
	}
	got := map[*swarmNode]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[1] != "running" || byID[f[0]] == nil {
			return nil, fmt.Errorf("%s: task %q, want running on a node of the test", service, line)
		}
		n := byID[f[0]]
		state, err := docker(ctx, n.d.host, "inspect", "--format", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", f[2])
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(state, "running") || healthy && state != "running healthy" && state != "running" {
			return nil, fmt.Errorf("%s: container %.12s on %s is %s", service, f[2], n.name, state)
		}
		got[n] = f[2]
	}
	return got, nil
}

// consortiumLogs logs the services' tasks and the last lines of their logs.
func consortiumLogs(t *testing.T, manager *swarmNode) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ls, _ := dockerCmd(ctx, manager.d.host, "service", "ls").CombinedOutput()
	t.Logf("docker service ls:\n%s", ls)
	for _, svc := range strings.Fields(mustDockerQuiet(ctx, manager.d.host, "service", "ls", "--format", "{{.Name}}")) {
		ps, _ := dockerCmd(ctx, manager.d.host, "service", "ps", "--no-trunc", svc).CombinedOutput()
		logs, _ := dockerCmd(ctx, manager.d.host, "service", "logs", "--raw", "--tail", "30", svc).CombinedOutput()
		t.Logf("%s:\n%s\n%s", svc, ps, logs)
	}
}

func mustDockerQuiet(ctx context.Context, host string, args ...string) string {
	out, _ := docker(ctx, host, args...)
	return out
}
