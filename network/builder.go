package network

import (
	"fmt"
	"os"
	"path/filepath"
)

// The external builder (Fabric's detect/build/release protocol) that runs
// chaincode as a service: it claims packages of type "ccaas" and releases the
// connection.json the peer's environment names (E2L_CCAAS_CONNECTION,
// propagated by core.yaml), so addresses and TLS material stay out of the
// package. There is no run program: the peer dials the chaincode server.
func builderScripts() map[string]string {
	return map[string]string{
		"detect": `#!/bin/sh
# detect SOURCE METADATA: claim e2l's chaincode-as-a-service packages.
grep -q '"type" *: *"ccaas"' "$2/metadata.json"
`,
		"build": `#!/bin/sh
# build SOURCE METADATA OUTPUT: nothing to compile, keep the source.
set -e
cp -R "$1"/. "$3"/
`,
		"release": `#!/bin/sh
# release BUILD_OUTPUT RELEASE_OUTPUT: tell the peer where the server is.
set -e
: "${E2L_CCAAS_CONNECTION:?is not set: the peer must propagate it (core.yaml propagateEnvironment)}"
mkdir -p "$2/chaincode/server"
cp "$E2L_CCAAS_CONNECTION" "$2/chaincode/server/connection.json"
`,
	}
}

func (c Config) writeBuilder() error {
	dir := filepath.Join(c.builderDir(), "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("external builder: %w", err)
	}
	for name, script := range builderScripts() {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			return fmt.Errorf("external builder: %w", err)
		}
	}
	return nil
}
