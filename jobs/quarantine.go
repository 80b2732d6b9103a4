package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// poisonable reports whether err may come from the data of a result (so
// splitting the batch finds the row that causes it) rather than from the
// database being unreachable, busy or shutting down, where the batch
// just runs again later.
func poisonable(err error) bool {
	if errors.Is(err, errStateChanged) {
		return false
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) < 2 {
		return false
	}
	switch pe.Code[:2] {
	case "08", // connection
		"25", // transaction state
		"40", // serialization failure, deadlock
		"53", // insufficient resources
		"55", // lock not available
		"57", // operator intervention, statement timeout
		"58", // system error
		"XX": // internal error
		return false
	}
	return true
}

// split processes the inbox rows ids (a batch that failed with cause) in
// two halves, each in its own transaction, splitting a half again when it
// fails too, down to the single row that fails on its own, which is set
// aside. Arrival order is kept: the first half commits before the second.
func (p *Processor) split(ctx context.Context, lanes []int32, ids []int64, cause error) (int, error) {
	if len(ids) == 1 {
		return p.quarantine(ctx, lanes, ids[0], cause)
	}
	total := 0
	half := len(ids) / 2
	for _, part := range [][]int64{ids[:half], ids[half:]} {
		var n int
		var claimed []int64
		var err error
		for attempt := 1; ; attempt++ {
			n, claimed, err = p.processRows(ctx, lanes, part)
			if !errors.Is(err, errStateChanged) || attempt == 5 {
				break
			}
		}
		if err != nil && poisonable(err) && len(claimed) > 0 && ctx.Err() == nil {
			n, err = p.split(ctx, lanes, claimed, err)
		}
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// quarantine sets the inbox row id aside (result_quarantine, with the
// database's reason) and gives its check an ERROR result that says what
// was wrong, so the check shows the problem instead of silently keeping
// its old state. If even that result cannot be written, the row is set
// aside alone.
func (p *Processor) quarantine(ctx context.Context, lanes []int32, id int64, cause error) (int, error) {
	reason := poisonReason(cause)
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		var n int
		n, err = p.setAside(ctx, lanes, id, reason, true)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, errStateChanged) {
			break
		}
	}
	if ctx.Err() != nil {
		return 0, err
	}
	p.Logger.ErrorContext(ctx, "the ERROR result for a set-aside result failed too: setting it aside alone",
		slog.Int64("inbox_id", id), slog.Any("error", err))
	return p.setAside(ctx, lanes, id, reason, false)
}

// setAside moves inbox row id into result_quarantine in one transaction,
// with (withState) an ERROR result for its check.
func (p *Processor) setAside(ctx context.Context, lanes []int32, id int64, reason string, withState bool) (int, error) {
	tx, err := p.Pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("setting a result aside: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	claimed, ok, err := store.ClaimResultOnly(ctx, tx, id, lanesOf(lanes))
	if err != nil {
		return 0, fmt.Errorf("setting a result aside: %w", err)
	}
	if !ok {
		return 0, nil // another processor took it
	}
	row := &inboxRow{site: claimed.Site, check: claimed.Check, received: claimed.Received}
	body := string(claimed.Body)
	if err := tenants.SetSite(ctx, tx, row.site); err != nil {
		return 0, err
	}
	const keep = 64 << 10
	kept := body
	if len(kept) > keep {
		kept = kept[:keep]
		for len(kept) > 0 && kept[len(kept)-1]&0xC0 == 0x80 { // not in the middle of a character
			kept = kept[:len(kept)-1]
		}
		if len(kept) > 0 && kept[len(kept)-1] >= 0xC0 {
			kept = kept[:len(kept)-1]
		}
	}
	if err := store.Quarantine(ctx, tx, claimed, kept, reason); err != nil {
		return 0, fmt.Errorf("setting a result aside: %w", err)
	}
	n := 0
	if withState {
		var orig checks.Result
		_ = json.Unmarshal([]byte(body), &orig)
		row.result = setAsideResult(orig, reason)
		if err := p.processSite(ctx, tx, row.site, []*inboxRow{row}); err != nil {
			return 0, err
		}
		n = 1
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("setting a result aside: %w", err)
	}
	p.Logger.ErrorContext(ctx, "set aside a result that cannot be stored", slog.String("site", row.site.String()),
		slog.String("check", row.check.String()), slog.Int64("inbox_id", id), slog.String("reason", reason))
	return n, nil
}

// poisonReason says in a line why PostgreSQL refused a result.
func poisonReason(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return err.Error()
}

// setAsideResult is the ERROR result a check gets in place of a result
// that was set aside: what was wrong and what the result said.
func setAsideResult(orig checks.Result, reason string) checks.Result {
	// Now, not the result's own time: the ERROR must not be ignored as
	// older than the check's state.
	res := checks.Result{Status: checks.StatusError, Started: time.Now(), Worker: orig.Worker,
		Output: fmt.Sprintf("a result for this check could not be stored and was set aside: %s; it said %s %q",
			reason, orig.Status, orig.Output)}
	checks.DefaultLimits.Normalize(&res)
	return res
}
