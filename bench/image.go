package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
)

// testImage is the image the real-Docker scenarios run. No registry is
// reachable, so it is made locally from Debian's busybox-static (as the
// integration tests do, test/integration/dockerimage_test.go).
const testImage = "e2l-busybox:test"

var busyboxApplets = []string{"sh", "sleep", "true", "false", "echo", "cat", "ls", "kill"}

// ensureTestImage imports testImage into the machine's Docker Engine unless it is there.
func ensureTestImage(ctx context.Context) error {
	if exec.CommandContext(ctx, "docker", "image", "inspect", testImage).Run() == nil {
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
	imp := exec.CommandContext(ctx, "docker", "import", "--change", `CMD ["/bin/sh"]`, "-", testImage)
	imp.Stdin = &buf
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import %s: %w: %s", testImage, err, out)
	}
	return nil
}
