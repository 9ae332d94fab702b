// Package testimage makes the small image that the integration tests, the
// benchmarks and the demo run. No registry is reachable, so it is imported
// locally from Debian's busybox-static (/bin/busybox and a few applet links).
package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
)

// Name is the image's reference.
const Name = "e2l-busybox:test"

// applets are linked to /bin/busybox in the image.
var applets = []string{"sh", "sleep", "true", "false", "echo", "cat", "ls", "kill"}

// Ensure imports the image into the Docker Engine at dockerHost ("" for the
// one the environment names) unless it is already there.
func Ensure(ctx context.Context, dockerHost string) error {
	if command(ctx, dockerHost, "image", "inspect", Name).Run() == nil {
		return nil
	}
	rootfs, err := rootFS()
	if err != nil {
		return err
	}
	imp := command(ctx, dockerHost, "import", "--change", `CMD ["/bin/sh"]`, "-", Name)
	imp.Stdin = rootfs
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import %s: %w: %s", Name, err, out)
	}
	return nil
}

// rootFS is the image's root file system as a tar stream.
func rootFS() (*bytes.Buffer, error) {
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("read busybox (install Debian's busybox-static): %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "tmp/", "etc/", "proc/", "sys/", "dev/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	for _, a := range applets {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
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
