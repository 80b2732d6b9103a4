// Operator actions on a check: execute now, acknowledge, downtime, suppress.
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { CheckSummary, Downtime } from "../api/types";
import { Dialog } from "../components/dialog";
import { useMutation } from "../components/query";
import { dateTime, localInput } from "../format";
import { useApp } from "../store/app";
import { usePermissions } from "../store/permissions";

export function CheckActions({ check, downtimes, onChanged }: { check: CheckSummary; downtimes: Downtime[]; onChanged: () => void }) {
  const app = useApp();
  const s = check.state;
  const [dialog, setDialog] = useState<"ack" | "downtime" | null>(null);
  const exec = useMutation(Q.EXECUTE_NOW);
  const unack = useMutation(Q.UNACKNOWLEDGE);
  const sup = useMutation(s.suppressed ? Q.UNSUPPRESS : Q.SUPPRESS);
  const cancelDt = useMutation(Q.CANCEL_DOWNTIME);
  const done = () => {
    onChanged();
    void app.refreshOverview().catch(() => {});
  };
  const active = downtimes.filter((d) => !d.cancelled);
  const perm = usePermissions();
  // Viewers see the actions greyed out, with the reason as a tooltip.
  const no = !perm.canEdit;
  const why = perm.editReason || undefined;
  return (
    <div class="actions">
      <button class="btn btn-primary" data-action="execute" disabled={no || exec.busy} title={why} onClick={async () => { await exec.run({ checkId: check.id }); }}>
        ↻ Execute now
      </button>
      {!s.ok && !s.acknowledged && (
        <button class="btn" data-action="acknowledge" disabled={no} title={why} onClick={() => setDialog("ack")}>
          ✓ Acknowledge
        </button>
      )}
      {s.acknowledged && (
        <button class="btn" data-action="unacknowledge" disabled={no || unack.busy} title={why} onClick={async () => { if (await unack.run({ checkId: check.id }, "Acknowledgement removed")) done(); }}>
          Remove acknowledgement
        </button>
      )}
      <button class="btn" data-action="downtime" disabled={no} title={why} onClick={() => setDialog("downtime")}>
        ☾ Schedule downtime
      </button>
      <button class="btn" data-action={s.suppressed ? "unsuppress" : "suppress"} disabled={no || sup.busy} title={why} onClick={async () => { if (await sup.run({ checkId: check.id }, s.suppressed ? "Notifications resumed" : "Notifications suppressed")) done(); }}>
        {s.suppressed ? "Unsuppress" : "◌ Suppress"}
      </button>
      {active.length > 0 && (
        <div class="downtimes" aria-label="Active downtimes">
          {active.map((d) => (
            <span key={d.id} class="chip chip-dt">
              ☾ until {dateTime(d.end)} — {d.comment}
              <button class="link-btn" disabled={no || cancelDt.busy} title={why} onClick={async () => { if (await cancelDt.run({ id: d.id }, "Downtime cancelled")) done(); }}>
                cancel
              </button>
            </span>
          ))}
        </div>
      )}
      {dialog === "ack" && <AckDialog check={check} onClose={() => setDialog(null)} onDone={done} />}
      {dialog === "downtime" && <DowntimeDialog check={check} onClose={() => setDialog(null)} onDone={done} />}
    </div>
  );
}

function AckDialog({ check, onClose, onDone }: { check: CheckSummary; onClose: () => void; onDone: () => void }) {
  const [comment, setComment] = useState("");
  const [sticky, setSticky] = useState(true);
  const ack = useMutation(Q.ACKNOWLEDGE);
  return (
    <Dialog title={`Acknowledge ${check.name}`} onClose={onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await ack.run({ checkId: check.id, comment, sticky }, "Acknowledged")) {
            onClose();
            onDone();
          }
        }}
      >
        <label>
          Comment
          <textarea name="comment" rows={3} required value={comment} onInput={(e) => setComment(e.currentTarget.value)} placeholder="Looking into it" />
        </label>
        <label class="toggle">
          <input type="checkbox" checked={sticky} onChange={(e) => setSticky(e.currentTarget.checked)} /> Sticky (stays until the check recovers)
        </label>
        <div class="form-actions">
          <button type="button" class="btn btn-ghost" onClick={onClose}>Cancel</button>
          <button type="submit" class="btn btn-primary" disabled={ack.busy}>Acknowledge</button>
        </div>
      </form>
    </Dialog>
  );
}

const DURATIONS: [string, number][] = [["30 minutes", 30], ["1 hour", 60], ["2 hours", 120], ["4 hours", 240], ["1 day", 1440], ["1 week", 10080]];

function DowntimeDialog({ check, onClose, onDone }: { check: CheckSummary; onClose: () => void; onDone: () => void }) {
  const [start, setStart] = useState(localInput(new Date()));
  const [minutes, setMinutes] = useState(60);
  const [comment, setComment] = useState("");
  const dt = useMutation(Q.SCHEDULE_DOWNTIME);
  return (
    <Dialog title={`Schedule downtime for ${check.name}`} onClose={onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          const s = new Date(start);
          const end = new Date(s.getTime() + minutes * 60_000);
          if (await dt.run({ checkId: check.id, start: s.toISOString(), end: end.toISOString(), comment }, "Downtime scheduled")) {
            onClose();
            onDone();
          }
        }}
      >
        <label>
          Start
          <input name="start" type="datetime-local" required value={start} onInput={(e) => setStart(e.currentTarget.value)} />
        </label>
        <label>
          Duration
          <select name="duration" value={String(minutes)} onChange={(e) => setMinutes(Number(e.currentTarget.value))}>
            {DURATIONS.map(([l, m]) => (
              <option key={m} value={String(m)}>{l}</option>
            ))}
          </select>
        </label>
        <label>
          Comment
          <textarea name="comment" rows={2} required value={comment} onInput={(e) => setComment(e.currentTarget.value)} placeholder="Planned maintenance" />
        </label>
        <div class="form-actions">
          <button type="button" class="btn btn-ghost" onClick={onClose}>Cancel</button>
          <button type="submit" class="btn btn-primary" disabled={dt.busy}>Schedule</button>
        </div>
      </form>
    </Dialog>
  );
}
