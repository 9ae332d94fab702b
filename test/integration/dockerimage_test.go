//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// testImage is the image the scenarios run. No registry is reachable, so it
// is made locally from Debian's busybox-static.
const testImage = "e2l-busybox:test"

// busyboxApplets are linked to /bin/busybox in the image.
var busyboxApplets = []string{"sh", "sleep", "true", "false", "echo", "cat", "ls", "kill"}

// ensureTestImage imports testImage into the Docker Engine at dockerHost ("" for
// the machine's own) unless it is already there.
func ensureTestImage(ctx context.Context, dockerHost string) error {
	inspect := dockerCmd(ctx, dockerHost, "image", "inspect", testImage)
	if inspect.Run() == nil {
		return nil
	}
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("read busybox (install Debian's busybox-static): %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "tmp/", "etc/", "proc/", "sys/", "dev/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return err
	}
	if _, err := tw.Write(bin); err != nil {
		return err
	}
	for _, a := range busyboxApplets {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	imp := dockerCmd(ctx, dockerHost, "import", "--change", `CMD ["/bin/sh"]`, "-", testImage)
	imp.Stdin = &buf
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import %s: %w: %s", testImage, err, out)
	}
	return nil
}

// dockerCmd runs the docker CLI against dockerHost ("" for the default).
func dockerCmd(ctx context.Context, dockerHost string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = os.Environ()
	if dockerHost != "" {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+dockerHost)
	}
	return cmd
}

// docker runs the docker CLI and returns its trimmed standard output.
func docker(ctx context.Context, dockerHost string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := dockerCmd(ctx, dockerHost, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
