package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
)

func (a *app) timelineCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "timeline <container-or-service-id-or-name>",
		Short: "A container's or service's life in order, with the time between steps",
		Long: `Show a container's or service's records in time order with the time since the
previous step and since the first.

The records come from the audit index (see "e2l index"), caught up first. A
full 64-hex ID is looked up directly; anything else (a name, or an ID prefix
of at least 4 characters) is resolved through the index's names. Every ID
that ever carried the name is shown (names are reused).`,
		Example: `  e2l timeline web
  e2l timeline 3f4e...c2 --output json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error { return a.timeline(cmd.Context(), argv[0], output) },
	}
	cmd.Flags().StringVarP(&output, "output", "o", formatTable, "table, json or csv")
	return cmd
}

func (a *app) timeline(ctx context.Context, who, output string) error {
	if err := checkFormat(output); err != nil {
		return err
	}
	li, err := a.openIndex(ctx)
	if err != nil {
		return err
	}
	defer li.Close()
	c := indexRecords{li.st}
	actors := []string{who}
	if !isHex64(who) {
		if actors, err = resolveActor(ctx, li.st, who); err != nil {
			return err
		}
	}
	t := newTable(a.stdout, output, append([]string{"ACTOR", "STEP", "+PREV", "+FIRST"}, recordHeader...)...)
	for _, actor := range actors {
		var first, prev int64
		step := 0
		if err := c.Timeline(ctx, actor, func(st audit.Stored) error {
			s := show(st)
			if s.Record == nil {
				t.row(s, append([]string{cut(actor, output != formatTable), "?", "", ""}, s.cells(output != formatTable)...)...)
				return nil
			}
			step++
			tm := s.Record.Time
			if step == 1 {
				first, prev = tm, tm
			}
			sincePrev, sinceFirst := time.Duration(tm-prev), time.Duration(tm-first)
			prev = tm
			obj := struct {
				Actor       string `json:"actor"`
				Step        int    `json:"step"`
				SincePrevNs int64  `json:"sincePrevNs"`
				SinceFirst  int64  `json:"sinceFirstNs"`
				shown
			}{actor, step, int64(sincePrev), int64(sinceFirst), s}
			t.row(obj, append([]string{cut(actor, output != formatTable), fmt.Sprint(step), fmtDuration(sincePrev), fmtDuration(sinceFirst)},
				s.cells(output != formatTable)...)...)
			return nil
		}); err != nil {
			return err
		}
		if step == 0 {
			return fmt.Errorf("no record about %s on channel %s", actor, li.c.Channel())
		}
	}
	return t.flush()
}

// resolveActor finds the IDs of containers and services whose name is
// name, or whose ID starts with it (at least 4 characters), in the index.
func resolveActor(ctx context.Context, st *index.Store, name string) ([]string, error) {
	ids, err := st.Actors(ctx, name, 4)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no container or service named %q or with an ID starting with it", name)
	}
	return ids, nil
}
