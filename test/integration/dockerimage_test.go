//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/e2l-project/e2l/internal/testimage"
)

// testImage is the image the scenarios run, made locally (no registry).
const testImage = testimage.Name

// ensureTestImage imports testImage into the Docker Engine at dockerHost ("" for
// the machine's own) unless it is already there.
func ensureTestImage(ctx context.Context, dockerHost string) error {
	return testimage.Ensure(ctx, dockerHost)
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
