package testimage

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"testing"
)

func TestRootFSHoldsBusyboxAndItsApplets(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("Debian's busybox-static is not installed")
	}
	buf, err := rootFS()
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]*tar.Header{}
	tr := tar.NewReader(buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = h
	}
	if h := entries["bin/busybox"]; h == nil || h.Mode&0o111 == 0 {
		t.Fatalf("bin/busybox missing or not executable: %+v", h)
	}
	for _, a := range applets {
		if h := entries["bin/"+a]; h == nil || h.Linkname != "busybox" {
			t.Errorf("bin/%s is not a link to busybox: %+v", a, h)
		}
	}
}
