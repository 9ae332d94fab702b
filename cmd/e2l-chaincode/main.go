// Command e2l-chaincode runs the e2l contract as a chaincode-as-a-service
// server: the peer dials it at CHAINCODE_SERVER_ADDRESS.
//
// Environment:
//
//	CHAINCODE_ID              package ID as installed on the peer (required)
//	CHAINCODE_SERVER_ADDRESS  host:port to listen on (required)
//	CHAINCODE_TLS_CERT        PEM server certificate  } TLS is on when both
//	CHAINCODE_TLS_KEY         PEM server private key  } are set
//	CHAINCODE_TLS_CLIENT_CA   PEM CA of peer client certificates; when set,
//	                          client certificates are required (needs TLS)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/buildinfo"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the server failed
	exitConfig = 2 // the environment is incomplete or wrong
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println(buildinfo.Get("e2l-chaincode"))
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Getenv)
	stop()
	os.Exit(code)
}

// configError marks errors in the environment.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func run(ctx context.Context, getenv func(string) string) int {
	err := serve(ctx, getenv)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(os.Stderr, "e2l-chaincode: %v\n", err)
	if _, ok := errors.AsType[*configError](err); ok {
		return exitConfig
	}
	return exitFailed
}

// config is the server's configuration, read from the environment.
type config struct {
	ccID, address string
	tls           shim.TLSProperties
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{ccID: getenv("CHAINCODE_ID"), address: getenv("CHAINCODE_SERVER_ADDRESS")}
	var missing []string
	if c.ccID == "" {
		missing = append(missing, "CHAINCODE_ID (the chaincode package ID)")
	}
	if c.address == "" {
		missing = append(missing, "CHAINCODE_SERVER_ADDRESS (host:port to listen on)")
	}
	if len(missing) > 0 {
		return c, &configError{fmt.Errorf("missing environment: %s", strings.Join(missing, ", "))}
	}
	certFile, keyFile, caFile := getenv("CHAINCODE_TLS_CERT"), getenv("CHAINCODE_TLS_KEY"), getenv("CHAINCODE_TLS_CLIENT_CA")
	switch {
	case certFile == "" && keyFile == "":
		if caFile != "" {
			return c, &configError{errors.New("CHAINCODE_TLS_CLIENT_CA is set but TLS is off: set CHAINCODE_TLS_CERT and CHAINCODE_TLS_KEY too")}
		}
		c.tls.Disabled = true
		return c, nil
	case certFile == "" || keyFile == "":
		return c, &configError{errors.New("CHAINCODE_TLS_CERT and CHAINCODE_TLS_KEY must be set together")}
	}
	var err error
	if c.tls.Cert, err = readPEM("CHAINCODE_TLS_CERT", certFile); err != nil {
		return c, err
	}
	if c.tls.Key, err = readPEM("CHAINCODE_TLS_KEY", keyFile); err != nil {
		return c, err
	}
	if caFile != "" {
		if c.tls.ClientCACerts, err = readPEM("CHAINCODE_TLS_CLIENT_CA", caFile); err != nil {
			return c, err
		}
	}
	return c, nil
}

func readPEM(name, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &configError{fmt.Errorf("%s: %w", name, err)}
	}
	return b, nil
}

func serve(ctx context.Context, getenv func(string) string) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	cc, err := contractapi.NewChaincode(chaincode.New())
	if err != nil {
		return fmt.Errorf("build chaincode: %w", err)
	}
	server := &shim.ChaincodeServer{CCID: cfg.ccID, Address: cfg.address, CC: cc, TLSProps: cfg.tls}
	// The shim offers no way to stop its server: on a signal the process
	// exits and the peer reconnects to the next instance.
	done := make(chan error, 1)
	go func() { done <- server.Start() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("chaincode server on %s: %w", cfg.address, err)
		}
		return nil
	case <-ctx.Done():
		return nil
	}
}
