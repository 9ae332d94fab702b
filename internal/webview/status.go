package webview

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/index"
)

// Status is every chain of the index checked by the database (holes and
// broken links, index.Store.ChainProblems) and the findings per host, at
// one checkpoint. Checking the chains reads every record's links, so Run
// does it in the background when the index moves and pages read the last
// result; a page that needs the chains exactly as they stand (usage) checks
// them itself when the status is behind.
type Status struct {
	Next     uint64 // the index's next block when checked
	Records  int64
	At       time.Time
	Took     time.Duration
	Problems map[string][]index.ChainProblem
	Findings map[string]map[string]int // host → severity → count
}

// CheckStatus checks the chains and counts the findings now, and reads
// again the container events of the large hosts whose chain moved (the
// usage page's cache).
func (s *Server) CheckStatus(ctx context.Context) (*Status, error) {
	t0 := time.Now()
	next, _, err := s.st.Head(ctx)
	if err != nil {
		return nil, err
	}
	_, records, err := s.st.Count(ctx)
	if err != nil {
		return nil, err
	}
	problems, err := s.st.ChainProblems(ctx, "")
	if err != nil {
		return nil, err
	}
	findings, err := s.st.Findings(ctx, 0)
	if err != nil {
		return nil, err
	}
	st := &Status{Next: next, Records: records, At: s.now(), Problems: map[string][]index.ChainProblem{},
		Findings: map[string]map[string]int{}}
	for _, p := range problems {
		st.Problems[p.Host] = append(st.Problems[p.Host], p)
	}
	for _, f := range findings {
		if st.Findings[f.Host] == nil {
			st.Findings[f.Host] = map[string]int{}
		}
		st.Findings[f.Host][f.Severity]++
	}
	s.status.Store(st)
	// The large hosts' container events, for the usage page.
	if err := s.events.refresh(ctx, s.st); err != nil {
		return st, err
	}
	st.Took = time.Since(t0)
	return st, nil
}

// Run keeps the status current until ctx ends: it checks the chains at
// start and then, every StatusEvery, when the index has moved.
func (s *Server) Run(ctx context.Context) error {
	tick := time.NewTicker(s.opt.StatusEvery)
	defer tick.Stop()
	for {
		next, _, err := s.st.Head(ctx)
		if err == nil {
			if cur := s.status.Load(); cur == nil || cur.Next != next {
				if st, err := s.CheckStatus(ctx); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					s.log.Warn("web view: checking the chains failed", zap.Error(err))
				} else {
					s.log.Debug("web view: chains checked", zap.Uint64("next_block", st.Next), zap.Duration("took", st.Took))
				}
			}
		} else if ctx.Err() == nil {
			s.log.Warn("web view: reading the index's head failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// problems returns the chain problems as the index stands now: the
// status's when it is current, else checked again.
func (s *Server) problems(ctx context.Context) ([]index.ChainProblem, error) {
	next, _, err := s.st.Head(ctx)
	if err != nil {
		return nil, err
	}
	st := s.status.Load()
	if st == nil || st.Next != next {
		if st, err = s.CheckStatus(ctx); err != nil {
			return nil, err
		}
	}
	var out []index.ChainProblem
	for _, ps := range st.Problems {
		out = append(out, ps...)
	}
	return out, nil
}
