package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// seedPages gives a site 14 hosts, numbered n = 1..14, with n % 7
// alerts (the newest open), n % 9 comments (the newer half on the newest
// alert), n % 6 downtimes (some cancelled, some over) and n % 9 history
// rows, and each alert n % 4 comments of its own; rows come in groups of
// three with the same time, so the id tie-break decides their order. It
// returns the hosts' and alerts' ids.
func seedPages(t *testing.T, owner string, site uuid.UUID) (checkIDs, alertIDs []uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const numbered = `(SELECT id, site_id, row_number() OVER (ORDER BY name)::int AS n FROM checks WHERE site_id = $1) c`
	for _, q := range []string{
		`INSERT INTO checks (id, site_id, kind, name, summary, engine)
			SELECT gen_random_uuid(), $1, 'host', 'h' || lpad(i::text, 2, '0'), 'Host ' || i, 'dummy' FROM generate_series(1, 14) i`,
		`INSERT INTO alerts (id, site_id, check_id, status, output, opened_at, updated_at, recovered_at)
			SELECT gen_random_uuid(), c.site_id, c.id, 'CRITICAL', 'alert ' || c.n || '.' || g, now() - (g / 3) * interval '1 minute', now(),
				CASE WHEN g > 0 THEN now() END
			FROM ` + numbered + `, generate_series(0, c.n % 7 - 1) g`,
		`INSERT INTO comments (id, site_id, check_id, alert_id, author, body, created_at)
			SELECT gen_random_uuid(), c.site_id, c.id,
				CASE WHEN g < c.n % 9 / 2 THEN (SELECT a.id FROM alerts a WHERE a.check_id = c.id AND a.recovered_at IS NULL) END,
				'seed', 'comment ' || c.n || '.' || g, now() - (g / 3) * interval '1 minute'
			FROM ` + numbered + `, generate_series(0, c.n % 9 - 1) g`,
		`INSERT INTO comments (id, site_id, check_id, alert_id, author, body, created_at)
			SELECT gen_random_uuid(), a.site_id, a.check_id, a.id, 'seed', 'on ' || a.output || '.' || g, now() - (g / 3) * interval '1 minute'
			FROM (SELECT a.*, row_number() OVER (ORDER BY a.output)::int AS n FROM alerts a WHERE a.site_id = $1) a, generate_series(0, a.n % 4 - 1) g`,
		`INSERT INTO downtimes (id, site_id, check_id, starts_at, ends_at, comment, author, cancelled_at)
			SELECT gen_random_uuid(), c.site_id, c.id, now() + (g / 3 - 1) * interval '1 day' - interval '1 hour',
				now() + (g / 3 - 1) * interval '1 day' + interval '1 hour', 'window ' || c.n || '.' || g, 'seed', CASE WHEN g % 4 = 1 THEN now() END
			FROM ` + numbered + `, generate_series(0, c.n % 6 - 1) g`,
		`INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt, output)
			SELECT c.site_id, c.id, now() - g * interval '1 minute', 'CRITICAL', 'OK', false, g % 2 = 0, 1 + g % 3, 'change ' || c.n || '.' || g
			FROM ` + numbered + `, generate_series(0, c.n % 9 - 1) g`,
	} {
		if _, err := conn.Exec(ctx, q, site); err != nil {
			t.Fatalf("seeding: %v\n%s", err, q)
		}
	}
	collect := func(q string) []uuid.UUID {
		rows, err := conn.Query(ctx, q, site)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	return collect(`SELECT id FROM checks WHERE site_id = $1 ORDER BY name`), collect(`SELECT id FROM alerts WHERE site_id = $1 ORDER BY output`)
}

// A batched read of many parents' first pages (AlertPages, ...) gives each
// parent exactly the page, "more" and cursors of its own read (Alerts,
// ...), for every argument set, and nothing of another site's parents.
func TestBatchedPagesAreEachParentsPage(t *testing.T) {
	s := newSite(t)
	var other *tenants.Site
	err := pgx.BeginFunc(context.Background(), s.db.Pool, func(tx pgx.Tx) error {
		var err error
		other, err = tenants.CreateSite(context.Background(), tx, "o"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkIDs, alertIDs := seedPages(t, s.db.OwnerURL, s.id)
	otherChecks, otherAlerts := seedPages(t, s.db.OwnerURL, other.ID)
	// The parents: this site's (one twice), the other site's and one that
	// names nothing.
	checkParents := append(append(append([]uuid.UUID{}, checkIDs...), checkIDs[3], uuid.New()), otherChecks...)
	alertParents := append(append(append([]uuid.UUID{}, alertIDs...), uuid.New()), otherAlerts...)
	mine := map[uuid.UUID]bool{}
	for _, id := range append(append([]uuid.UUID{}, checkIDs...), alertIDs...) {
		mine[id] = true
	}

	// batch is one list's batched read for an argument set; single reads
	// one parent's first page the old way. Both give rows, more and the
	// rows' cursors (for history, the page's end cursor).
	type page struct {
		rows    any
		more    bool
		cursors []string
	}
	type list struct {
		name    string
		parents []uuid.UUID
		batch   func(ctx context.Context, tx pgx.Tx, first int) (map[uuid.UUID]page, error)
		single  func(ctx context.Context, tx pgx.Tx, parent uuid.UUID, first int) (page, error)
	}
	cursors := func(n int, cursor func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = cursor(i)
		}
		return out
	}
	alertPage := func(rows []*store.Alert, more bool) page {
		return page{rows, more, cursors(len(rows), func(i int) string { return rows[i].Cursor() })}
	}
	commentPage := func(rows []*store.Comment, more bool) page {
		return page{rows, more, cursors(len(rows), func(i int) string { return rows[i].Cursor() })}
	}
	downtimePage := func(rows []*store.Downtime, more bool) page {
		return page{rows, more, cursors(len(rows), func(i int) string { return rows[i].Cursor() })}
	}
	historyPage := func(rows []*store.StateChange, more bool) page {
		return page{rows, more, []string{store.HistoryEndCursor(rows)}}
	}
	convert := func(n int, each func(add func(uuid.UUID, page))) map[uuid.UUID]page {
		out := make(map[uuid.UUID]page, n)
		each(func(id uuid.UUID, p page) { out[id] = p })
		return out
	}
	var lists []list
	for _, open := range []*bool{nil, ptr(true), ptr(false)} {
		lists = append(lists, list{fmt.Sprintf("alerts(open: %v)", deref(open)), checkParents,
			func(ctx context.Context, tx pgx.Tx, first int) (map[uuid.UUID]page, error) {
				m, err := store.AlertPages(ctx, tx, open, checkParents, first)
				return convert(len(m), func(add func(uuid.UUID, page)) {
					for id, p := range m {
						add(id, alertPage(p.Rows, p.More))
					}
				}), err
			},
			func(ctx context.Context, tx pgx.Tx, parent uuid.UUID, first int) (page, error) {
				rows, more, err := store.Alerts(ctx, tx, open, parent.String(), first, "")
				return alertPage(rows, more), err
			}})
	}
	for _, active := range []bool{false, true} {
		lists = append(lists, list{fmt.Sprintf("downtimes(active: %v)", active), checkParents,
			func(ctx context.Context, tx pgx.Tx, first int) (map[uuid.UUID]page, error) {
				m, err := store.DowntimePages(ctx, tx, checkParents, active, first)
				return convert(len(m), func(add func(uuid.UUID, page)) {
					for id, p := range m {
						add(id, downtimePage(p.Rows, p.More))
					}
				}), err
			},
			func(ctx context.Context, tx pgx.Tx, parent uuid.UUID, first int) (page, error) {
				rows, more, err := store.Downtimes(ctx, tx, parent.String(), active, first, "")
				return downtimePage(rows, more), err
			}})
	}
	lists = append(lists,
		list{"check comments", checkParents,
			func(ctx context.Context, tx pgx.Tx, first int) (map[uuid.UUID]page, error) {
				m, err := store.CheckCommentPages(ctx, tx, checkParents, first)
				return convert(len(m), func(add func(uuid.UUID, page)) {
					for id, p := range m {
						add(id, commentPage(p.Rows, p.More))
					}
				}), err
			},
			func(ctx context.Context, tx pgx.Tx, parent uuid.UUID, first int) (page, error) {
				rows, more, err := store.Comments(ctx, tx, parent.String(), "", first, "")
				return commentPage(rows, more), err
			}},
		list{"alert comments", alertParents,
			func(ctx context.Context, tx pgx.Tx, first int) (map[uuid.UUID]page, error) {
				m, err := store.AlertCommentPages(ctx, tx, alertParents, first)
				return convert(len(m), func(add func(uuid.UUID, page)) {
					for id, p := range m {
						add(id, commentPage(p.Rows, p.More))
					}
				}), err
			},
			func(ctx context.Context, tx pgx.Tx, parent uuid.UUID, first int) (page, error) {
				rows, more, err := store.Comments(ctx, tx, "", parent.String(), first, "")
				return commentPage(rows, more), err
			}},
		list{"history", checkParents,
			func(ctx context.Context, tx pgx.Tx, first int) (map[uuid.UUID]page, error) {
				m, err := store.HistoryPages(ctx, tx, checkParents, first)
				return convert(len(m), func(add func(uuid.UUID, page)) {
					for id, p := range m {
						add(id, historyPage(p.Rows, p.More))
					}
				}), err
			},
			func(ctx context.Context, tx pgx.Tx, parent uuid.UUID, first int) (page, error) {
				rows, more, cursor, err := store.History(ctx, tx, parent.String(), first, "")
				p := historyPage(rows, more)
				if cursor != p.cursors[0] {
					return p, fmt.Errorf("History's end cursor %q is not HistoryEndCursor's %q", cursor, p.cursors[0])
				}
				return p, err
			}},
	)

	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			withMore, empty := 0, 0
			for _, first := range []int{1, 2, 3, 500} {
				err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
					batch, err := l.batch(ctx, tx, first)
					if err != nil {
						return err
					}
					for id := range batch {
						if !mine[id] {
							t.Errorf("first %d: the batch answers for %s, not a parent of this site", first, id)
						}
					}
					for _, id := range l.parents {
						want, err := l.single(ctx, tx, id, first)
						if err != nil {
							return err
						}
						got, ok := batch[id]
						if reflect.ValueOf(want.rows).Len() == 0 {
							empty++
							if ok || want.more {
								t.Errorf("first %d, parent %s: the single read is empty, the batch gives %+v", first, id, got)
							}
							continue
						}
						if !mine[id] {
							t.Errorf("first %d: %s of another site has rows in this one", first, id)
						}
						if want.more {
							withMore++
						}
						if !reflect.DeepEqual(got, want) {
							t.Errorf("first %d, parent %s: batched %+v, single %+v", first, id, got, want)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if withMore == 0 && l.name != "alerts(open: true)" || empty == 0 { // a check has one open alert at most
				t.Fatalf("%d pages with more, %d empty: the seed should give both", withMore, empty)
			}
		})
	}

	t.Run("bad first", func(t *testing.T) {
		err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := store.AlertPages(ctx, tx, nil, checkIDs, 1001); err == nil || !strings.Contains(err.Error(), "first must be between") {
				t.Errorf("AlertPages with first 1001: %v", err)
			}
			if _, err := store.HistoryPages(ctx, tx, checkIDs, 0); err == nil || !strings.Contains(err.Error(), "first must be between") {
				t.Errorf("HistoryPages with first 0: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func deref(b *bool) any {
	if b == nil {
		return "nil"
	}
	return *b
}
