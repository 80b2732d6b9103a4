// Workers & zones: the site's zones (the operator's shared ones its checks
// use, and its own private ones) with their connected workers, and, for
// administrators, the keys of the site's remote workers.
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { WorkerKey, Zone, ZoneWorker } from "../api/types";
import { ErrorBox, Loading, useLiveRefetch, useMutation, useNow, useQuery } from "../components/query";
import { ago, dateTime, since } from "../format";
import { usePermissions } from "../store/permissions";

/** hubURL is this server's worker gateway, as a remote worker dials it. */
export function hubURL(loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/worker`;
}

/** keyFile names the file a zone's key is kept in on the worker's machine. */
export function keyFile(zone: string): string {
  return `${zone.replace(/[^A-Za-z0-9._-]+/g, "-")}.key`;
}

/** workerCommand is the command that starts a remote worker with a key kept in file. */
export function workerCommand(hub: string, file: string): string {
  return `bergamot worker --hub ${hub} --key-file ${file}`;
}

export function WorkersPage() {
  const now = useNow(5000);
  const perm = usePermissions();
  const { data, error, loading, refetch } = useQuery<{ zones: Zone[] }>(Q.ZONES);
  // Heartbeats bring no check updates: poll every 10 s (a worker's row is
  // refreshed every 10 s), and sooner while checks change.
  useLiveRefetch(refetch, { interval: 5000, poll: 10_000 });
  const zones = data?.zones ?? [];
  const workers = zones.reduce((n, z) => n + z.workers.length, 0);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Workers & zones</h1>
        <span class="muted">{data ? `${workers} worker${workers === 1 ? "" : "s"} connected in ${zones.length} zone${zones.length === 1 ? "" : "s"}` : ""}</span>
      </div>
      <p class="muted small">
        A check runs in the zone its <code>worker-pool</code> names (else <code>default</code>). <strong>Shared</strong> zones are the operator's, served for every site;
        any other zone is this site's <strong>private</strong> zone, run only by remote workers holding one of its keys.
      </p>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && zones.length === 0 && <div class="panel empty">No zones yet: apply a configuration, or create a key for a private zone below.</div>}
      {zones.map((z) => <ZonePanel key={z.name} zone={z} now={now} />)}
      {perm.canManageUsers ? <Keys zones={zones} onChanged={refetch} /> : (
        <section class="panel"><h2>Worker keys</h2><p class="muted small">Only administrators create, list and revoke worker keys.</p></section>
      )}
    </div>
  );
}

function ZonePanel({ zone, now }: { zone: Zone; now: number }) {
  const n = zone.workers.length;
  return (
    <section class="panel" data-zone={zone.name}>
      <div class="panel-head">
        <h2>
          Zone <span class="mono">{zone.name}</span>{" "}
          <span class={`chip ${zone.shared ? "" : "chip-private"}`} title={zone.shared ? "An operator zone, served for every site" : "This site's own zone, served by its remote workers"}>
            {zone.shared ? "shared" : "private"}
          </span>
        </h2>
        <span class="muted small">{zone.checks} check{zone.checks === 1 ? "" : "s"}</span>
        <span class={`chip ${n === 0 ? "chip-bad" : "chip-ok"}`}>{n === 0 ? "✕ no worker connected" : `✓ ${n} connected`}</span>
      </div>
      {n === 0 ? (
        <div class="empty small">
          {zone.shared
            ? "No worker of this operator zone is connected: its checks time out until the operator starts one."
            : "No worker is connected: its checks time out. Create a key below and start a worker with it."}
        </div>
      ) : (
        <div class="table workers-table" role="table" aria-label={`Workers in zone ${zone.name}`}>
          <div class="tr th" role="row">
            <span role="columnheader">Worker</span>
            <span role="columnheader">Address</span>
            <span role="columnheader">Engines</span>
            <span role="columnheader">In flight</span>
            <span role="columnheader">Last seen</span>
          </div>
          {zone.workers.map((w) => <WorkerRow key={w.id} w={w} now={now} />)}
        </div>
      )}
    </section>
  );
}

function WorkerRow({ w, now }: { w: ZoneWorker; now: number }) {
  return (
    <div class="tr worker-row" role="row">
      <span role="cell" class="c-name">
        <span class="check-name">{w.name}</span> <span class="muted small">{w.version || "unknown version"}{w.node ? ` · via ${w.node}` : " · direct"}</span>
      </span>
      <span role="cell" class="mono small" data-field="address">{w.address || "—"}</span>
      <span role="cell" class="small" data-field="engines">{w.engines.join(", ") || "none"}</span>
      <span role="cell" class="small" data-field="inflight">{w.inFlight}</span>
      <span role="cell" class="small" title={`Connected ${dateTime(w.connectedAt)} (for ${since(w.connectedAt, now)})`}>{ago(w.lastSeen, now)}</span>
    </div>
  );
}

function Keys({ zones, onChanged }: { zones: Zone[]; onChanged: () => void }) {
  const { data, error, refetch } = useQuery<{ workerKeys: WorkerKey[] }>(Q.WORKER_KEYS);
  const create = useMutation<{ createWorkerKey: WorkerKey }>(Q.CREATE_WORKER_KEY);
  const revoke = useMutation(Q.REVOKE_WORKER_KEY);
  const [zone, setZone] = useState("");
  const [name, setName] = useState("");
  const [fresh, setFresh] = useState<WorkerKey | null>(null);
  const privateZones = zones.filter((z) => !z.shared).map((z) => z.name);
  const changed = () => { void refetch(); onChanged(); };
  return (
    <section class="panel">
      <h2>Worker keys</h2>
      {fresh?.key && <FreshKey k={fresh} onDone={() => setFresh(null)} />}
      <ErrorBox error={error} retry={refetch} />
      {data && (data.workerKeys.length === 0 ? <div class="empty">No worker keys yet.</div> : (
        <div class="table" role="table" aria-label="Worker keys">
          {data.workerKeys.map((k) => (
            <div class={`tr ${k.revoked ? "is-handled" : ""}`} role="row" key={k.id}>
              <span role="cell" class="c-name"><span class="check-name">{k.name}</span> <span class="muted small">zone <span class="mono">{k.zone}</span></span></span>
              <span role="cell" class="muted small" title={dateTime(k.createdAt)}>created {ago(k.createdAt)} · {k.lastSeen ? `used ${ago(k.lastSeen)}` : "never used"}</span>
              <span role="cell">
                {k.revoked ? <span class="chip">revoked</span> : (
                  <button class="btn btn-small btn-danger" data-action="revoke-key" disabled={revoke.busy}
                    onClick={async () => { if (confirm(`Revoke key "${k.name}"? Its workers are disconnected at once.`) && (await revoke.run({ id: k.id }, "Key revoked; its workers are disconnected"))) changed(); }}>Revoke</button>
                )}
              </span>
            </div>
          ))}
        </div>
      ))}
      <form class="inline-form" onSubmit={async (e) => {
        e.preventDefault();
        const d = await create.run({ zone: zone.trim(), name: name.trim() });
        if (d) { setFresh(d.createWorkerKey); setName(""); changed(); }
      }}>
        <input required list="private-zones" placeholder="Private zone, e.g. dc1" aria-label="Zone" value={zone} onInput={(e) => setZone(e.currentTarget.value)} />
        <datalist id="private-zones">{privateZones.map((z) => <option key={z} value={z} />)}</datalist>
        <input required placeholder="Key name, e.g. dc1-a" aria-label="Key name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button class="btn btn-small" data-action="create-key" disabled={create.busy}>Create key</button>
      </form>
    </section>
  );
}

function FreshKey({ k, onDone }: { k: WorkerKey; onDone: () => void }) {
  const file = keyFile(k.zone);
  const save = `umask 077; echo '${k.key}' > ${file}`;
  const run = workerCommand(hubURL(), file);
  const copy = (s: string) => void navigator.clipboard?.writeText(s);
  return (
    <div class="notice fresh-key" role="status">
      <strong>Key "{k.name}" for zone {k.zone}: copy it now; it is not shown again.</strong>
      <div class="cmd-line"><code class="token" data-field="key">{k.key}</code><button class="btn btn-small" onClick={() => copy(k.key!)}>Copy key</button></div>
      <span class="small">On the worker's machine, keep it in a file, then start the worker:</span>
      <div class="cmd-line"><code class="token" data-field="save">{save}</code><button class="btn btn-small" onClick={() => copy(save)}>Copy</button></div>
      <div class="cmd-line"><code class="token" data-field="command">{run}</code><button class="btn btn-small" onClick={() => copy(run)}>Copy</button></div>
      <button class="btn btn-small" onClick={onDone}>Done</button>
    </div>
  );
}
