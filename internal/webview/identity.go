package webview

import (
	"context"
	"crypto/x509"
	"net/http"
	"sync"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
)

// Identity is who is logged in: the subject of the client certificate the
// TLS handshake verified, and the channel organisation (MSP) whose CAs
// issued it, when the channel's configuration says.
type Identity struct {
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	MSP     string `json:"msp,omitempty"`
	Cert    string `json:"certSha256,omitempty"`
}

// identities derives a client certificate's MSP from the channel's latest
// configuration block in the index (read again only when the index moved).
type identities struct {
	st Store
	mu sync.Mutex
	// trust is the latest configuration's organisations, for the index's
	// configBlock.
	trust *audit.Trust
	next  uint64 // the index's next block when trust was read
}

func newIdentities(st Store) *identities { return &identities{st: st} }

func (ids *identities) of(r *http.Request) Identity {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return Identity{}
	}
	c := r.TLS.PeerCertificates[0]
	id := Identity{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Cert: audit.CertSHA256(c)}
	if len(r.TLS.VerifiedChains) > 0 {
		id.MSP = ids.msp(r.Context(), c)
	}
	return id
}

// msp is the channel organisation whose CAs issued c, "" when none does
// (or the index holds no configuration yet).
func (ids *identities) msp(ctx context.Context, c *x509.Certificate) string {
	t := ids.latest(ctx)
	if t == nil {
		return ""
	}
	for id, m := range t.MSPs {
		if m.Validate(c, time.Now()) == nil {
			return id
		}
	}
	return ""
}

func (ids *identities) latest(ctx context.Context) *audit.Trust {
	next, _, err := ids.st.Head(ctx)
	if err != nil {
		return nil
	}
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if ids.trust != nil && ids.next == next {
		return ids.trust
	}
	raws, err := ids.st.RawBlocks(ctx)
	if err != nil {
		return nil
	}
	var last []byte
	for _, b := range raws {
		if b.Config {
			last = b.Raw
		}
	}
	if last == nil {
		return nil
	}
	b, err := audit.ParseBlock(last)
	if err != nil {
		return nil
	}
	t, err := audit.TrustFromConfigBlock(b)
	if err != nil {
		return nil
	}
	ids.trust, ids.next = t, next
	return t
}
