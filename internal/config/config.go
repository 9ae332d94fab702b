// Package config is the collector's configuration: one struct filled from
// defaults, an optional YAML or JSON file, E2L_* environment variables and
// command-line flags (later sources win), validated once.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"gopkg.in/yaml.v3"

	"github.com/e2l-project/e2l/internal/dockerwatch"
	"github.com/e2l-project/e2l/internal/record"
)

// Config is the collector's configuration.
type Config struct {
	Host          string   `yaml:"host"`
	MSPID         string   `yaml:"mspId"`
	Cert          string   `yaml:"cert"`
	Key           string   `yaml:"key"`
	PeerEndpoints []string `yaml:"peerEndpoints"`
	PeerTLSCA     string   `yaml:"peerTlsCa"`
	PeerTLSName   string   `yaml:"peerTlsServerName"`
	// OrgCA and ClockURLs are read by `e2l-collector check` only.
	OrgCA     string   `yaml:"orgCa"`
	ClockURLs []string `yaml:"clockUrls"`
	Channel   string   `yaml:"channel"`
	Chaincode string   `yaml:"chaincode"`

	DockerHost        string        `yaml:"dockerHost"`
	EventFilter       string        `yaml:"eventFilter"`
	HeartbeatInterval time.Duration `yaml:"heartbeatInterval"`

	SpoolDir      string `yaml:"spoolDir"`
	SpoolMaxBytes int64  `yaml:"spoolMaxBytes"`

	BatchMax     int           `yaml:"batchMax"`
	BatchDelay   time.Duration `yaml:"batchDelay"`
	MaxInFlight  int           `yaml:"maxInFlight"`
	DrainTimeout time.Duration `yaml:"drainTimeout"`

	Listen      string        `yaml:"listen"`
	ReadyWindow time.Duration `yaml:"readyWindow"`
	LogLevel    string        `yaml:"logLevel"`
	// Preflight runs the checks of `e2l-collector check` before starting;
	// a failure that blocks (internal/preflight) stops the collector.
	Preflight bool `yaml:"preflight"`

	// Derived by Validate.
	Filter dockerwatch.Filter `yaml:"-"`
	Level  zapcore.Level      `yaml:"-"`
}

// Defaults returns the configuration before any source is applied.
// getenv supplies DOCKER_HOST for the Docker endpoint's default.
func Defaults(getenv func(string) string) Config {
	docker := getenv("DOCKER_HOST")
	if docker == "" {
		docker = "unix:///var/run/docker.sock"
	}
	return Config{
		Channel:           "e2l",
		Chaincode:         "e2l",
		DockerHost:        docker,
		EventFilter:       dockerwatch.DefaultFilterSpec,
		HeartbeatInterval: 30 * time.Second,
		SpoolDir:          "/var/lib/e2l-collector",
		SpoolMaxBytes:     256 << 20,
		BatchMax:          100,
		BatchDelay:        200 * time.Millisecond,
		MaxInFlight:       32,
		DrainTimeout:      10 * time.Second,
		Listen:            ":9464",
		ReadyWindow:       2 * time.Minute,
		LogLevel:          "info",
	}
}

// option describes one setting: its flag, its environment variable, and
// how to set it from a string.
type option struct {
	flag, env, usage string
	isBool           bool // --flag alone means --flag=true
	set              func(c *Config, v string) error
	get              func(c *Config) string
}

func str(p func(*Config) *string) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error { *p(c) = v; return nil }, func(c *Config) string { return *p(c) }
}

func dur(p func(*Config) *time.Duration) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("not a duration (e.g. 30s, 5m): %q", v)
			}
			*p(c) = d
			return nil
		}, func(c *Config) string {
			return p(c).String()
		}
}

func integer[T int | int64](p func(*Config) *T) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("not an integer: %q", v)
			}
			*p(c) = T(n)
			return nil
		}, func(c *Config) string {
			return strconv.FormatInt(int64(*p(c)), 10)
		}
}

func list(p func(*Config) *[]string) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			var out []string
			for s := range strings.SplitSeq(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			*p(c) = out
			return nil
		}, func(c *Config) string {
			return strings.Join(*p(c), ",")
		}
}

func boolean(p func(*Config) *bool) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("not a boolean (true, false): %q", v)
			}
			*p(c) = b
			return nil
		}, func(c *Config) string {
			return strconv.FormatBool(*p(c))
		}
}

func opt(flag, env, usage string, sg func() (func(*Config, string) error, func(*Config) string)) option {
	s, g := sg()
	return option{flag: flag, env: env, usage: usage, set: s, get: g}
}

func boolOpt(flag, env, usage string, sg func() (func(*Config, string) error, func(*Config) string)) option {
	o := opt(flag, env, usage, sg)
	o.isBool = true
	return o
}

// flagValue is a setting's flag: its text, applied by the option's set.
type flagValue struct {
	text   string
	isBool bool
}

func (v *flagValue) String() string     { return v.text }
func (v *flagValue) Set(s string) error { v.text = s; return nil }
func (v *flagValue) IsBoolFlag() bool   { return v.isBool }

// options lists every setting in documentation order.
func options() []option {
	return []option{
		opt("host", "E2L_HOST", "host name; must equal the certificate's e2l.host attribute (required)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.Host })
			}),
		opt("msp-id", "E2L_MSP_ID", "MSP ID of the host's organisation, e.g. ProviderMSP (required)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.MSPID })
			}),
		opt("cert", "E2L_CERT", "PEM file of the host's enrolled certificate (required)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.Cert })
			}),
		opt("key", "E2L_KEY", "PEM file of the host's private key (required)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.Key })
			}),
		opt("peer-endpoints", "E2L_PEER_ENDPOINTS", "comma-separated host:port of Gateway peers, own organisation's first (required)",
			func() (func(*Config, string) error, func(*Config) string) {
				return list(func(c *Config) *[]string { return &c.PeerEndpoints })
			}),
		opt("peer-tls-ca", "E2L_PEER_TLS_CA", "PEM file with the TLS root CAs of the peers (required)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.PeerTLSCA })
			}),
		opt("peer-tls-server-name", "E2L_PEER_TLS_SERVER_NAME", "TLS server name to verify for every peer (default: the endpoint's host)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.PeerTLSName })
			}),
		opt("org-ca", "E2L_ORG_CA", "PEM file of the organisation's root CA that issued the certificate (check only: the certificate chain)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.OrgCA })
			}),
		opt("clock-urls", "E2L_CLOCK_URLS", "comma-separated URLs whose HTTP Date header check compares the clock with, e.g. the peers' operations endpoints (check only)",
			func() (func(*Config, string) error, func(*Config) string) {
				return list(func(c *Config) *[]string { return &c.ClockURLs })
			}),
		opt("channel", "E2L_CHANNEL", "Fabric channel",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.Channel })
			}),
		opt("chaincode", "E2L_CHAINCODE", "chaincode name",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.Chaincode })
			}),
		opt("docker-host", "E2L_DOCKER_HOST", "Docker Engine endpoint (default: $DOCKER_HOST, else unix:///var/run/docker.sock)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.DockerHost })
			}),
		opt("event-filter", "E2L_EVENT_FILTER", "events recorded: type=action,...;type=* (see docs/collector.md)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.EventFilter })
			}),
		opt("heartbeat-interval", "E2L_HEARTBEAT_INTERVAL", "interval of heartbeat records",
			func() (func(*Config, string) error, func(*Config) string) {
				return dur(func(c *Config) *time.Duration { return &c.HeartbeatInterval })
			}),
		opt("spool-dir", "E2L_SPOOL_DIR", "directory of the durable spool (spool.db)",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.SpoolDir })
			}),
		opt("spool-max-bytes", "E2L_SPOOL_MAX_BYTES", "bound of the records pending in the spool, bytes; events beyond it are dropped and reported by a gap",
			func() (func(*Config, string) error, func(*Config) string) {
				return integer(func(c *Config) *int64 { return &c.SpoolMaxBytes })
			}),
		opt("batch-max", "E2L_BATCH_MAX", "records per ledger transaction",
			func() (func(*Config, string) error, func(*Config) string) {
				return integer(func(c *Config) *int { return &c.BatchMax })
			}),
		opt("batch-delay", "E2L_BATCH_DELAY", "wait to fill a transaction while others are in flight",
			func() (func(*Config, string) error, func(*Config) string) {
				return dur(func(c *Config) *time.Duration { return &c.BatchDelay })
			}),
		opt("max-in-flight", "E2L_MAX_IN_FLIGHT", "ledger transactions in flight",
			func() (func(*Config, string) error, func(*Config) string) {
				return integer(func(c *Config) *int { return &c.MaxInFlight })
			}),
		opt("drain-timeout", "E2L_DRAIN_TIMEOUT", "on shutdown: wait this long for the spool to empty, then as long for transactions in flight",
			func() (func(*Config, string) error, func(*Config) string) {
				return dur(func(c *Config) *time.Duration { return &c.DrainTimeout })
			}),
		opt("listen", "E2L_LISTEN", "address of the /metrics, /healthz and /readyz endpoints",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.Listen })
			}),
		opt("ready-window", "E2L_READY_WINDOW", "/readyz requires a ledger commit within this window",
			func() (func(*Config, string) error, func(*Config) string) {
				return dur(func(c *Config) *time.Duration { return &c.ReadyWindow })
			}),
		opt("log-level", "E2L_LOG_LEVEL", "debug, info, warn or error",
			func() (func(*Config, string) error, func(*Config) string) {
				return str(func(c *Config) *string { return &c.LogLevel })
			}),
		boolOpt("preflight", "E2L_PREFLIGHT", "run the checks of `e2l-collector check` first; stop when one that waiting cannot fix fails",
			func() (func(*Config, string) error, func(*Config) string) {
				return boolean(func(c *Config) *bool { return &c.Preflight })
			}),
	}
}

// ErrHelp is returned by Load when -h or --help was given.
var ErrHelp = flag.ErrHelp

// Load builds the configuration from defaults, the file named by --config
// or E2L_CONFIG, the environment and the flags, and validates it.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	cfg := Defaults(getenv)
	opts := options()
	fs := flag.NewFlagSet("e2l-collector", flag.ContinueOnError)
	fs.SetOutput(usage)
	file := fs.String("config", getenv("E2L_CONFIG"), "YAML or JSON configuration file (env E2L_CONFIG)")
	vals := make([]*string, len(opts))
	for i, o := range opts {
		v := &flagValue{text: o.get(&cfg), isBool: o.isBool}
		fs.Var(v, o.flag, o.usage+" (env "+o.env+")")
		vals[i] = &v.text
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *file != "" {
		if err := loadFile(*file, &cfg); err != nil {
			return Config{}, err
		}
	}
	var errs []error
	for _, o := range opts {
		if v, ok := lookup(getenv, o.env); ok {
			if err := o.set(&cfg, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", o.env, err))
			}
		}
	}
	fs.Visit(func(f *flag.Flag) {
		for i, o := range opts {
			if o.flag == f.Name {
				if err := o.set(&cfg, *vals[i]); err != nil {
					errs = append(errs, fmt.Errorf("--%s: %w", o.flag, err))
				}
			}
		}
	})
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

// loadFile applies a YAML (or JSON, a subset of YAML) file; unknown keys are
// an error.
func loadFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", filepath.Base(path), err)
	}
	return nil
}

// Validate checks the configuration and derives Filter and Level. Every
// problem is reported, not just the first.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	required := []struct{ name, val string }{
		{"host (E2L_HOST)", c.Host}, {"msp-id (E2L_MSP_ID)", c.MSPID}, {"cert (E2L_CERT)", c.Cert},
		{"key (E2L_KEY)", c.Key}, {"peer-tls-ca (E2L_PEER_TLS_CA)", c.PeerTLSCA}, {"channel (E2L_CHANNEL)", c.Channel},
		{"chaincode (E2L_CHAINCODE)", c.Chaincode}, {"docker-host (E2L_DOCKER_HOST)", c.DockerHost},
		{"spool-dir (E2L_SPOOL_DIR)", c.SpoolDir}, {"listen (E2L_LISTEN)", c.Listen},
	}
	for _, r := range required {
		if r.val == "" {
			bad("%s is required", r.name)
		}
	}
	if c.Host != "" {
		probe := record.Record{V: record.SchemaVersion, Kind: record.KindStart, Host: c.Host, Seq: 1, Prev: record.GenesisPrev,
			Time: 1, Lifecycle: &record.Lifecycle{Version: "v"}}
		if err := probe.Validate(); err != nil {
			bad("host (E2L_HOST) %q is not a valid record host: %v", c.Host, err)
		}
	}
	if len(c.PeerEndpoints) == 0 {
		bad("peer-endpoints (E2L_PEER_ENDPOINTS) is required")
	}
	for _, e := range c.PeerEndpoints {
		if i := strings.LastIndexByte(e, ':'); i <= 0 || i == len(e)-1 {
			bad("peer endpoint %q is not host:port", e)
		}
	}
	if f, err := dockerwatch.ParseFilter(c.EventFilter); err != nil {
		bad("event-filter (E2L_EVENT_FILTER): %v", err)
	} else {
		c.Filter = f
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"heartbeat-interval (E2L_HEARTBEAT_INTERVAL)", c.HeartbeatInterval}, {"batch-delay (E2L_BATCH_DELAY)", c.BatchDelay},
		{"drain-timeout (E2L_DRAIN_TIMEOUT)", c.DrainTimeout}, {"ready-window (E2L_READY_WINDOW)", c.ReadyWindow},
	}
	for _, p := range positive {
		if p.d <= 0 {
			bad("%s must be positive, got %s", p.name, p.d)
		}
	}
	if c.HeartbeatInterval > 0 && c.ReadyWindow > 0 && c.ReadyWindow < c.HeartbeatInterval {
		bad("ready-window (%s) must be at least the heartbeat interval (%s): heartbeats are what commits when Docker is quiet", c.ReadyWindow, c.HeartbeatInterval)
	}
	if c.BatchMax < 1 || c.BatchMax > record.MaxBatchRecords {
		bad("batch-max (E2L_BATCH_MAX) must be between 1 and %d, got %d", record.MaxBatchRecords, c.BatchMax)
	}
	if c.MaxInFlight < 1 {
		bad("max-in-flight (E2L_MAX_IN_FLIGHT) must be at least 1, got %d", c.MaxInFlight)
	}
	if c.SpoolMaxBytes < 1<<20 {
		bad("spool-max-bytes (E2L_SPOOL_MAX_BYTES) must be at least 1048576, got %d", c.SpoolMaxBytes)
	}
	if lvl, err := zapcore.ParseLevel(c.LogLevel); err != nil {
		bad("log-level (E2L_LOG_LEVEL) %q: want debug, info, warn or error", c.LogLevel)
	} else {
		c.Level = lvl
	}
	return errors.Join(errs...)
}
