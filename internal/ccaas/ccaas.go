// Package ccaas is Fabric's external-builder protocol for chaincode as a
// service, as e2l uses it: three steps the peer runs as programs
// <builder>/bin/detect, build and release (Fabric documentation,
// "External Builders and Launchers"). The peer never runs the chaincode; the
// release step tells it where the chaincode server listens.
//
// The address and TLS material of the server are not in the package: the
// release step copies them from a file the peer's environment names
// (ConnectionEnv, listed in core.yaml's propagateEnvironment), so every
// organisation installs the same package, with the same package ID, and
// points its peer at its own server. network/builder.go writes the same
// protocol as shell scripts for the native development network; this is
// the version for images without a shell.
package ccaas

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ConnectionEnv names the environment variable holding the path of the
// connection.json that Release installs.
const ConnectionEnv = "E2L_CCAAS_CONNECTION"

// ErrNotClaimed is Detect's answer for a package of another type.
var ErrNotClaimed = errors.New("not a chaincode-as-a-service package")

// Detect claims a package whose metadata.json (in metadataDir) has type
// "ccaas"; it returns ErrNotClaimed for any other type.
func Detect(metadataDir string) error {
	b, err := os.ReadFile(filepath.Join(metadataDir, "metadata.json"))
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	var meta struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return fmt.Errorf("detect: metadata.json: %w", err)
	}
	if !strings.EqualFold(meta.Type, "ccaas") {
		return fmt.Errorf("%w: type %q", ErrNotClaimed, meta.Type)
	}
	return nil
}

// Build copies the package's source (nothing to compile) into outputDir,
// where Release and the peer's build cache find it.
func Build(sourceDir, outputDir string) error {
	err := filepath.WalkDir(sourceDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(sourceDir, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(outputDir, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, dst)
		}
		return fmt.Errorf("%s: not a regular file or directory", rel)
	})
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	return nil
}

// Connection is the part of Fabric's connection.json that Release checks.
type Connection struct {
	Address     string `json:"address"`
	TLSRequired bool   `json:"tls_required"`
	RootCert    string `json:"root_cert"`
}

// Release installs the connection file as
// <releaseDir>/chaincode/server/connection.json, whose presence makes the
// peer dial the chaincode server. The file must name an address, and a
// root certificate when it requires TLS.
func Release(connectionFile, releaseDir string) error {
	if connectionFile == "" {
		return fmt.Errorf("release: %s is not set: the peer must propagate it (core.yaml chaincode.externalBuilders propagateEnvironment)", ConnectionEnv)
	}
	b, err := os.ReadFile(connectionFile)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	var c Connection
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("release: %s: %w", connectionFile, err)
	}
	if c.Address == "" {
		return fmt.Errorf("release: %s names no address", connectionFile)
	}
	if c.TLSRequired && c.RootCert == "" {
		return fmt.Errorf("release: %s requires TLS but has no root_cert", connectionFile)
	}
	dir := filepath.Join(releaseDir, "chaincode", "server")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "connection.json"), b, 0o600); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return errors.Join(err, out.Close())
	}
	return out.Close()
}
