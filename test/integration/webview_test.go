//go:build integration

package integration

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/e2l-project/e2l/internal/webview"
	"github.com/e2l-project/e2l/network"
)

// The web view (e2l serve) against the real system, in headless Chromium:
// the paper's scenario 2 on its container's timeline with its pause; a
// collector killed while Docker's event buffer rolls over, shown on its
// host's coverage bar as a collector-down gap; the usage CSV the browser
// downloads equal to e2l usage -o csv; a receipt downloaded from a record's
// page verified offline by e2l verify-receipt. A screenshot of each page
// is kept (E2L_SCREENSHOTS=1: in docs/screenshots too).
func TestWebViewInABrowser(t *testing.T) {
	if err := ensureTestImage(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	cli := auditorCLI(t)
	id := enrollHost(t, network.Provider, "it-web", network.EnrollOptions{})
	col := startCollector(t, id, collectorOptions{})
	from := time.Now().Add(-time.Second).UnixNano()

	// The paper's scenario 2.
	name := "e2l-it-web-" + randomSuffix()
	cid := mustDocker(t, "", "create", "--name", name, "--network", "none", testImage, "sleep", "1000")
	t.Cleanup(func() { _, _ = docker(t.Context(), "", "rm", "-f", cid) })
	mustDocker(t, "", "start", cid)
	time.Sleep(2 * time.Second)
	mustDocker(t, "", "pause", cid)
	time.Sleep(2 * time.Second)
	mustDocker(t, "", "unpause", cid)
	time.Sleep(time.Second)
	mustDocker(t, "", "stop", "-t", "1", cid)
	mustDocker(t, "", "rm", cid)
	col.waitDrained(time.Now(), 2*time.Minute)
	to := time.Now().UnixNano()

	// The collector killed while more than Docker's 256 buffered events
	// happen: restarted, it cannot prove it missed nothing.
	col.Kill()
	var vols []string
	for range 140 {
		vols = append(vols, mustDocker(t, "", "volume", "create"))
	}
	mustDocker(t, "", append([]string{"volume", "rm"}, vols...)...)
	col.Restart()

	web := startWebServer(t, cli, filepath.Join(t.TempDir(), "web.db"), "--listen", fmt.Sprintf("127.0.0.1:%d", webPort(0)))
	periodQ := fmt.Sprintf("from=%d&to=now", from)
	var gap webview.Segment
	eventually(t, 3*time.Minute, time.Second, func() error {
		var page webview.HostPage
		if err := web.getJSON(t.Context(), "/api/host/it-web?"+periodQ, &page); err != nil {
			return err
		}
		for _, sg := range page.Host.Coverage.Segments {
			if sg.Kind == webview.SegGap {
				gap = sg
				return nil
			}
		}
		return fmt.Errorf("no gap on it-web's coverage yet: %+v", page.Host.Coverage.Segments)
	})
	if gap.Reason != "collector-down" {
		t.Fatalf("the gap's reason is %q, want collector-down", gap.Reason)
	}
	t.Logf("it-web's coverage: a collector-down gap from %s to %s", time.Unix(0, gap.From).UTC(), time.Unix(0, gap.To).UTC())

	ctx, downloads := newBrowser(t)
	t.Run("the hosts page shows the killed collector as a collector-down gap on its coverage bar", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(web.url+"/?"+periodQ), chromedp.WaitVisible(chromedp.CSS(`tr[data-host="it-web"]`))); err != nil {
			t.Fatal(err)
		}
		if n := count(t, ctx, `tr[data-host="it-web"] svg.covbar rect[data-kind="gap"][data-reason="collector-down"]`); n != 1 {
			t.Errorf("%d collector-down segments on it-web's bar, want 1", n)
		}
		screenshot(t, ctx, "hosts")
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-host="it-web"] a`)), chromedp.WaitVisible(chromedp.CSS(`#coverage`))); err != nil {
			t.Fatal(err)
		}
		if n := count(t, ctx, `#coverage rect[data-reason="collector-down"]`); n != 1 {
			t.Errorf("%d collector-down segments on the host page, want 1", n)
		}
		if n := count(t, ctx, `tr.gap[data-reason="collector-down"] a[href^="/record/"]`); n != 1 {
			t.Errorf("the host page's gap list does not link the gap record (%d)", n)
		}
		screenshot(t, ctx, "host")
	})
	var pauseRecord string
	t.Run("the scenario's container is on its timeline with its pause", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(web.url+"/timeline?q="+name), chromedp.WaitVisible(chromedp.CSS(`tr.gantt-row`))); err != nil {
			t.Fatal(err)
		}
		row := fmt.Sprintf(`tr.gantt-row[data-actor="%s"]`, cid)
		if n := count(t, ctx, row+` rect[data-state="paused"][data-uncertain="false"]`); n != 1 {
			t.Errorf("%d certain paused intervals on the container's row, want 1", n)
		}
		if n := count(t, ctx, row+` rect[data-state="running"][data-uncertain="false"]`); n != 2 {
			t.Errorf("%d certain running intervals, want 2 (before and after the pause)", n)
		}
		if n := count(t, ctx, row+` rect.step[data-action="pause"]`); n != 1 {
			t.Fatalf("%d pause steps on the container's row, want 1", n)
		}
		href, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).closest("a").getAttribute("href")`, row+` rect.step[data-action="pause"]`)))
		if err != nil {
			t.Fatal(err)
		}
		pauseRecord = strings.TrimPrefix(strings.SplitN(href, "?", 2)[0], "/record/")
		screenshot(t, ctx, "timeline")
	})
	t.Run("the usage CSV the browser downloads is e2l usage -o csv's", func(t *testing.T) {
		q := fmt.Sprintf("from=%d&to=%d", from, to)
		if err := chromedp.Do(ctx, chromedp.Navigate(web.url+"/usage?"+q), chromedp.WaitVisible(chromedp.CSS(`#csv`))); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, "usage")
		got := download(t, ctx, downloads, "#csv")
		want := cli.mustRun(t, "usage", "--from", strconv.FormatInt(from, 10), "--to", strconv.FormatInt(to, 10), "-o", "csv")
		if string(got) != want {
			t.Errorf("downloaded CSV:\n%s\ne2l usage -o csv:\n%s", got, want)
		}
		if !strings.Contains(want, name+" ("+cid[:12]+"),1,") {
			t.Errorf("the report has no row for %s:\n%s", name, want)
		}
	})
	t.Run("a receipt downloaded from the record's page verifies offline", func(t *testing.T) {
		if pauseRecord == "" {
			t.Skip("no pause record")
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(web.url+"/record/"+pauseRecord), chromedp.WaitVisible(chromedp.CSS(`#receipt`))); err != nil {
			t.Fatal(err)
		}
		if n := count(t, ctx, `#endorsers .endorser`); n < 2 {
			t.Errorf("%d endorsing orgs shown, want at least 2", n)
		}
		screenshot(t, ctx, "record")
		path := filepath.Join(t.TempDir(), "receipt.json")
		if err := os.WriteFile(path, download(t, ctx, downloads, "#receipt"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.offline("verify-receipt", path)...))
		if code != 0 || !strings.Contains(out, "OK: 1 records") || !strings.Contains(out, "record   "+pauseRecord[:8]) {
			t.Errorf("e2l verify-receipt: exit %d\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("the search page finds the container", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(web.url+"/search?q="+name[:len(name)-3]), chromedp.WaitVisible(chromedp.CSS(`tr.match`))); err != nil {
			t.Fatal(err)
		}
		if n := count(t, ctx, fmt.Sprintf(`tr.match a[href="/timeline?q=%s"]`, cid)); n != 1 {
			t.Errorf("the search does not link the container's timeline (%d)", n)
		}
		screenshot(t, ctx, "search")
	})
	t.Run("no method but GET and HEAD is answered", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			req, _ := http.NewRequestWithContext(t.Context(), m, web.url+"/api/hosts", strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s /api/hosts: %s", m, resp.Status)
			}
		}
	})
	web.stop(t)
	col.Stop()
}

// With --client-ca (the three orgs' CA certificates), the view requires a
// client certificate of one of them: an org's admin logs in and is named
// with their MSP; a client without a certificate is refused.
func TestWebViewClientCertificateLogin(t *testing.T) {
	cli := auditorCLI(t)
	dir := t.TempDir()
	var bundle []byte
	for _, p := range testNet.Peers() {
		cas, err := filepath.Glob(filepath.Join(p.AdminMSPDir, "cacerts", "*.pem"))
		if err != nil || len(cas) == 0 {
			t.Fatalf("no CA certificate in %s: %v", p.AdminMSPDir, err)
		}
		b, err := os.ReadFile(cas[0])
		if err != nil {
			t.Fatal(err)
		}
		bundle = append(bundle, b...)
	}
	caFile := filepath.Join(dir, "orgs-ca.pem")
	if err := os.WriteFile(caFile, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key := selfSignedServerCert(t, dir)
	// The index caught up first (the MSP of a login comes from the
	// channel's configuration in it), then served as it stands.
	cli.mustRun(t, "--index", filepath.Join(dir, "web.db"), "index")
	web := startWebServer(t, cli, filepath.Join(dir, "web.db"), "--listen", fmt.Sprintf("127.0.0.1:%d", webPort(1)),
		"--tls-cert", cert, "--tls-key", key, "--client-ca", caFile, "--follow=false")
	certPEM, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	get := func(certs ...tls.Certificate) (int, string, error) {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, web.url+"/", nil)
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if !strings.HasPrefix(web.url, "https://") {
		t.Fatalf("served on %s, want https", web.url)
	}
	t.Run("a request without a client certificate is refused", func(t *testing.T) {
		if code, _, err := get(); err == nil {
			t.Errorf("answered %d", code)
		}
	})
	for _, org := range []network.Org{network.Provider, network.Developer, network.User} {
		p := testNet.Peer(org)
		t.Run(p.MSPID+"'s admin logs in and is named with the MSP", func(t *testing.T) {
			pair, err := tls.LoadX509KeyPair(p.AdminCertPath, p.AdminKeyPath)
			if err != nil {
				t.Fatal(err)
			}
			code, body, err := get(pair)
			if err != nil || code != http.StatusOK {
				t.Fatalf("%d %v", code, err)
			}
			if !strings.Contains(body, `<span class="msp">`+p.MSPID+`</span>`) || !strings.Contains(body, "CN=Admin@") {
				t.Errorf("the page does not name %s's admin:\n%s", p.MSPID, body)
			}
		})
	}
	web.stop(t)
}
