package wire_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/wire"
)

const testID = "6b1c1f1d6c0e8e2f0b4c2b8e9f3a1d5c7e9b0a2c4d6e8f0a1b3c5d7e9f1a3b5c"

func TestEveryCodeRoundTrips(t *testing.T) {
	if n := len(wire.Codes()); n != 11 {
		t.Fatalf("%d codes, want the 11 of TEAM-CONTRACTS", n)
	}
	for _, c := range wire.Codes() {
		for _, r := range []*wire.Refusal{
			wire.Refuse(c, "the call is refused: with a colon, (parens) and \"quotes\""),
			wire.RefuseRecord(c, 3, testID, "record text"),
			wire.RefuseRecord(c, 0, `not) an "id": x`, "an odd ID is quoted"),
			wire.RefuseRecord(c, 999, "", ""),
		} {
			t.Run(r.Error(), func(t *testing.T) {
				got, ok := wire.ParseRefusal(r.Error())
				if !ok {
					t.Fatal("not parsed")
				}
				if *got != *r {
					t.Fatalf("parsed %+v, want %+v", *got, *r)
				}
			})
		}
	}
}

func TestTheFormatIsExactlyTheAgreedOne(t *testing.T) {
	tests := []struct {
		name string
		r    *wire.Refusal
		want string
	}{
		{"a call refusal has no record part", wire.Refuse(wire.CodeNotAdmin, "x is not an admin"),
			"e2l-refusal not-admin: x is not an admin"},
		{"a record refusal names index and ID", wire.RefuseRecord(wire.CodeConflict, 3, testID, "the ledger holds it"),
			"e2l-refusal conflict record 3 (" + testID + "): the ledger holds it"},
		{"a malformed ID is quoted", wire.RefuseRecord(wire.CodeInvalidBatch, 1, "a b", "id: bad"),
			`e2l-refusal invalid-batch record 1 ("a b"): id: bad`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseFindsTheRefusalInGatewayText(t *testing.T) {
	rec := wire.RefuseRecord(wire.CodeChainFork, 7, testID, `host "node1" seq 2 is already taken`)
	call := wire.Refuse(wire.CodeHostOwned, "host node1 is registered to ProviderMSP, the signer is of DeveloperMSP")
	tests := []struct {
		name string
		msg  string
		want *wire.Refusal
	}{
		{"behind the peer's chaincode response prefix", "chaincode response 500, " + rec.Error(), rec},
		{"in a gateway endorse error", "rpc error: code = Aborted desc = failed to endorse transaction: chaincode response 500, " + call.Error(), call},
		{"after a false start with an unknown code", "e2l-refusal bogus: no; " + call.Error(), call},
		{"as the whole message", call.Error(), call},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := wire.ParseRefusal(tt.msg)
			if !ok || *got != *tt.want {
				t.Fatalf("ParseRefusal(%q) = %+v, %v; want %+v", tt.msg, got, ok, *tt.want)
			}
		})
	}
}

func TestGarbageIsNotARefusal(t *testing.T) {
	for _, msg := range []string{
		"",
		"access denied: identity x has no e2l.role",
		"record 3 (" + testID + "): conflict: old format",
		"chaincode response 500, put state: GET_STATE failed: timeout",
		"e2l-refusal",
		"e2l-refusal conflict",
		"e2l-refusal unknown-code: message",
		"e2l-refusal conflict record x (" + testID + "): no index",
		"e2l-refusal conflict record 1 " + testID + ": no parens",
		"e2l-refusal conflict record 1 (" + testID + ") no colon",
		"e2l-refusal conflict record 1 (\"unterminated): x",
		"e2l-refusal conflict record 12345678901 (" + testID + "): index too large",
		"e2l-refusal conflict record 1 (a b): unquoted space",
		"e2l-refusal conflict:no space",
		"E2L-REFUSAL conflict: upper case",
	} {
		if r, ok := wire.ParseRefusal(msg); ok {
			t.Errorf("ParseRefusal(%q) = %+v, want none", msg, *r)
		}
	}
}

func TestDeniedCodesRefuseTheCall(t *testing.T) {
	denied := map[wire.Code]bool{
		wire.CodeAccessDenied: true, wire.CodeBadArgument: true, wire.CodeCorruptState: true, wire.CodeNotRegistered: true,
		wire.CodeHostOwned: true, wire.CodeNotAManager: true, wire.CodeNotAdmin: true,
	}
	for _, c := range wire.Codes() {
		if c.Denied() != denied[c] {
			t.Errorf("%s.Denied() = %v", c, c.Denied())
		}
		if got := wire.RefuseRecord(c, 2, testID, "m").Denied(); got != denied[c] {
			t.Errorf("record refusal %s: Denied() = %v, want %v", c, got, denied[c])
		}
		if !wire.Refuse(c, "m").Denied() {
			t.Errorf("call refusal %s: Denied() = false, want true (no record to blame)", c)
		}
	}
}

func TestErrorsIsMatchesTheCode(t *testing.T) {
	err := fmt.Errorf("submit: %w", wire.RefuseRecord(wire.CodeConflict, 1, testID, "m"))
	if !errors.Is(err, wire.CodeConflict) {
		t.Error("errors.Is(err, CodeConflict) = false")
	}
	if errors.Is(err, wire.CodeChainFork) {
		t.Error("errors.Is(err, CodeChainFork) = true")
	}
	var r *wire.Refusal
	if !errors.As(err, &r) || r.Index != 1 {
		t.Errorf("errors.As = %+v", r)
	}
	if !strings.HasPrefix(wire.CodeNotAdmin.Error(), "e2l-refusal not-admin") {
		t.Errorf("Code.Error() = %q", wire.CodeNotAdmin.Error())
	}
}

// Whatever a message holds, a refusal found in it formats to text that
// parses back to the same refusal.
func FuzzParseRefusal(f *testing.F) {
	for _, c := range wire.Codes() {
		f.Add(wire.RefuseRecord(c, 7, testID, "m: (x)").Error())
		f.Add("chaincode response 500, " + wire.Refuse(c, "a message").Error())
	}
	f.Add(`e2l-refusal conflict record 1 ("a\"b"): q`)
	f.Add("e2l-refusal nope: x e2l-refusal conflict: y")
	f.Fuzz(func(t *testing.T, msg string) {
		r, ok := wire.ParseRefusal(msg)
		if !ok {
			return
		}
		if !r.Code.Valid() || !strings.Contains(msg, "e2l-refusal "+string(r.Code)) {
			t.Fatalf("parsed %+v out of %q", *r, msg)
		}
		again, ok := wire.ParseRefusal(r.Error())
		if !ok || *again != *r {
			t.Fatalf("%+v formats to %q, which parses to %+v, %v", *r, r.Error(), again, ok)
		}
	})
}
