package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/e2l-project/e2l/internal/query"
	"github.com/e2l-project/e2l/internal/usagereport"
)

// connFlags are the connection settings: flags, then E2L_* variables, then
// the --env-file (collector.env format), in that order of precedence.
type connFlags struct {
	envFile   string
	mspID     string
	cert      string
	key       string
	endpoints string
	tlsCA     string
	channel   string
	chaincode string
	timeout   time.Duration
	maxRecv   int
}

func (f *connFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.envFile, "env-file", "", "KEY=value file with E2L_* settings (e.g. .e2l/network/hosts/<host>/collector.env) [E2L_ENV_FILE]")
	fs.StringVar(&f.mspID, "msp-id", "", "MSP ID of the identity [E2L_MSP_ID]")
	fs.StringVar(&f.cert, "cert", "", "PEM certificate of any channel member identity [E2L_CERT]")
	fs.StringVar(&f.key, "key", "", "PEM private key of that identity [E2L_KEY]")
	fs.StringVar(&f.endpoints, "peer-endpoints", "", "comma-separated peer Gateway endpoints host:port, tried in order [E2L_PEER_ENDPOINTS]")
	fs.StringVar(&f.tlsCA, "peer-tls-ca", "", "PEM file with the peers' TLS root CAs [E2L_PEER_TLS_CA]")
	fs.StringVar(&f.channel, "channel", "", "channel (default e2l) [E2L_CHANNEL]")
	fs.StringVar(&f.chaincode, "chaincode", "", "chaincode (default e2l) [E2L_CHAINCODE]")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each query")
	fs.IntVar(&f.maxRecv, "max-recv-bytes", query.DefaultMaxRecvBytes, "largest message accepted from a peer; must exceed the channel's largest block (AbsoluteMaxBytes)")
}

// config resolves the connection settings.
func (f *connFlags) config(getenv func(string) string) (query.Config, error) {
	file := map[string]string{}
	path := f.envFile
	if path == "" {
		path = getenv("E2L_ENV_FILE")
	}
	if path != "" {
		fh, err := os.Open(path)
		if err != nil {
			return query.Config{}, fmt.Errorf("env file: %w", err)
		}
		file, err = parseEnvFile(fh)
		_ = fh.Close()
		if err != nil {
			return query.Config{}, fmt.Errorf("env file %s: %w", path, err)
		}
	}
	pick := func(flag, key, def string) string {
		switch {
		case flag != "":
			return flag
		case getenv(key) != "":
			return getenv(key)
		case file[key] != "":
			return file[key]
		}
		return def
	}
	cfg := query.Config{
		MSPID:        pick(f.mspID, "E2L_MSP_ID", ""),
		CertFile:     pick(f.cert, "E2L_CERT", ""),
		KeyFile:      pick(f.key, "E2L_KEY", ""),
		TLSCAFile:    pick(f.tlsCA, "E2L_PEER_TLS_CA", ""),
		Channel:      pick(f.channel, "E2L_CHANNEL", "e2l"),
		Chaincode:    pick(f.chaincode, "E2L_CHAINCODE", "e2l"),
		Timeout:      f.timeout,
		MaxRecvBytes: f.maxRecv,
	}
	for _, ep := range strings.Split(pick(f.endpoints, "E2L_PEER_ENDPOINTS", ""), ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			cfg.Endpoints = append(cfg.Endpoints, ep)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{fmt.Errorf("%w: set them with flags, E2L_* variables or --env-file", err)}
	}
	return cfg, nil
}

// parseEnvFile reads KEY=value lines; blank lines and # comments are
// skipped, values may be quoted.
func parseEnvFile(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("line %d: want KEY=value", n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			if v[0] == '"' {
				uq, err := strconv.Unquote(v)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", n, err)
				}
				v = uq
			} else {
				v = v[1 : len(v)-1]
			}
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, sc.Err()
}

// usageError marks bad flags or arguments (exit code 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// failedError marks a verification that found problems, already reported
// (exit code 1, nothing more printed).
var errFailed = errors.New("verification failed")

// parseTime reads a time bound: RFC 3339, a date (2006-01-02), unix
// nanoseconds, "now", or a duration before now ("90m", "24h") — as the web
// view reads its periods (usagereport.ParseTime).
func parseTime(s string, now time.Time) (int64, error) { return usagereport.ParseTime(s, now) }
