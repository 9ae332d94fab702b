// Package promtext reads a Prometheus /metrics page (the text exposition
// format) with prometheus/common/expfmt: the one parser of metrics text in
// e2l's tooling (the benchmarks, the integration tests, the dev network's
// orderer probes), instead of hand-written line scanners.
package promtext

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are a page's values by series, keyed as the page writes them
// (`name{a="x",b="y"}`, labels sorted by name, a histogram's `le` and a
// summary's `quantile` last; histograms and summaries as their _bucket,
// _sum and _count series), and by every series name alone: the sum of its
// series.
type Samples map[string]float64

func families(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics text: %w", err)
	}
	return fs, nil
}

// Names returns the metric families a text exposition page declares (a
// histogram by its name, without _bucket, _sum and _count), sorted.
func Names(r io.Reader) ([]string, error) {
	fs, err := families(r)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Parse reads a text exposition page.
func Parse(r io.Reader) (Samples, error) {
	families, err := families(r)
	if err != nil {
		return nil, err
	}
	s := Samples{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := m.GetLabel()
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				s.add(name, labels, "", "", m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				s.add(name, labels, "", "", m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				s.add(name, labels, "", "", m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					s.add(name+"_bucket", labels, "le", formatFloat(b.GetUpperBound()), float64(b.GetCumulativeCount()))
				}
				s.add(name+"_bucket", labels, "le", "+Inf", float64(h.GetSampleCount()))
				s.add(name+"_sum", labels, "", "", h.GetSampleSum())
				s.add(name+"_count", labels, "", "", float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				q := m.GetSummary()
				for _, x := range q.GetQuantile() {
					s.add(name, labels, "quantile", formatFloat(x.GetQuantile()), x.GetValue())
				}
				s.add(name+"_sum", labels, "", "", q.GetSampleSum())
				s.add(name+"_count", labels, "", "", float64(q.GetSampleCount()))
			}
		}
	}
	return s, nil
}

// Get returns the value of the series name{labels} (label name, value
// pairs in any order), or of every series of name summed when no label
// is given.
func (s Samples) Get(name string, labelPairs ...string) (float64, bool) {
	if len(labelPairs)%2 != 0 {
		return 0, false
	}
	var ls []*dto.LabelPair
	for i := 0; i < len(labelPairs); i += 2 {
		n, v := labelPairs[i], labelPairs[i+1]
		ls = append(ls, &dto.LabelPair{Name: &n, Value: &v})
	}
	v, ok := s[key(name, ls, "", "")]
	return v, ok
}

func (s Samples) add(name string, labels []*dto.LabelPair, extraName, extraValue string, v float64) {
	if len(labels) > 0 || extraName != "" {
		s[key(name, labels, extraName, extraValue)] = v
	}
	s[name] += v
}

// key writes a series as the text format does.
func key(name string, labels []*dto.LabelPair, extraName, extraValue string) string {
	if len(labels) == 0 && extraName == "" {
		return name
	}
	sorted := append([]*dto.LabelPair(nil), labels...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].GetName() < sorted[j].GetName() })
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, l := range sorted {
		if i > 0 {
			b.WriteByte(',')
		}
		writePair(&b, l.GetName(), l.GetValue())
	}
	if extraName != "" {
		if len(sorted) > 0 {
			b.WriteByte(',')
		}
		writePair(&b, extraName, extraValue)
	}
	b.WriteByte('}')
	return b.String()
}

var escaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func writePair(b *strings.Builder, name, value string) {
	b.WriteString(name)
	b.WriteString(`="`)
	b.WriteString(escaper.Replace(value))
	b.WriteByte('"')
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
