package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	hashA = strings.Repeat("a1", 32)
	hashB = strings.Repeat("b2", 32)
)

func TestParseTrustFile(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    map[string]string // channel → genesis
		wantErr string            // exact
	}{
		{
			name: "entries are read past comments and blank lines",
			body: "# e2l trust anchors\n\ne2l genesis sha256:" + hashA + "\n  other genesis sha256:" + hashB + "  \n",
			want: map[string]string{"e2l": hashA, "other": hashB},
		},
		{name: "an empty file holds no entry", body: "", want: map[string]string{}},
		{
			name:    "a line with a missing field names its number and the expected form",
			body:    "# x\ne2l genesis\n",
			wantErr: `trust file F line 2: "e2l genesis": want "<channel> genesis sha256:<64 hex digits>"`,
		},
		{
			name:    "a line of another kind is malformed",
			body:    "e2l roots sha256:" + hashA + "\n",
			wantErr: `trust file F line 1: "e2l roots sha256:` + hashA + `": want "<channel> genesis sha256:<64 hex digits>"`,
		},
		{
			name:    "a hash that is not 64 hex digits is malformed",
			body:    "e2l genesis sha256:abcd\n",
			wantErr: `trust file F line 1: genesis hash "sha256:abcd": want sha256:<64 hex digits>`,
		},
		{
			name:    "a channel listed twice is an error naming both lines",
			body:    "e2l genesis sha256:" + hashA + "\n\ne2l genesis sha256:" + hashB + "\n",
			wantErr: "trust file F line 3: channel e2l is already on line 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tf, err := parseTrustFile("F", strings.NewReader(tt.body))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tf.entries) != len(tt.want) {
				t.Errorf("%d entries, want %d", len(tf.entries), len(tt.want))
			}
			for ch, g := range tt.want {
				if e, ok := tf.lookup(ch); !ok || e.genesis != g {
					t.Errorf("channel %s: %+v, want genesis %s", ch, e, g)
				}
			}
		})
	}
}

func TestParseGenesisAcceptsThePrefixOrNoneAndUpperCase(t *testing.T) {
	for _, in := range []string{"sha256:" + hashA, hashA, "sha256:" + strings.ToUpper(hashA)} {
		if g, err := parseGenesis(in); err != nil || g != hashA {
			t.Errorf("parseGenesis(%q) = %q, %v", in, g, err)
		}
	}
	for _, in := range []string{"", "sha256:", "md5:" + hashA, hashA[:62], hashA + "00", strings.Repeat("g", 64)} {
		if _, err := parseGenesis(in); err == nil {
			t.Errorf("parseGenesis(%q) accepted", in)
		}
	}
}

func TestTrustFileSet(t *testing.T) {
	const header = "# kept as it is\n"
	path := filepath.Join(t.TempDir(), "cfg", "e2l", "trust")
	t.Run("a missing file is empty and is created with its directory", func(t *testing.T) {
		tf, err := readTrustFile(path)
		if err != nil || len(tf.entries) != 0 {
			t.Fatalf("read missing file: %+v, %v", tf, err)
		}
		tf.lines = []string{strings.TrimSuffix(header, "\n")}
		changed, err := tf.set("e2l", hashA, false)
		if err != nil || !changed {
			t.Fatalf("set: %v, %v", changed, err)
		}
		if err := tf.write(); err != nil {
			t.Fatal(err)
		}
		assertFile(t, path, header+"e2l genesis sha256:"+hashA+"\n")
	})
	t.Run("the same anchor again changes nothing", func(t *testing.T) {
		tf := mustRead(t, path)
		if changed, err := tf.set("e2l", hashA, false); err != nil || changed {
			t.Fatalf("set: %v, %v; want unchanged", changed, err)
		}
	})
	t.Run("another channel is appended", func(t *testing.T) {
		tf := mustRead(t, path)
		if _, err := tf.set("other", hashB, false); err != nil {
			t.Fatal(err)
		}
		if err := tf.write(); err != nil {
			t.Fatal(err)
		}
		assertFile(t, path, header+"e2l genesis sha256:"+hashA+"\nother genesis sha256:"+hashB+"\n")
	})
	t.Run("a different anchor is refused without replace, naming both and the line", func(t *testing.T) {
		tf := mustRead(t, path)
		_, err := tf.set("e2l", hashB, false)
		var c *anchorConflict
		if !errors.As(err, &c) {
			t.Fatalf("error %v, want an anchor conflict", err)
		}
		want := "channel e2l is trusted with genesis sha256:" + hashA + " (trust file " + path + " line 2), not sha256:" + hashB
		if err.Error() != want {
			t.Errorf("error %q\nwant %q", err, want)
		}
	})
	t.Run("with replace the line is rewritten in place", func(t *testing.T) {
		tf := mustRead(t, path)
		if changed, err := tf.set("e2l", hashB, true); err != nil || !changed {
			t.Fatalf("set: %v, %v", changed, err)
		}
		if err := tf.write(); err != nil {
			t.Fatal(err)
		}
		assertFile(t, path, header+"e2l genesis sha256:"+hashB+"\nother genesis sha256:"+hashB+"\n")
	})
	t.Run("a channel name that would corrupt the file is refused", func(t *testing.T) {
		tf := mustRead(t, path)
		for _, ch := range []string{"", "a b", "a#b", "a\nb"} {
			if _, err := tf.set(ch, hashA, false); err == nil {
				t.Errorf("set(%q) accepted", ch)
			}
		}
	})
}

func mustRead(t *testing.T, path string) *trustFile {
	t.Helper()
	tf, err := readTrustFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("%s:\n%s\nwant:\n%s", path, b, want)
	}
}
