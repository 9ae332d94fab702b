package webview

import (
	"bytes"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/usagereport"
)

//go:embed assets
var assets embed.FS

func staticFS() fs.FS {
	sub, err := fs.Sub(assets, "assets/static")
	if err != nil {
		panic(err) // embedded at build time
	}
	return sub
}

// pages are the parsed templates: each page with the layout.
type pages struct {
	byName map[string]*template.Template
}

var pageNames = []string{"hosts", "host", "timeline", "usage", "record", "search", "error"}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/templates/layout.html", "assets/templates/parts.html",
			"assets/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("webview: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// frame is what the layout shows around every page.
type frame struct {
	Title string
	Who   Identity
	Index string // where the index stands
	Page  any
	Here  string // the page's path
	// API is the page's JSON at /api/…, with the page's query.
	API string
}

// render writes a page; the page is rendered into a buffer first, so that
// a template error is a 500, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	t := s.pages.byName[name]
	head := ""
	if st := s.status.Load(); st != nil {
		head = fmt.Sprintf("index at block %d, %d records; chains checked %s ago", st.Next, st.Records, fmtDur(s.now().Sub(st.At).Round(time.Second)))
	}
	var b bytes.Buffer
	api := "/api" + r.URL.Path
	if r.URL.Path == "/" {
		api = "/api/hosts"
	}
	if r.URL.RawQuery != "" {
		api += "?" + r.URL.RawQuery
	}
	err := t.Execute(&b, frame{Title: title(name, data), Who: s.who.of(r), Index: head, Page: data, API: api, Here: r.URL.Path})
	if err != nil {
		s.log.Error("web view template failed", zap.String("page", name), zap.Error(err))
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// titled is a page that names itself.
type titled interface{ PageTitle() string }

func title(name string, data any) string {
	if t, ok := data.(titled); ok {
		return t.PageTitle() + " · e2l"
	}
	return name + " · e2l"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

var funcs = template.FuncMap{
	"time":  fmtTimeNS,
	"dur":   func(ns int64) string { return fmtDur(time.Duration(ns)) },
	"short": func(id string) string { return usagereport.Cut(id, false) },
	"pct": func(part, whole int64) string {
		if whole <= 0 {
			return "0"
		}
		return fmt.Sprintf("%.3f", 100*float64(part)/float64(whole))
	},
	"query": func(kv ...string) template.URL {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return template.URL(q.Encode())
	},
	"add":   func(a, b int) int { return a + b },
	"add64": func(a, b int64) int64 { return a + b },
	"sub":   func(a, b int64) int64 { return a - b },
	"ns":    func(d time.Duration) int64 { return int64(d) },
	"hex":   func(b []byte) string { return hex.EncodeToString(b) },
	"yes": func(b bool) string {
		if b {
			return "1"
		}
		return ""
	},
	"hasPrefix": strings.HasPrefix,
	// diff is b-a of two axis positions.
	"diff": func(b, a string) string {
		x, _ := strconv.ParseFloat(b, 64)
		y, _ := strconv.ParseFloat(a, 64)
		return fmt.Sprintf("%.1f", x-y)
	},
	// scale places part of whole on a 0…1000 axis (the SVGs' viewBox).
	"scale": func(part, whole int64) string {
		if whole <= 0 {
			return "0"
		}
		return fmt.Sprintf("%.2f", 1000*float64(max(part, 0))/float64(whole))
	},
	// The activity chart: 96 bars of 10 units on a 960 × 80 box.
	"barx": func(start, from, width int64) int64 { return (start - from) / max(width, 1) * 10 },
	"barh": func(n, most int64) string { return fmt.Sprintf("%.1f", 78*float64(n)/float64(max(most, 1))) },
	"bary": func(n, most int64) string { return fmt.Sprintf("%.1f", 80-78*float64(n)/float64(max(most, 1))) },
}

func fmtTimeNS(ns int64) string {
	if ns == 0 {
		return "—"
	}
	return usagereport.FmtTime(ns)
}

func fmtDur(d time.Duration) string { return usagereport.FmtDuration(d) }
