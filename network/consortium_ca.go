package network

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// The organisation's Fabric CA in the Swarm consortium runs from the
// organisation CA key pair cryptogen made (as in the native network), so the
// identities it enrolls belong to the organisation's MSP. Its image has no
// shell to read a bootstrap password from a secret file into `-b`, so its
// whole configuration, bootstrap identity included, is one file: a Swarm
// secret mounted as fabric-ca-server-config.yaml in its home, a volume (the
// server takes the configuration file's directory as its home: its
// database and idemix keys go there).
const (
	swarmCAHome   = "/var/hyperledger/fabric-ca-server"
	swarmCASecret = "/run/secrets"                      // where the stack mounts the CA's keys
	swarmCAConfig = "/etc/hyperledger/fabric-ca-server" // and its certificates
)

// swarmCATemplate is a fabric-ca-server configuration: only what e2l sets;
// the server's defaults for the rest.
var swarmCATemplate = template.Must(template.New("fabric-ca-server-config.yaml").Option("missingkey=error").Parse(
	`# Written by e2lnet org-init: {{.Org}}'s Fabric CA (a Swarm secret: it holds the
# bootstrap admin's password).
port: {{.Port}}
debug: false
tls:
  enabled: true
  certfile: {{.Configs}}/tls-cert.pem
  keyfile: {{.Secrets}}/ca-tls-key.pem
ca:
  name: {{.Name}}
  certfile: {{.Configs}}/ca-cert.pem
  keyfile: {{.Secrets}}/ca-key.pem
registry:
  # Hosts are enrolled again when their identity is rotated.
  maxenrollments: -1
  identities:
    - name: {{.Admin}}
      pass: {{.Secret}}
      type: client
      affiliation: ""
      attrs:
        hf.Registrar.Roles: "*"
        hf.Registrar.DelegateRoles: "*"
        hf.Registrar.Attributes: "*"
        hf.Revoker: true
        hf.IntermediateCA: true
        hf.GenCRL: true
        hf.AffiliationMgr: true
db:
  type: sqlite3
  datasource: {{.Home}}/fabric-ca-server.db
signing:
  default:
    usage: [digital signature]
    expiry: 8760h
operations:
  listenAddress: 0.0.0.0:{{.OpsPort}}
  tls:
    enabled: false
metrics:
  provider: prometheus
`))

// writeSwarmCAConfig writes nodes/ca/fabric-ca-server-config.yaml (mode
// 0600) and nodes/ca/admin.secret, the bootstrap admin's password that
// the organisation's registrar (deploy/consortium/org.sh enroll-host) uses.
func writeSwarmCAConfig(o Org, dir string) error {
	secret, err := randomSecret()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := swarmCATemplate.Execute(&b, map[string]any{
		"Org": o, "Port": SwarmCAPort, "OpsPort": SwarmCAOpsPort, "Name": caName(o), "Admin": caAdmin,
		"Secret": secret, "Home": swarmCAHome, "Secrets": swarmCASecret, "Configs": swarmCAConfig,
	}); err != nil {
		return fmt.Errorf("CA configuration: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "fabric-ca-server-config.yaml"), b.Bytes(), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "admin.secret"), []byte(secret+"\n"), 0o600)
}
