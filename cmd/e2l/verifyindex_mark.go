package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The verified mark of verify --index: the root of the last block this
// auditor verified, kept outside the database (in the user's state
// directory, per index), so that a database rewritten with matching
// digests no longer chains to it.
// verifiedMark is what this auditor last verified of an index.
type verifiedMark struct {
	Channel string `json:"channel"`
	Anchor  string `json:"anchor"`
	Next    uint64 `json:"next"` // blocks below it were verified
	Root    string `json:"root"` // hex Root of block Next-1
}

// markPath is where the mark of an index is kept: the user's state
// directory, named after the index's location.
func (a *app) markPath(where string) (string, error) {
	dir := ""
	switch {
	case a.getenv("XDG_STATE_HOME") != "":
		dir = filepath.Join(a.getenv("XDG_STATE_HOME"), "e2l")
	case a.getenv("HOME") != "":
		dir = filepath.Join(a.getenv("HOME"), ".local", "state", "e2l")
	default:
		return "", errors.New("no state directory for the index's verified mark: set XDG_STATE_HOME or HOME")
	}
	sum := sha256.Sum256([]byte(where))
	return filepath.Join(dir, "verified-"+hex.EncodeToString(sum[:8])+".json"), nil
}

func (a *app) readMark(li *ledgerIndex) (*verifiedMark, error) {
	path, err := a.markPath(li.where)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m verifiedMark
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Channel != li.c.Channel() || m.Anchor != li.anchor {
		return nil, fmt.Errorf("%s is the mark of channel %s (anchor %s), not of this index's channel %s", path, m.Channel, m.Anchor, li.c.Channel())
	}
	return &m, nil
}

func (a *app) saveMark(li *ledgerIndex, next uint64, root []byte) error {
	path, err := a.markPath(li.where)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(verifiedMark{Channel: li.c.Channel(), Anchor: li.anchor, Next: next, Root: hex.EncodeToString(root)}, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}
