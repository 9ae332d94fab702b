package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The trust file holds the auditor's trust anchors, one line per channel,
// as SSH's known_hosts holds host keys:
//
//	<channel> genesis sha256:<hex SHA-256 of the genesis block header>
//
// Blank lines and # comments are kept as they are when the file is
// rewritten.
type trustFile struct {
	path    string
	lines   []string
	entries map[string]trustEntry
}

// trustEntry is one channel's anchor.
type trustEntry struct {
	channel string
	genesis string // hex, lower case
	line    int    // 1-based, 0 when not yet written
}

const trustKind = "genesis"

// readTrustFile reads the trust file at path; a file that does not exist
// is empty.
func readTrustFile(path string) (*trustFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &trustFile{path: path, entries: map[string]trustEntry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trust file: %w", err)
	}
	return parseTrustFile(path, bytes.NewReader(b))
}

// parseTrustFile reads trust file lines; a malformed line or a channel
// listed twice is an error naming the line.
func parseTrustFile(path string, r io.Reader) (*trustFile, error) {
	t := &trustFile{path: path, entries: map[string]trustEntry{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		t.lines = append(t.lines, line)
		text := strings.TrimSpace(line)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 3 || f[1] != trustKind {
			return nil, fmt.Errorf("trust file %s line %d: %q: want \"<channel> genesis sha256:<64 hex digits>\"", path, n, text)
		}
		g, err := parseGenesis(f[2])
		if err != nil {
			return nil, fmt.Errorf("trust file %s line %d: %w", path, n, err)
		}
		if prev, ok := t.entries[f[0]]; ok {
			return nil, fmt.Errorf("trust file %s line %d: channel %s is already on line %d", path, n, f[0], prev.line)
		}
		t.entries[f[0]] = trustEntry{channel: f[0], genesis: g, line: n}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("trust file %s: %w", path, err)
	}
	return t, nil
}

// parseGenesis reads a genesis header hash, "sha256:<64 hex>" (the prefix
// may be left out; upper-case digits are accepted), into lower-case hex.
func parseGenesis(s string) (string, error) {
	h := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(s, "sha256:"), "SHA256:"))
	if !isHex64(h) {
		return "", fmt.Errorf("genesis hash %q: want sha256:<64 hex digits>", s)
	}
	return h, nil
}

// lookup returns the channel's entry.
func (t *trustFile) lookup(channel string) (trustEntry, bool) {
	e, ok := t.entries[channel]
	return e, ok
}

// anchorConflict is a channel whose recorded anchor differs from the one
// offered.
type anchorConflict struct {
	path, channel string
	line          int
	recorded, got string
}

func (e *anchorConflict) Error() string {
	return fmt.Sprintf("channel %s is trusted with genesis sha256:%s (trust file %s line %d), not sha256:%s",
		e.channel, e.recorded, e.path, e.line, e.got)
}

// set records the channel's anchor: a new line, or, with replace, in place
// of a different one. It reports whether anything changed; a different
// entry without replace is an *anchorConflict.
func (t *trustFile) set(channel, genesis string, replace bool) (bool, error) {
	if channel == "" || strings.ContainsAny(channel, " \t\r\n#") {
		return false, fmt.Errorf("channel name %q cannot be recorded", channel)
	}
	if !isHex64(genesis) {
		return false, fmt.Errorf("genesis hash %q: want 64 lower-case hex digits", genesis)
	}
	text := channel + " " + trustKind + " sha256:" + genesis
	e, ok := t.entries[channel]
	switch {
	case ok && e.genesis == genesis:
		return false, nil
	case ok && !replace:
		return false, &anchorConflict{path: t.path, channel: channel, line: e.line, recorded: e.genesis, got: genesis}
	case ok:
		t.lines[e.line-1] = text
	default:
		t.lines = append(t.lines, text)
		e.line = len(t.lines)
	}
	t.entries[channel] = trustEntry{channel: channel, genesis: genesis, line: e.line}
	return true, nil
}

// write writes the file through a temporary file renamed into place,
// creating its directory.
func (t *trustFile) write() error {
	if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
		return fmt.Errorf("trust file: %w", err)
	}
	var b strings.Builder
	for _, l := range t.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if err := writeFile(t.path, func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	}); err != nil {
		return fmt.Errorf("trust file: %w", err)
	}
	return nil
}

// sorted returns the entries in channel order.
func (t *trustFile) sorted() []trustEntry {
	out := make([]trustEntry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b trustEntry) int { return strings.Compare(a.channel, b.channel) })
	return out
}
