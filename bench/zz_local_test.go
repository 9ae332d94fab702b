//go:build localprof

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/testkit/pgtest"
	"time"

	"github.com/e2l-project/e2l/network"
)

// local: a network of 100k records left running for profiling the indexer.
func TestLocalFill(t *testing.T) {
	ctx := t.Context()
	root, _ := filepath.Abs("..")
	n, err := network.Up(ctx, network.Config{Dir: filepath.Join(root, ".e2l/prof-net2"), PortBase: 19400, BatchTimeout: 500 * time.Millisecond,
		BinDir: filepath.Join(root, ".bin/fabric"), ChaincodeBin: filepath.Join(root, ".bin/bench/e2l-chaincode"), Fresh: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".e2l/prof-work2")
	os.MkdirAll(dir, 0o755)
	r := newE2LRunner(filepath.Join(root, ".bin/bench/e2l"), dir, n)
	if _, _, err := r.run(ctx, "trust"); err != nil {
		t.Fatal(err)
	}
	f, err := newFiller(ctx, n, 10, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.fill(ctx, 100_000); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "args"), []byte(strings.Join(r.conn, "\n")), 0o644)
	fmt.Println(strings.Join(r.conn, " "))
}

func TestLocalPG(t *testing.T) {
	pg, err := pgtest.StartServer("/work/main/.e2l/prof-pg", pgtest.Durable())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	for i, bin := range strings.Fields(os.Getenv("BINS")) {
		dsn, err := pg.CreateDB(fmt.Sprintf("x%d", i))
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("/tmp/prof/ingest.sh", bin, dsn).CombinedOutput()
		fmt.Printf("%s: %s %v\n", bin, out, err)
	}
}
