// Status pages: the site's public pages (docs/status-pages.md). Editors
// create pages, choose what each shows (a check or a group under a public
// name) and write incidents and maintenance notices with their updates.
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { StatusIncident, StatusPage } from "../api/types";
import { ErrorBox, Loading, useMutation, useQuery } from "../components/query";
import { dateTime } from "../format";
import { usePermissions } from "../store/permissions";

/** STATES lists the states of each kind of incident, the first the default. */
export const STATES: Record<string, string[]> = {
  incident: ["investigating", "identified", "monitoring", "resolved"],
  maintenance: ["scheduled", "in_progress", "completed"],
};

/** stateLabel is an incident state in words. */
export function stateLabel(s: string): string {
  return s === "in_progress" ? "In progress" : s.charAt(0).toUpperCase() + s.slice(1);
}

interface Data {
  statusPages: StatusPage[];
  hosts: { id: string; name: string; services: { id: string; name: string }[] }[];
  groups: { name: string }[];
}

export function StatusPagesPage() {
  const perm = usePermissions();
  const { data, error, loading, refetch } = useQuery<Data>(Q.STATUS_PAGES);
  const pages = data?.statusPages ?? [];
  return (
    <div class="page">
      <div class="page-head">
        <h1>Status pages</h1>
        <span class="muted">{data ? `${pages.length} page${pages.length === 1 ? "" : "s"}` : ""}</span>
      </div>
      <p class="muted small">
        Public pages, served without sign-in: each shows the components you name here (never a check's own name or output), their uptime over 90 days, and the incidents you write. Changes show within 10 seconds.
      </p>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && pages.map((p) => <PagePanel key={p.id} page={p} data={data} canEdit={perm.canEdit} onChanged={refetch} />)}
      {data && pages.length === 0 && <div class="panel empty">No status page yet.</div>}
      {perm.canEdit && <NewPage onChanged={refetch} />}
    </div>
  );
}

function NewPage({ onChanged }: { onChanged: () => void }) {
  const [slug, setSlug] = useState("");
  const [title, setTitle] = useState("");
  const [domain, setDomain] = useState("");
  const save = useMutation(Q.SAVE_STATUS_PAGE);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await save.run({ input: { slug, title, domain } }, `Status page ${slug} created`)) {
      setSlug(""); setTitle(""); setDomain("");
      onChanged();
    }
  };
  return (
    <section class="panel">
      <h2>New status page</h2>
      <form class="form-row" onSubmit={submit} aria-label="New status page">
        <label>Slug <input value={slug} onInput={(e) => setSlug(e.currentTarget.value)} placeholder="public" required pattern="[a-z0-9-]+" /></label>
        <label>Title <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} placeholder="Acme Cloud" required /></label>
        <label>Own host name (optional) <input value={domain} onInput={(e) => setDomain(e.currentTarget.value)} placeholder="status.example.com" /></label>
        <button class="btn btn-primary" disabled={save.busy}>Create</button>
      </form>
    </section>
  );
}

function PagePanel({ page: p, data, canEdit, onChanged }: { page: StatusPage; data: Data; canEdit: boolean; onChanged: () => void }) {
  const del = useMutation(Q.DELETE_STATUS_PAGE);
  const delComp = useMutation(Q.DELETE_STATUS_COMPONENT);
  const open = p.incidents.filter((i) => !i.resolvedAt);
  return (
    <section class="panel status-page" data-page={p.slug}>
      <div class="panel-head">
        <h2>{p.title}</h2>
        <a href={p.path} target="_blank" rel="noopener" class="mono small">{p.path}</a>
        {p.domain && <span class="muted small">also at https://{p.domain}/</span>}
        {canEdit && (
          <button class="link-btn" disabled={del.busy} onClick={async () => {
            if (confirm(`Delete the status page ${p.slug} with its components and incidents?`) && (await del.run({ id: p.id }, "Status page deleted"))) onChanged();
          }}>Delete</button>
        )}
      </div>
      <h3>Components</h3>
      {p.components.length === 0 && <div class="empty small">No components: the page shows "No components yet".</div>}
      <ul class="components">
        {p.components.map((c) => (
          <li key={c.id} data-component={c.name}>
            <strong>{c.name}</strong> <span class="muted small">{c.groupName ? `group ${c.groupName}` : `check ${checkName(data, c.checkId)}`}</span>
            {canEdit && <button class="link-btn" disabled={delComp.busy} onClick={async () => { if (await delComp.run({ id: c.id }, "Component removed")) onChanged(); }}>Remove</button>}
          </li>
        ))}
      </ul>
      {canEdit && <NewComponent page={p} data={data} onChanged={onChanged} />}
      <h3>Incidents and maintenance</h3>
      {p.incidents.length === 0 && <div class="empty small">None yet.</div>}
      {p.incidents.map((i) => <IncidentItem key={i.id} incident={i} canEdit={canEdit} onChanged={onChanged} />)}
      {canEdit && <NewIncident page={p} onChanged={onChanged} />}
      <p class="muted small">{open.length} open</p>
    </section>
  );
}

function checkName(data: Data, id: string | null): string {
  for (const h of data.hosts) {
    if (h.id === id) return h.name;
    for (const s of h.services) if (s.id === id) return `${h.name}/${s.name}`;
  }
  return id ?? "";
}

function NewComponent({ page, data, onChanged }: { page: StatusPage; data: Data; onChanged: () => void }) {
  const [name, setName] = useState("");
  const [subject, setSubject] = useState("");
  const save = useMutation(Q.SAVE_STATUS_COMPONENT);
  const submit = async (e: Event) => {
    e.preventDefault();
    const input: Record<string, unknown> = { pageId: page.id, name };
    if (subject.startsWith("group:")) input.groupName = subject.slice(6);
    else input.checkId = subject;
    if (await save.run({ input }, `Component ${name} added`)) {
      setName(""); setSubject("");
      onChanged();
    }
  };
  return (
    <form class="form-row" onSubmit={submit} aria-label={`New component of ${page.slug}`}>
      <label>Public name <input value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="Storefront" required /></label>
      <label>Shows
        <select value={subject} onChange={(e) => setSubject(e.currentTarget.value)} required>
          <option value="">choose a check or group…</option>
          <optgroup label="Groups">{data.groups.map((g) => <option key={g.name} value={`group:${g.name}`}>{g.name}</option>)}</optgroup>
          <optgroup label="Checks">
            {data.hosts.flatMap((h) => [<option key={h.id} value={h.id}>{h.name}</option>, ...h.services.map((s) => <option key={s.id} value={s.id}>{h.name}/{s.name}</option>)])}
          </optgroup>
        </select>
      </label>
      <button class="btn" disabled={save.busy}>Add component</button>
    </form>
  );
}

function IncidentItem({ incident: i, canEdit, onChanged }: { incident: StatusIncident; canEdit: boolean; onChanged: () => void }) {
  const states = STATES[i.kind] ?? [];
  const [state, setState] = useState(i.state);
  const [body, setBody] = useState("");
  const upd = useMutation(Q.UPDATE_STATUS_INCIDENT);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await upd.run({ id: i.id, state, body }, "Update posted")) {
      setBody("");
      onChanged();
    }
  };
  return (
    <div class="incident" data-incident={i.title}>
      <div>
        <strong>{i.kind === "maintenance" ? "Maintenance: " : ""}{i.title}</strong>{" "}
        <span class={`chip ${i.resolvedAt ? "chip-ok" : i.impact === "none" ? "" : "chip-bad"}`}>{stateLabel(i.state)}</span>{" "}
        <span class="muted small">{i.impact} impact · opened {dateTime(i.createdAt)}</span>
      </div>
      <ul class="updates small">
        {i.updates.map((u) => <li key={u.id}><b>{stateLabel(u.state)}</b> – {u.body} <span class="muted">{dateTime(u.at)} {u.author}</span></li>)}
      </ul>
      {canEdit && !i.resolvedAt && (
        <form class="form-row" onSubmit={submit} aria-label={`Update ${i.title}`}>
          <select value={state} onChange={(e) => setState(e.currentTarget.value)}>{states.map((s) => <option key={s} value={s}>{stateLabel(s)}</option>)}</select>
          <input value={body} onInput={(e) => setBody(e.currentTarget.value)} placeholder="What changed?" required />
          <button class="btn" disabled={upd.busy}>Post update</button>
        </form>
      )}
    </div>
  );
}

function NewIncident({ page, onChanged }: { page: StatusPage; onChanged: () => void }) {
  const [kind, setKind] = useState("incident");
  const [title, setTitle] = useState("");
  const [impact, setImpact] = useState("minor");
  const [body, setBody] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const create = useMutation(Q.CREATE_STATUS_INCIDENT);
  const submit = async (e: Event) => {
    e.preventDefault();
    const input: Record<string, unknown> = { pageId: page.id, kind, title, impact, body };
    if (kind === "maintenance") {
      input.scheduledFrom = from ? new Date(from).toISOString() : null;
      input.scheduledTo = to ? new Date(to).toISOString() : null;
    }
    if (await create.run({ input }, kind === "maintenance" ? "Maintenance announced" : "Incident opened")) {
      setTitle(""); setBody("");
      onChanged();
    }
  };
  return (
    <form class="form-row" onSubmit={submit} aria-label={`New incident on ${page.slug}`}>
      <select value={kind} onChange={(e) => { setKind(e.currentTarget.value); setImpact(e.currentTarget.value === "maintenance" ? "none" : "minor"); }} aria-label="Kind">
        <option value="incident">Incident</option>
        <option value="maintenance">Maintenance</option>
      </select>
      <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} placeholder="Title" required aria-label="Title" />
      <select value={impact} onChange={(e) => setImpact(e.currentTarget.value)} aria-label="Impact">
        {["none", "minor", "major", "critical"].map((x) => <option key={x} value={x}>{x}</option>)}
      </select>
      {kind === "maintenance" && <>
        <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} required aria-label="From" />
        <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} required aria-label="To" />
      </>}
      <input value={body} onInput={(e) => setBody(e.currentTarget.value)} placeholder="First update" required aria-label="First update" />
      <button class="btn" disabled={create.busy}>{kind === "maintenance" ? "Announce" : "Open incident"}</button>
    </form>
  );
}
