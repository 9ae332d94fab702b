package dockerwatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/record"
)

// snapshot lists every container the daemon knows and enqueues the list as
// snapshot records of at most record.MaxSnapshotItems containers each.
func (w *Watcher) snapshot(ctx context.Context) error {
	list, err := w.docker.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("list containers for a snapshot: %w", err)
	}
	items := make([]record.SnapshotContainer, 0, len(list))
	skipped := 0
	for _, c := range list {
		sc, ok := w.snapshotContainer(ctx, c)
		if !ok {
			skipped++
			continue
		}
		items = append(items, sc)
	}
	slices.SortFunc(items, func(a, b record.SnapshotContainer) int { return strings.Compare(a.ID, b.ID) })
	recs := snapshotRecords(w.cfg.Host, w.cfg.Clock().UnixNano(), items)
	for _, r := range recs {
		if err := w.enqueueControl(ctx, r); err != nil {
			return err
		}
	}
	w.log.Info("snapshot of docker containers", zap.Int("containers", len(items)), zap.Int("parts", len(recs)),
		zap.Int("skipped", skipped))
	return nil
}

// snapshotContainer describes one container; inspect adds the start and
// finish times and the exit code (a container removed meanwhile keeps what
// the list said).
func (w *Watcher) snapshotContainer(ctx context.Context, c container.Summary) (record.SnapshotContainer, bool) {
	if record.CheckIdent("id", c.ID, record.MaxActorLen, true) != nil {
		return record.SnapshotContainer{}, false
	}
	sc := record.SnapshotContainer{ID: c.ID, State: string(c.State)}
	if len(c.Names) > 0 {
		sc.Name = strings.TrimPrefix(c.Names[0], "/")
	}
	sc.Image = c.Image
	if ins, err := w.docker.ContainerInspect(ctx, c.ID); err == nil && ins.ContainerJSONBase != nil && ins.State != nil {
		sc.StartedAt = parseDockerTime(ins.State.StartedAt)
		sc.FinishedAt = parseDockerTime(ins.State.FinishedAt)
		sc.ExitCode = ins.State.ExitCode
		if ins.State.Status != "" {
			sc.State = string(ins.State.Status)
		}
	}
	if record.CheckText("name", sc.Name, record.MaxNameLen, false) != nil {
		sc.Name = ""
	}
	if record.CheckText("image", sc.Image, record.MaxImageLen, false) != nil {
		sc.Image = ""
	}
	if record.CheckText("state", sc.State, record.MaxShortAttrLen, true) != nil {
		sc.State = "unknown"
	}
	return sc, true
}

// snapshotRecords splits items into parts (at least one, possibly empty).
func snapshotRecords(host string, now int64, items []record.SnapshotContainer) []record.Record {
	parts := max(1, (len(items)+record.MaxSnapshotItems-1)/record.MaxSnapshotItems)
	parts = min(parts, record.MaxSnapshotParts)
	recs := make([]record.Record, 0, parts)
	for p := range parts {
		lo := p * record.MaxSnapshotItems
		hi := min(lo+record.MaxSnapshotItems, len(items))
		part := []record.SnapshotContainer{}
		if lo < hi {
			part = items[lo:hi]
		}
		recs = append(recs, record.Record{V: record.SchemaVersion, Kind: record.KindSnapshot, Host: host, Time: now,
			Snapshot: &record.Snapshot{Part: p + 1, Parts: parts, Containers: part}})
	}
	return recs
}

// parseDockerTime parses an RFC 3339 time from the Engine; its zero time
// ("0001-01-01T00:00:00Z") and unparsable values are 0.
func parseDockerTime(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1970 {
		return 0
	}
	return t.UnixNano()
}
