// Overview: counts by status and the live problems list, worst first.
import { useEffect, useState } from "preact/hooks";
import type { CheckFilter } from "../api/types";
import { CheckTable } from "../components/checktable";
import { ErrorBox, useLiveFilter, useNow } from "../components/query";
import { href } from "../router";
import { useApp } from "../store/app";
import { handled, problemList, totalChecks } from "../store/checks";
import { useStore } from "../store/store";
import { isProblem, STATUSES_WORST_FIRST, statusClass, statusIcon, type Status } from "../status";

/** The problems list shows its checks' output: follow every result of the problems (and their recoveries). */
const PROBLEMS: CheckFilter = { problems: true };

export function OverviewPage() {
  const app = useApp();
  const now = useNow(5000);
  const [error, setError] = useState<Error | null>(null);
  const [showHandled, setShowHandled] = useState(true);
  const counts = useStore(app.state, (s) => s.counts);
  const problems = useStore(app.state, problemList);
  useLiveFilter(PROBLEMS);

  const load = () => app.refreshOverview().then(() => setError(null), setError);
  useEffect(() => {
    void load();
  }, []);

  const total = totalChecks(counts);
  const unhandled = problems.filter((p) => !handled(p));
  const shown = showHandled ? problems : unhandled;
  const tiles = STATUSES_WORST_FIRST.filter((s) => counts && (counts[s] > 0 || ["CRITICAL", "WARNING", "UNKNOWN", "OK"].includes(s)));

  return (
    <div class="page overview">
      <ErrorBox error={error} retry={load} />
      <section class="tiles" aria-label="Checks by status">
        {counts === null && !error && <div class="tile tile-skeleton">Loading…</div>}
        {tiles.map((s) => (
          <StatusTile key={s} status={s} count={counts![s]} total={total} />
        ))}
      </section>

      <section class="panel problems-panel" aria-labelledby="problems-title">
        <div class="panel-head">
          <h2 id="problems-title">
            Problems <span class="count">{unhandled.length}</span>
            {problems.length > unhandled.length && <span class="muted small"> + {problems.length - unhandled.length} handled</span>}
          </h2>
          <label class="toggle">
            <input type="checkbox" checked={showHandled} onChange={(e) => setShowHandled(e.currentTarget.checked)} /> Show acknowledged & in downtime
          </label>
        </div>
        <CheckTable
          checks={shown}
          now={now}
          empty={
            counts === null ? (
              "Loading…"
            ) : total === 0 ? (
              <span>
                No checks yet. <a href="#/config">Add configuration</a> to start monitoring.
              </span>
            ) : (
              <span class="all-ok">
                <span class="all-ok-icon" aria-hidden="true">✓</span> All {total} checks are OK.
              </span>
            )
          }
        />
      </section>
    </div>
  );
}

function StatusTile({ status, count, total }: { status: Status; count: number; total: number }) {
  const pct = total ? Math.round((count / total) * 100) : 0;
  return (
    <a class={`tile ${statusClass(status)} ${count > 0 && isProblem(status) ? "tile-hot" : ""} ${count === 0 ? "tile-zero" : ""}`} href={href("/checks", { status })} data-status={status}>
      <span class="tile-label">
        <span class="tile-icon" aria-hidden="true">{statusIcon(status)}</span>
        {status}
      </span>
      <span class="tile-count">{count}</span>
      <span class="tile-pct">{count > 0 && pct === 0 ? "<1" : pct}%</span>
    </a>
  );
}
