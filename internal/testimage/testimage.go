// Package testimage makes the small image that the integration tests, the
// benchmarks and the demo run. No registry is reachable and no OS package
// is needed: the image holds one static program of the project's own
// (./testbox: sleep, true, false, echo), built with the Go toolchain and
// imported FROM scratch.
package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Name is the image's reference.
const Name = "e2l-testbox:test"

// Package is the import path of the image's program.
const Package = "github.com/e2l-project/e2l/internal/testimage/testbox"

// applets are linked to /bin/testbox in the image.
var applets = []string{"sleep", "true", "false", "echo"}

// Ensure imports the image into the Docker Engine at dockerHost ("" for the
// one the environment names) unless it is already there. It builds the
// program with the go command, so it runs inside the e2l module (tests,
// benchmarks, make targets).
func Ensure(ctx context.Context, dockerHost string) error {
	if command(ctx, dockerHost, "image", "inspect", Name).Run() == nil {
		return nil
	}
	bin, err := build(ctx)
	if err != nil {
		return err
	}
	rootfs, err := rootFS(bin)
	if err != nil {
		return err
	}
	imp := command(ctx, dockerHost, "import", "--change", `CMD ["/bin/sleep", "infinity"]`, "-", Name)
	imp.Stdin = rootfs
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import %s: %w: %s", Name, err, out)
	}
	return nil
}

// build compiles the program statically for the Engine's usual platform
// (this machine's architecture, Linux).
func build(ctx context.Context) ([]byte, error) {
	dir, err := os.MkdirTemp("", "e2l-testbox-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "testbox")
	gobin := "go"
	if g := os.Getenv("GO"); g != "" {
		gobin = g
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, Package)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the test image's program (%s): %w: %s", Package, err, b)
	}
	return os.ReadFile(out)
}

// rootFS is the image's root file system as a tar stream: bin/testbox and
// its applet links, and the directories a container expects.
func rootFS(bin []byte) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "tmp/", "etc/", "proc/", "sys/", "dev/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/testbox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	for _, a := range applets {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "testbox", Mode: 0o777}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

func command(ctx context.Context, dockerHost string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = os.Environ()
	if dockerHost != "" {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+dockerHost)
	}
	return cmd
}
