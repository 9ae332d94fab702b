//go:build integration

package integration

import (
	"bufio"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/e2l-project/e2l/internal/testkit/testpki"
)

// webServer is an "e2l serve" subprocess of the auditor CLI's binary.
type webServer struct {
	url    string
	cmd    *exec.Cmd
	exited chan error
}

// webPort is a port of the test's range for e2l serve (the network uses
// the first 120 of E2L_TEST_PORT_BASE).
func webPort(offset int) int { return envInt("E2L_TEST_PORT_BASE", 27000) + 950 + offset }

// startWebServer runs e2l serve with the CLI's connection flags and its
// own index, and waits for the URL it prints. It is stopped (SIGTERM, a
// clean exit required) when the test ends, if the test did not stop it.
func startWebServer(t *testing.T, cli e2lCLI, index string, args ...string) *webServer {
	t.Helper()
	cmd := cli.command(context.Background(), append([]string{"--index", index, "serve"}, args...)...)
	logPath := filepath.Join(artifactsDir(t), "serve-"+strings.ReplaceAll(t.Name(), "/", "_")+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &webServer{cmd: cmd, exited: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		w.exited <- cmd.Wait()
		_ = logf.Close()
	}()
	select {
	case line := <-lines:
		rest, ok := strings.CutPrefix(line, "e2l serve: ")
		if !ok {
			t.Fatalf("e2l serve printed %q", line)
		}
		w.url = strings.TrimSuffix(strings.Fields(rest)[0], "/")
	case err := <-w.exited:
		b, _ := os.ReadFile(logPath)
		t.Fatalf("e2l serve exited (%v):\n%s", err, b)
	case <-time.After(2 * time.Minute):
		t.Fatalf("e2l serve printed no URL in 2 minutes; log %s", logPath)
	}
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			w.stop(t)
		}
	})
	return w
}

// stop sends SIGTERM and requires a clean exit within 30 s: the server,
// the status checker and the index's follower all stop on the root
// context and are joined.
func (w *webServer) stop(t *testing.T) {
	t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.exited:
		if err != nil {
			t.Errorf("e2l serve did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		t.Errorf("e2l serve still running 30 s after SIGTERM")
	}
}

// getJSON fetches one of the view's API pages.
func (w *webServer) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}

// newBrowser starts headless Chromium (Debian's chromium) driven by
// chromedp; downloads land in the returned directory.
func newBrowser(t *testing.T) (context.Context, string) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("no chromium on PATH: scripts/deps.sh test installs Debian's chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1440, 1000), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	dir := t.TempDir()
	events := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, dir
}

// download clicks the element sel and returns the file the browser saved.
func download(t *testing.T, ctx context.Context, dir, sel string) []byte {
	t.Helper()
	done := make(chan string, 1)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	err := chromedp.ListenBrowser(lctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case done <- e.GUID:
			default:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	select {
	case guid := <-done:
		b, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			t.Fatal(err)
		}
		return b
	case <-time.After(time.Minute):
		t.Fatalf("the download of %s did not complete in a minute", sel)
	}
	return nil
}

// screenshot saves the page as <name>.png in the artifacts directory and,
// with E2L_SCREENSHOTS=1, in docs/screenshots (the README shows them).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{filepath.Join(artifactsDir(t), "screenshots")}
	if os.Getenv("E2L_SCREENSHOTS") == "1" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.Join(root, "docs", "screenshots"))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// count is the number of elements matching a CSS selector on the page.
func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// selfSignedServerCert writes a server certificate for 127.0.0.1 and its
// key to dir.
func selfSignedServerCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	c := testpki.New(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2l web view"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, nil)
	certFile, keyFile = filepath.Join(dir, "web.crt"), filepath.Join(dir, "web.key")
	c.Write(t, certFile, keyFile)
	return certFile, keyFile
}
