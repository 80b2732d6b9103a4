// SLAs: every agreement of the site measured now: status against its
// target, the error budget left, and the incidents (outages) that used it,
// with links to the CSV export and each agreement's printable report
// (docs/reporting.md).
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { SLA } from "../api/types";
import { ErrorBox, Loading, useQuery } from "../components/query";
import { dateTime, duration } from "../format";
import { href } from "../router";

/** percent formats a percentage with enough digits to tell 99.9 from 99.95. */
export function percent(p: number): string {
  return `${p.toFixed(p >= 99 ? 3 : 2)}%`;
}

/** budgetLabel says how much error budget is left, or how far it is overspent. */
export function budgetLabel(s: Pick<SLA, "remainingSeconds" | "remainingFraction">): string {
  if (s.remainingSeconds < 0) return `overspent by ${duration(-s.remainingSeconds * 1000)}`;
  return `${duration(s.remainingSeconds * 1000)} left (${Math.round(s.remainingFraction * 100)}%)`;
}

/** slaState is the chip shown for an agreement. */
export function slaState(s: Pick<SLA, "met" | "remainingFraction">): { label: string; cls: string } {
  if (!s.met) return { label: "missed", cls: "chip-bad" };
  if (s.remainingFraction < 0.25) return { label: "at risk", cls: "chip-warn" };
  return { label: "met", cls: "chip-ok" };
}

export function SLAsPage() {
  const { data, error, loading, refetch } = useQuery<{ slas: SLA[] }>(Q.SLAS);
  const slas = data?.slas ?? [];
  return (
    <div class="page">
      <div class="page-head">
        <h1>SLAs</h1>
        <span class="muted">{data ? `${slas.length} agreement${slas.length === 1 ? "" : "s"}` : ""}</span>
        <a class="btn" href="/api/v1/slas.csv" download>Download CSV</a>
      </div>
      <p class="muted small">
        Each <code>&lt;sla&gt;</code> of the configuration, measured over its current period so far. The error budget is the down time the target allows over the whole period.
      </p>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && slas.length === 0 && (
        <div class="panel empty">No agreements yet: add <code>&lt;sla name="..." target="99.9" period="month"/&gt;</code> to a host, service or group in the configuration.</div>
      )}
      {slas.map((s) => <SLAPanel key={s.id} sla={s} />)}
    </div>
  );
}

function SLAPanel({ sla: s }: { sla: SLA }) {
  const [open, setOpen] = useState(false);
  const st = slaState(s);
  const used = s.budgetSeconds > 0 ? Math.min(1, Math.max(0, s.usedSeconds / s.budgetSeconds)) : 1;
  return (
    <section class="panel sla" data-sla={s.name}>
      <div class="panel-head">
        <h2>
          {s.name}{" "}
          <span class="muted small">
            {s.subjectKind} {s.checkId ? <a href={href(`/check/${s.checkId}`)}>{s.subject}</a> : s.subject}
          </span>
        </h2>
        <span class={`chip ${st.cls}`}>{st.label}</span>
      </div>
      <div class="sla-figures">
        <div><span class="muted small">Availability</span><strong class="sla-percent">{percent(s.percent)}</strong><span class="muted small">target {s.target}%</span></div>
        <div><span class="muted small">Error budget</span><strong class="sla-budget">{budgetLabel(s)}</strong><span class="muted small">{duration(s.usedSeconds * 1000)} used of {duration(s.budgetSeconds * 1000)}</span></div>
        <div><span class="muted small">Period ({s.period})</span><strong>{dateTime(s.from)}</strong><span class="muted small">to {dateTime(s.to)} {s.timeZone}</span></div>
      </div>
      <div class="budget-bar" role="meter" aria-label="error budget used" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(used * 100)}>
        <span class={used >= 1 ? "over" : used > 0.75 ? "high" : ""} style={{ width: `${used * 100}%` }} />
      </div>
      <div class="sla-links small">
        <a href={`/api/v1/slas/${encodeURIComponent(s.id)}/report`} target="_blank" rel="noopener">Printable report</a>
        {" · "}
        <button class="link-btn" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? "Hide" : "Show"} incidents ({s.incidents.length})
        </button>
        <span class="muted"> · downtime {s.downtime}, blind time {s.blind}</span>
      </div>
      {open && (
        s.incidents.length === 0 ? <div class="empty small">No outages in this period.</div> : (
          <div class="table sla-incidents" role="table" aria-label={`Incidents of ${s.name}`}>
            <div class="tr th" role="row">
              <span role="columnheader">Check</span><span role="columnheader">Status</span><span role="columnheader">From</span>
              <span role="columnheader">Lasted</span><span role="columnheader">Output</span>
            </div>
            {s.incidents.map((i) => (
              <div class="tr incident-row" role="row" key={i.checkId + i.from}>
                <span role="cell"><a href={href(`/check/${i.checkId}`)}>{i.check}</a></span>
                <span role="cell" class={`st st-${i.status.toLowerCase()}`}>{i.status}</span>
                <span role="cell">{dateTime(i.from)}</span>
                <span role="cell">{duration(Date.parse(i.to) - Date.parse(i.from))}</span>
                <span role="cell" class="muted small">{i.output}</span>
              </div>
            ))}
          </div>
        )
      )}
    </section>
  );
}
