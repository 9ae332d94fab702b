package audit

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Trust anchors.
//
// Evidence that carries its own configuration blocks proves only that it is
// consistent with them: anyone can build a network with the same MSP names
// and export an archive that checks out. What ties it to the channel the
// auditor means is the genesis block's header hash, obtained out of band
// (e2l trust, from a network the auditor chooses to trust, or a hash
// published by the consortium). Every later configuration block is checked
// under the one before it (CheckConfigs), so the genesis hash anchors them
// all.

// ParseAnchor reads a trust anchor given as "sha256:<hex>" or "<hex>" (64
// hex digits, either case) and returns its lower-case hex.
func ParseAnchor(s string) (string, error) {
	v := strings.TrimSpace(s)
	if len(v) > 7 && strings.EqualFold(v[:7], "sha256:") {
		v = v[7:]
	}
	v = strings.ToLower(v)
	if b, err := hex.DecodeString(v); err != nil || len(b) != 32 {
		return "", fmt.Errorf("trust anchor %q is not a SHA-256 hash (sha256:<64 hex digits>)", s)
	}
	return v, nil
}

// anchorFinding compares the trust anchor given with the evidence's genesis
// block header hash (hex; "" when the evidence holds no genesis block, why
// then says what it holds instead). Only a match is not an error.
func anchorFinding(anchor, genesis, why string) Finding {
	fail := func(format string, args ...any) Finding {
		return Finding{Severity: Error, Problem: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(anchor) == "" {
		if genesis == "" {
			return fail("no trust anchor: nothing ties this evidence to the channel you trust, and it holds no genesis block to compare with one (%s)", why)
		}
		return fail("no trust anchor: nothing ties this evidence to the channel you trust; its genesis block header is sha256:%s (compare it with a hash obtained out of band, e.g. e2l trust, and give it as the anchor)", genesis)
	}
	want, err := ParseAnchor(anchor)
	if err != nil {
		return fail("%v", err)
	}
	switch genesis {
	case "":
		return fail("trust anchor: the evidence holds no genesis block (%s), so it cannot be matched with the trusted anchor sha256:%s", why, want)
	case want:
		return Finding{Severity: Info, Problem: fmt.Sprintf("trust anchor: the genesis block header sha256:%s is the trusted anchor", genesis)}
	default:
		return fail("trust anchor mismatch: the evidence's genesis block header is sha256:%s, the trusted anchor is sha256:%s (an impostor network, or another channel)", genesis, want)
	}
}

// genesisOf returns the header hash (hex) of raw when it is a genesis
// block (number 0), "" otherwise.
func genesisOf(raw []byte) string {
	b, err := ParseBlock(raw)
	if err != nil || b.Number != 0 {
		return ""
	}
	return hex.EncodeToString(HeaderHash(b.Block.GetHeader()))
}
