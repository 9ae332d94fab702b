// Package webview is e2l's web view for auditors (e2l serve): pages and a
// JSON API over the audit index — hosts and their coverage, a host's
// chain, container and service timelines, usage with its CSV, records with
// their receipts, and a search. It only reads: every route answers GET and
// HEAD, any other method is refused with 405, and nothing it serves writes
// to the index or anywhere else. Its assets (templates, CSS, a little
// JavaScript) are embedded; nothing is fetched at run time. Pages are
// aggregated by the database (internal/index's web queries), so that a
// host of a hundred thousand records renders about as fast as one of a
// hundred.
package webview

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/deps"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/proof"
	"github.com/e2l-project/e2l/internal/usagereport"
)

// Store is what the view reads of the audit index (index.Store is one).
type Store interface {
	usagereport.Source
	Head(ctx context.Context) (next uint64, state []byte, err error)
	Count(ctx context.Context) (blocks, records int64, err error)
	ChainProblems(ctx context.Context, host string) ([]index.ChainProblem, error)
	Extent(ctx context.Context, host string, from, to int64) (index.Extent, error)
	Silences(ctx context.Context, host string, from, to, longer int64) ([]index.Silence, error)
	Activity(ctx context.Context, host string, from, to, width int64) ([]index.Bucket, error)
	Certificates(ctx context.Context, host string) ([]index.CertUse, error)
	HostFindings(ctx context.Context, host string, limit int) ([]index.Finding, error)
	SearchActors(ctx context.Context, q index.Search) ([]index.ActorMatch, error)
	ServiceContainers(ctx context.Context, service string) ([]string, error)
	Actors(ctx context.Context, name string, minPrefix int) ([]string, error)
	RecordsByPrefix(ctx context.Context, prefix string, limit int) ([]index.Record, error)
	Blocks(ctx context.Context, from, to uint64, each func(index.Block) error) error
	RawBlocks(ctx context.Context) ([]index.Block, error)
}

// Options configure a Server. Only Store is required.
type Options struct {
	Store Store
	// Ledger, when set, gives receipts and a record's endorsers (the
	// blocks the index does not keep whole), with the channel, chaincode
	// and trust anchor they are verified against.
	Ledger             proof.Ledger
	Channel, Chaincode string
	Anchor             string
	// Logger and Clock are optional (package deps: no logs, time.Now).
	Logger            *zap.Logger
	Clock             func() time.Time
	HeartbeatFactor   float64       // silence beyond this many heartbeat intervals (default 3)
	DefaultPeriod     time.Duration // the period pages cover unless asked (default 24h)
	StatusEvery       time.Duration // how often Run checks the chains again when the index moved (default 5s)
	RequireClientCert bool          // refuse a request without a verified client certificate (401)
}

// defaultHeartbeat is the collector's default heartbeat interval, for a
// host whose heartbeats do not say theirs.
const defaultHeartbeat = 30 * time.Second

// Server serves the view.
type Server struct {
	opt    Options
	st     Store
	log    *zap.Logger
	now    func() time.Time
	pages  *pages
	status atomic.Pointer[Status]
	who    *identities
	events *eventCache
}

// New returns a server of the index opt.Store.
func New(opt Options) (*Server, error) {
	if opt.Store == nil {
		return nil, errors.New("webview: no index")
	}
	opt.Logger, opt.Clock = deps.Logger(opt.Logger), deps.Clock(opt.Clock)
	if opt.HeartbeatFactor <= 0 {
		opt.HeartbeatFactor = 3
	}
	if opt.DefaultPeriod <= 0 {
		opt.DefaultPeriod = 24 * time.Hour
	}
	if opt.StatusEvery <= 0 {
		opt.StatusEvery = 5 * time.Second
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Server{opt: opt, st: opt.Store, log: opt.Logger, now: opt.Clock, pages: p, who: newIdentities(opt.Store),
		events: newEventCache()}, nil
}

// Handler returns the view's routes behind the read-only guard and, with
// RequireClientCert, the client certificate check.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(staticFS())))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.route(mux, "/{$}", "/api/hosts", "hosts", s.hostsPage)
	s.route(mux, "/host/{host}", "/api/host/{host}", "host", s.hostPage)
	s.route(mux, "/timeline", "/api/timeline", "timeline", s.timelinePage)
	s.route(mux, "/usage", "/api/usage", "usage", s.usagePage)
	mux.HandleFunc("/usage.csv", s.usageCSV)
	s.route(mux, "/record/{id}", "/api/record/{id}", "record", s.recordPage)
	mux.HandleFunc("/record/{id}/receipt.json", s.receipt)
	s.route(mux, "/search", "/api/search", "search", s.searchPage)
	return readOnly(s.authenticate(mux))
}

// pageFunc computes a page's data, also served as JSON by the API.
type pageFunc func(r *http.Request) (any, error)

// route serves a page as HTML at path and as JSON at api.
func (s *Server) route(mux *http.ServeMux, path, api, tmpl string, f pageFunc) {
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		data, err := f(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, tmpl, data)
	})
	mux.HandleFunc(api, func(w http.ResponseWriter, r *http.Request) {
		data, err := f(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, data)
	})
}

// readOnly refuses every method but GET and HEAD: the view has no write
// path, and says so to anything that tries one.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the e2l web view is read-only: only GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// authenticate refuses, with RequireClientCert, a request that did not
// present a client certificate the TLS handshake verified (the handshake
// itself refuses one that does not verify when the listener requires
// them; this guards a listener that was configured otherwise).
func (s *Server) authenticate(next http.Handler) http.Handler {
	if !s.opt.RequireClientCert {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "a client certificate of one of the channel's organisations is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errNotFound is a page about something the index does not hold (404).
var errNotFound = errors.New("not found")

// errBadRequest marks a bad parameter (400).
type errBadRequest struct{ error }

func badRequest(format string, args ...any) error { return errBadRequest{fmt.Errorf(format, args...)} }

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	var br errBadRequest
	switch {
	case errors.Is(err, errNotFound):
		code = http.StatusNotFound
	case errors.As(err, &br):
		code = http.StatusBadRequest
	case errors.Is(err, context.Canceled):
		return
	default:
		s.log.Warn("web view page failed", zap.String("path", r.URL.Path), zap.Error(err))
	}
	if isAPI(r) {
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(code)
	s.render(w, r, "error", map[string]any{"Code": code, "Status": http.StatusText(code), "Error": err.Error()})
}
