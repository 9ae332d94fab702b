// Command e2l-ccaas-builder is the external builder of e2l's peer image:
// Fabric runs <builder>/bin/detect, build and release, which the image
// provides as copies of this one static program (it has no shell for the
// scripts of network/builder.go). It acts by the name it is run as, or by
// its first argument:
//
//	detect  SOURCE METADATA   exit 0 for a ccaas package, 1 for any other
//	build   SOURCE METADATA OUTPUT
//	release BUILD_OUTPUT RELEASE_OUTPUT   installs $E2L_CCAAS_CONNECTION
//
// internal/ccaas holds the steps.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/e2l-project/e2l/internal/buildinfo"
	"github.com/e2l-project/e2l/internal/ccaas"
)

// Exit codes.
const (
	exitOK    = 0
	exitNo    = 1 // failed, or (detect) not claimed
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args, os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	step, rest := filepath.Base(args[0]), args[1:]
	if step != "detect" && step != "build" && step != "release" && len(rest) > 0 {
		step, rest = rest[0], rest[1:]
	}
	var err error
	switch {
	case step == "--version" || step == "version":
		fmt.Fprintln(stdout, buildinfo.Get("e2l-ccaas-builder"))
		return exitOK
	case step == "detect" && len(rest) == 2:
		err = ccaas.Detect(rest[1])
		if errors.Is(err, ccaas.ErrNotClaimed) {
			return exitNo // not an error: another builder may claim it
		}
	case step == "build" && len(rest) == 3:
		err = ccaas.Build(rest[0], rest[2])
	case step == "release" && len(rest) == 2:
		err = ccaas.Release(getenv(ccaas.ConnectionEnv), rest[1])
	default:
		fmt.Fprintln(stderr, "usage: detect SOURCE METADATA | build SOURCE METADATA OUTPUT | release BUILD_OUTPUT RELEASE_OUTPUT")
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "e2l-ccaas-builder: %v\n", err)
		return exitNo
	}
	return exitOK
}
